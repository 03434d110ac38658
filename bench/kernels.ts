/** GFLOP/s of our matrix-product kernels (float64, one thread) on the shapes the workloads use. */
import { matmul, matmulTransA, matmulTransB, useWasmKernels } from "../src/engine/matmul.js";
import { Rng } from "../src/engine/rng.js";
import { median } from "./timing.js";

export interface KernelResult {
  kernel: string;
  shape: string;
  /** What the engine runs for this shape (the WebAssembly kernel where it pays, see `wasmFor`). */
  gflops: number;
  /** The pure-TypeScript kernel alone (WebAssembly off); null for the naive loop. */
  gflopsTs: number | null;
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
  for (const c of KERNEL_CASES) {
    const { m, k, n } = c;
    let run: () => void;
    if (c.kernel === "matmulTransA") {
      // c[k, n] += a[m, k]ᵀ · b[m, n]
      const a = random(m * k, rng);
      const b = random(m * n, rng);
      const y = new Float64Array(k * n);
      run = () => matmulTransA(a, b, y, m, k, n);
    } else if (c.kernel === "matmulTransB") {
      // c[m, k] = a[m, n] · b[k, n]ᵀ, n the reduced axis
      const a = random(m * n, rng);
      const b = random(k * n, rng);
      const y = new Float64Array(m * k);
      run = () => matmulTransB(a, b, y, m, n, k);
    } else {
      const a = random(m * k, rng);
      const b = random(k * n, rng);
      const y = new Float64Array(m * n);
      const f = c.kernel === "naive i-k-j" ? naive : matmul;
      run = () => f(a, b, y, m, k, n);
    }
    const engine = gflops(run, 2 * m * k * n, ms, rounds);
    let ts: number | null = null;
    if (c.kernel !== "naive i-k-j") {
      useWasmKernels(false);
      ts = gflops(run, 2 * m * k * n, ms, rounds);
      useWasmKernels(true);
    }
    out.push({ kernel: c.kernel, shape: `${m}×${k}×${n}${c.note}`, gflops: engine, gflopsTs: ts });
  }
  return out;
}
