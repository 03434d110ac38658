/**
 * GFLOP/s of our matrix-product kernels on the shapes the workloads use, one row per shape: the
 * native kernels (docs/kernels.md; what the engine runs where they are built), float64 and float32
 * on 1 and 2 threads; then float64 without them (WebAssembly where it pays) and TypeScript alone.
 */
import { matmul, matmulTransA, matmulTransB, useWasmKernels } from "../src/engine/matmul.js";
import { type NativeKernels, useNativeKernels } from "../src/engine/native.js";
import { Rng } from "../src/engine/rng.js";
import type { Floats } from "../src/engine/tensor.js";
import { loadNativeKernels } from "../src/native/kernels.js";
import { median } from "./timing.js";

export interface KernelResult {
  kernel: string;
  shape: string;
  /** The kernels the engine runs for this shape with the native ones off: WebAssembly where it pays (`wasmFor`), else TypeScript; float64. */
  gflopsWasm: number;
  /** The pure-TypeScript kernel alone (WebAssembly and native off), float64; null for the naive loop. */
  gflopsTs: number | null;
  /** The native kernels (what the engine runs where they are built): `native.kernels`, and GFLOP/s per dtype and thread count. */
  native?: { kernels: string; float64: { 1: number; 2: number }; float32: { 1: number; 2: number } };
}

function random(n: number, rng: Rng): Float64Array {
  const a = new Float64Array(n);
  for (let i = 0; i < n; i++) a[i] = rng.uniform(-1, 1);
  return a;
}

/** The textbook i-k-j triple loop, the baseline the issue quotes. */
function naive(a: Float64Array, b: Float64Array, c: Float64Array, m: number, k: number, n: number): void {
  for (let i = 0; i < m; i++) {
    const ci = i * n;
    c.fill(0, ci, ci + n);
    for (let p = 0; p < k; p++) {
      const x = a[i * k + p]!;
      const bp = p * n;
      for (let j = 0; j < n; j++) c[ci + j]! += x * b[bp + j]!;
    }
  }
}

function gflops(run: () => void, flops: number, ms: number, rounds: number): number {
  const t0 = performance.now();
  while (performance.now() - t0 < ms) run();
  const rates: number[] = [];
  for (let r = 0; r < rounds; r++) {
    let reps = 0;
    const s = performance.now();
    let t = s;
    do {
      run();
      reps++;
      t = performance.now();
    } while (t - s < ms);
    rates.push((flops * reps) / ((t - s) / 1000) / 1e9);
  }
  return median(rates);
}

/**
 * The products timed (which axis is which: the comments in `kernelBench`); bench/openblas.ts times
 * OpenBLAS on the same shapes.
 */
export const KERNEL_CASES: { kernel: string; m: number; k: number; n: number; note: string }[] = [
  { kernel: "naive i-k-j", m: 256, k: 256, n: 256, note: "" },
  { kernel: "matmul", m: 256, k: 256, n: 256, note: "" },
  { kernel: "matmul", m: 64, k: 784, n: 128, note: " (MLP forward)" },
  { kernel: "matmulTransA", m: 64, k: 784, n: 128, note: " (MLP ∂W = Xᵀ·∂Y)" },
  { kernel: "matmulTransB", m: 64, k: 784, n: 128, note: " (∂X = ∂Y·Wᵀ)" },
  { kernel: "matmul", m: 32 * 26 * 26, k: 9, n: 8, note: " (CNN im2col forward)" },
  { kernel: "matmulTransA", m: 32 * 26 * 26, k: 9, n: 8, note: " (CNN ∂K)" },
];

export function kernelBench(ms: number, rounds: number): KernelResult[] {
  const rng = new Rng(5);
  const out: KernelResult[] = [];
  const native = loadNativeKernels();
  for (const c of KERNEL_CASES) {
    const { m, k, n } = c;
    const shape = `${m}×${k}×${n}${c.note}`;
    const run = runner(c.kernel, m, k, n, rng, Float64Array);
    const was = useNativeKernels(null);
    const wasm = gflops(run, 2 * m * k * n, ms, rounds);
    let ts: number | null = null;
    if (c.kernel !== "naive i-k-j") {
      useWasmKernels(false);
      ts = gflops(run, 2 * m * k * n, ms, rounds);
      useWasmKernels(true);
    }
    useNativeKernels(was);
    const row: KernelResult = { kernel: c.kernel, shape, gflopsWasm: wasm, gflopsTs: ts };
    if (native && c.kernel !== "naive i-k-j")
      row.native = nativeRates(native, c.kernel, m, k, n, rng, ms, rounds);
    out.push(row);
  }
  return out;
}

/** The native kernels on this shape: float64 and float32, on 1 and 2 threads. */
function nativeRates(
  native: NativeKernels,
  kernel: string,
  m: number,
  k: number,
  n: number,
  rng: Rng,
  ms: number,
  rounds: number,
): NonNullable<KernelResult["native"]> {
  const rates = { kernels: native.kernels, float64: { 1: 0, 2: 0 }, float32: { 1: 0, 2: 0 } };
  const was = useNativeKernels(native);
  const settings = native.setThreads(1);
  try {
    for (const type of [Float64Array, Float32Array]) {
      const run = runner(kernel, m, k, n, rng, type);
      for (const threads of [1, 2] as const) {
        // Split on 2 threads whatever the size (minWork 0): the column shows what a second core
        // gives on this shape with warm operands; the engine's default threshold keeps products
        // under 2²³ on one thread (docs/kernels.md, "The threshold").
        native.setThreads(threads, threads === 1 ? settings.minWork : 0);
        rates[type === Float64Array ? "float64" : "float32"][threads] = gflops(
          run,
          2 * m * k * n,
          ms,
          rounds,
        );
      }
    }
  } finally {
    native.setThreads(settings.threads, settings.minWork);
    useNativeKernels(was);
  }
  return rates;
}

/** One call of `kernel` on random operands of this shape and type. */
function runner(
  kernel: string,
  m: number,
  k: number,
  n: number,
  rng: Rng,
  type: typeof Float64Array | typeof Float32Array,
): () => void {
  const arr = (len: number): Floats => {
    const x = random(len, rng);
    return type === Float64Array ? x : Float32Array.from(x);
  };
  // The engine's functions take Float64Array; a Float32Array reaches the native kernels, which take both.
  const f64 = (x: Floats) => x as Float64Array;
  if (kernel === "matmulTransA") {
    // c[k, n] += a[m, k]ᵀ · b[m, n]
    const a = f64(arr(m * k));
    const b = f64(arr(m * n));
    const y = f64(arr(k * n).fill(0));
    return () => matmulTransA(a, b, y, m, k, n);
  }
  if (kernel === "matmulTransB") {
    // c[m, k] = a[m, n] · b[k, n]ᵀ, n the reduced axis
    const a = f64(arr(m * n));
    const b = f64(arr(k * n));
    const y = f64(arr(m * k));
    return () => matmulTransB(a, b, y, m, n, k);
  }
  const a = f64(arr(m * k));
  const b = f64(arr(k * n));
  const y = f64(arr(m * n));
  const f = kernel === "naive i-k-j" ? naive : matmul;
  return () => f(a, b, y, m, k, n);
}
