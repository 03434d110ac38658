/**
 * The native matrix products (native/gemm.cc) against the TypeScript kernels (float64) and a
 * triple loop rounding every product and sum to float32 (float32), in the documented order: a
 * fresh 0, then a·b for p = 0 … k−1, then the bias or the old c. Bit for bit, on ragged shapes
 * (every residue of the register tiles and of the KC blocks), on 1 and 2 threads.
 */
import { Worker } from "node:worker_threads";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  matmul,
  matmulKernels,
  matmulTransA,
  matmulTransB,
  useWasmKernels,
} from "../../src/engine/matmul.js";
import { type NativeKernels, nativeKernels, useNativeKernels } from "../../src/engine/native.js";
import { Rng } from "../../src/engine/rng.js";
import { loadNativeKernels, nativeAddonPath } from "../../src/native/kernels.js";
import { naive32, naive32TransA, naive32TransB } from "../engine/float32-reference.js";

const native = loadNativeKernels();
const run = describe.skipIf(!native);
const nk = native as NativeKernels;

function random(n: number, rng: Rng): Float64Array {
  const a = new Float64Array(n);
  for (let i = 0; i < n; i++) a[i] = rng.uniform(-2, 2);
  return a;
}

/** The TypeScript path: native and WebAssembly off for the call. */
function viaTypeScript(f: () => void): void {
  const was = useNativeKernels(null);
  const wasm = useWasmKernels(false);
  try {
    f();
  } finally {
    useNativeKernels(was);
    useWasmKernels(wasm);
  }
}

/** Each value as a comparable string: the same for two values iff they are the same double (any NaN = NaN). */
function bits(x: ArrayLike<number>): string[] {
  return Array.from(x, (v) => (Number.isNaN(v) ? "NaN" : Object.is(v, -0) ? "-0" : String(v)));
}

// Ragged sizes around the tiles (AVX-512: 8 rows × 24 float64 / 48 float32 columns; AVX2 6 × 8;
// portable 4 × 4) and the reduction blocks (KC = 128 on AVX-512), the MLP's and the CNN's shapes.
const rng0 = new Rng(7);
const SIZES = [1, 2, 3, 5, 7, 8, 9, 13, 17, 23, 24, 25, 31, 47, 49, 63, 70];
const shapes: [number, number, number][] = [
  [1, 1, 1],
  [70, 70, 70],
  [9, 129, 25],
  [17, 300, 49],
  [64, 784, 128],
  [64, 128, 10],
  [32 * 13, 9, 8],
  [5, 0, 7],
  // Split by rows (m > n: another row block repacks only B) and past the 192-row block cap.
  [784, 64, 128],
  [193, 50, 400],
  [400, 20, 7],
];
for (let t = 0; t < 40; t++) {
  const pick = () => SIZES[Math.floor(rng0.uniform(0, SIZES.length))]!;
  shapes.push([pick(), pick(), pick()]);
}

run("native matrix products", () => {
  let saved: { threads: number; minWork: number };
  beforeAll(() => {
    saved = nk.setThreads(1);
  });
  afterAll(() => {
    nk.setThreads(saved.threads, saved.minWork);
  });

  it("name the kernel the CPU got, and the engine runs it on this thread", () => {
    expect(["native-avx512", "native-avx2", "native"]).toContain(nk.kernels);
    expect(nativeKernels()).toBe(nk);
    expect(matmulKernels()).toBe(nk.kernels);
    viaTypeScript(() => expect(matmulKernels()).toBe("typescript"));
  });

  // Every instruction set this CPU runs (the portable C++ path everywhere), on 1 and 2 threads.
  const all = ["native-avx512", "native-avx2", "native"] as const;
  const runnable = native ? all.slice(all.indexOf(native.kernels)) : [];
  for (const isa of runnable)
    for (const threads of [1, 2]) {
      describe(`${isa} on ${threads} thread(s)`, () => {
        beforeAll(() => {
          nk.selectKernels(isa);
          // minWork 0: every product is split, however small, so the block edges are exercised.
          nk.setThreads(threads, 0);
        });
        afterAll(() => {
          nk.selectKernels(nk.kernels);
        });

        it("float64: equal the TypeScript kernels bit for bit, all three products, bias and accumulate", () => {
          const rng = new Rng(threads);
          for (const [m, k, n] of shapes) {
            const a = random(m * k, rng);
            const b = random(k * n, rng);
            const bias = random(n, rng);
            const want = new Float64Array(m * n);
            const got = new Float64Array(m * n).fill(Number.NaN);
            viaTypeScript(() => matmul(a, b, want, m, k, n, bias));
            nk.matmul(a, b, got, m, k, n, bias);
            expect(bits(got), `matmul ${m}×${k}×${n} + bias`).toEqual(bits(want));
            viaTypeScript(() => matmul(a, b, want, m, k, n));
            nk.matmul(a, b, got, m, k, n);
            expect(bits(got), `matmul ${m}×${k}×${n}`).toEqual(bits(want));

            // transB: c[m, n] = a[m, k]·bt[n, k]ᵀ
            const bt = random(n * k, rng);
            viaTypeScript(() => matmulTransB(a, bt, want, m, k, n));
            nk.matmulTransB(a, bt, got, m, k, n);
            expect(bits(got), `matmulTransB ${m}×${k}×${n}`).toEqual(bits(want));

            // transA: c[k, n] += a[m, k]ᵀ·d[m, n]
            const d = random(m * n, rng);
            const c0 = random(k * n, rng);
            const wantA = Float64Array.from(c0);
            const gotA = Float64Array.from(c0);
            viaTypeScript(() => matmulTransA(a, d, wantA, m, k, n));
            nk.matmulTransA(a, d, gotA, m, k, n);
            expect(bits(gotA), `matmulTransA ${m}×${k}×${n}`).toEqual(bits(wantA));
          }
        });

        it("float32: equal a loop rounding every product and sum to float32, in the same order", () => {
          const rng = new Rng(10 + threads);
          for (const [m, k, n] of shapes) {
            const a = Float32Array.from(random(m * k, rng));
            const b = Float32Array.from(random(k * n, rng));
            const bias = Float32Array.from(random(n, rng));
            const got = new Float32Array(m * n);
            nk.matmul(a, b, got, m, k, n, bias);
            expect(bits(got), `matmul ${m}×${k}×${n} + bias`).toEqual(bits(naive32(a, b, m, k, n, bias)));
            const bt = Float32Array.from(random(n * k, rng));
            nk.matmulTransB(a, bt, got, m, k, n);
            expect(bits(got), `matmulTransB ${m}×${k}×${n}`).toEqual(bits(naive32TransB(a, bt, m, k, n)));
            const d = Float32Array.from(random(m * n, rng));
            const c0 = Float32Array.from(random(k * n, rng));
            const gotA = Float32Array.from(c0);
            nk.matmulTransA(a, d, gotA, m, k, n);
            expect(bits(gotA), `matmulTransA ${m}×${k}×${n}`).toEqual(bits(naive32TransA(a, d, c0, m, k, n)));
          }
          // float32 really is single precision: 1 + 2⁻³⁰ rounds to 1, where float64 keeps it.
          const c = new Float32Array(1);
          nk.matmul(new Float32Array([1, 2 ** -15]), new Float32Array([1, 2 ** -15]), c, 1, 2, 1);
          expect(c[0]).toBe(1);
        });
      });
    }

  it("give the same bits on 1 and 2 threads for a product large enough to split by default", () => {
    const rng = new Rng(3);
    const [m, k, n] = [301, 517, 203];
    const a = random(m * k, rng);
    const b = random(k * n, rng);
    const one = new Float64Array(m * n);
    const two = new Float64Array(m * n);
    nk.setThreads(1);
    nk.matmul(a, b, one, m, k, n);
    nk.setThreads(2, saved.minWork);
    nk.matmul(a, b, two, m, k, n);
    expect(Buffer.from(two.buffer).equals(Buffer.from(one.buffer))).toBe(true);
    const want = new Float64Array(m * n);
    viaTypeScript(() => matmul(a, b, want, m, k, n));
    expect(Buffer.from(two.buffer).equals(Buffer.from(want.buffer))).toBe(true);
    nk.setThreads(1);
  });

  it("count in poolStats every product they split or run alone, and none on one thread", () => {
    const [m, k, n] = [64, 784, 128];
    const a = new Float64Array(m * k).map((_, i) => Math.sin(i));
    const b = new Float64Array(k * n).map((_, i) => Math.cos(i));
    const c = new Float64Array(m * n);
    const stats = () => nk.poolStats!();
    nk.setThreads(1);
    const s0 = stats();
    for (let r = 0; r < 20; r++) nk.matmul(a, b, c, m, k, n);
    const s1 = stats();
    expect(s1).toEqual(s0);
    // Split whatever the size: each product is either split or, after late helpers, run alone
    // (no other thread of this process uses the pool now).
    nk.setThreads(2, 0);
    for (let r = 0; r < 20; r++) nk.matmul(a, b, c, m, k, n);
    const s2 = stats();
    nk.setThreads(1);
    expect(s2.split - s1.split + (s2.alone - s1.alone)).toBe(20);
    expect(s2.late - s1.late).toBeLessThanOrEqual(s2.split - s1.split);
    const want = new Float64Array(m * n);
    viaTypeScript(() => matmul(a, b, want, m, k, n));
    expect(bits(c)).toEqual(bits(want));
  });

  it("give the same bits when several threads share the helper pool at once (a busy pool: run alone)", async () => {
    // Each JS thread runs the same products on 2 threads with every product split; whichever gets
    // the pool, the others run alone: all must agree with this thread's single-threaded answer.
    const [m, k, n, reps] = [67, 151, 45, 40];
    const source = `
      const { parentPort, workerData } = require("node:worker_threads");
      const nk = require(workerData.path);
      const { m, k, n, reps } = workerData;
      const a = new Float64Array(m * k).map((_, i) => Math.sin(i));
      const b = new Float64Array(k * n).map((_, i) => Math.cos(i));
      const c = new Float64Array(m * n);
      const out = new Float64Array(m * n);
      for (let r = 0; r < reps; r++) {
        nk.matmul(a, b, c, m, k, n);
        if (r === 0) out.set(c);
        else if (c.some((v, i) => v !== out[i])) throw new Error("differs between calls");
      }
      parentPort.postMessage(out);
    `;
    nk.setThreads(2, 0);
    const workers = [0, 1, 2].map(
      () => new Worker(source, { eval: true, workerData: { path: nativeAddonPath(), m, k, n, reps } }),
    );
    const answers = workers.map(
      (w) =>
        new Promise<Float64Array>((resolve, reject) => {
          w.once("message", resolve);
          w.once("error", reject);
        }),
    );
    const a = new Float64Array(m * k).map((_, i) => Math.sin(i));
    const b = new Float64Array(k * n).map((_, i) => Math.cos(i));
    const mine = new Float64Array(m * n);
    for (let r = 0; r < reps; r++) nk.matmul(a, b, mine, m, k, n);
    const got = await Promise.all(answers);
    await Promise.all(workers.map((w) => w.terminate()));
    nk.setThreads(1);
    const want = new Float64Array(m * n);
    viaTypeScript(() => matmul(a, b, want, m, k, n));
    expect(bits(mine)).toEqual(bits(want));
    for (const g of got) expect(bits(g)).toEqual(bits(want));
  });

  it("propagate NaN and ±Infinity as the TypeScript path does, and keep the sign of zero sums", () => {
    const rng = new Rng(4);
    const [m, k, n] = [11, 37, 29];
    const a = random(m * k, rng);
    const b = random(k * n, rng);
    a[5] = Number.NaN;
    a[3 * k + 2] = Number.POSITIVE_INFINITY;
    b[4 * n + 7] = Number.NEGATIVE_INFINITY;
    b[9] = 0;
    a.fill(-0, 6 * k, 7 * k); // a row of −0: its sums are 0 + (−0·b) … = +0
    const want = new Float64Array(m * n);
    const got = new Float64Array(m * n);
    viaTypeScript(() => matmul(a, b, want, m, k, n));
    nk.matmul(a, b, got, m, k, n);
    expect(bits(got)).toEqual(bits(want));
    expect(bits(got)).toContain("NaN");
    expect(bits(got)).toContain("Infinity");
    expect(bits(got)).toContain("-Infinity");
    expect(Object.is(got[6 * n], 0)).toBe(true);
    const c0 = new Float64Array(k * n).fill(-0);
    const wantA = Float64Array.from(c0);
    const gotA = Float64Array.from(c0);
    viaTypeScript(() => matmulTransA(a, want, wantA, m, k, n));
    nk.matmulTransA(a, want, gotA, m, k, n);
    expect(bits(gotA)).toEqual(bits(wantA));
  });

  it("throw a TypeError or RangeError on bad arguments, never crash", () => {
    const a = new Float64Array(6);
    const b = new Float64Array(6);
    const c = new Float64Array(4);
    const call =
      (...args: unknown[]) =>
      () =>
        (nk.matmul as (...x: unknown[]) => void)(...args);
    expect(call(a, b, c, 2, 3)).toThrow(TypeError);
    expect(call([1, 2, 3, 4, 5, 6], b, c, 2, 3, 2)).toThrow(TypeError);
    expect(call(new Int32Array(6), b, c, 2, 3, 2)).toThrow(TypeError);
    expect(call(new Float32Array(6), b, c, 2, 3, 2)).toThrow(
      /must all be Float64Arrays or all Float32Arrays/,
    );
    expect(call(a, b, new Float32Array(4), 2, 3, 2)).toThrow(TypeError);
    expect(call(a, b, c, "2", 3, 2)).toThrow(TypeError);
    expect(call(a, b, c, -1, 3, 2)).toThrow(RangeError);
    expect(call(a, b, c, 2.5, 3, 2)).toThrow(RangeError);
    expect(call(a, b, c, Number.NaN, 3, 2)).toThrow(RangeError);
    expect(call(a, b, c, 3, 3, 2)).toThrow(/a has 6 elements, the shape needs 9/);
    expect(call(a, b, c, 2, 3, 3)).toThrow(RangeError);
    expect(call(a, b, new Float64Array(3), 2, 3, 2)).toThrow(/c has 3 elements/);
    expect(call(a, b, c, 2, 3, 2, new Float64Array(1))).toThrow(/bias has 1 elements/);
    expect(call(a, b, c, 2, 3, 2, "bias")).toThrow(TypeError);
    // transA reads b as [m, n] and writes c as [k, n].
    expect(() => nk.matmulTransA(a, b, new Float64Array(5), 2, 3, 2)).toThrow(
      /c has 5 elements, the shape needs 6/,
    );
    expect(() => nk.matmulTransB(a, b, c, 2, 3, 2)).not.toThrow();
    expect(() => nk.setThreads(0)).toThrow(RangeError);
    expect(() => nk.setThreads(2, -1)).toThrow(TypeError);
    expect(() => nk.selectKernels("native-sse" as "native")).toThrow(RangeError);
    // Longer arrays than the shape needs are fine: the product reads their start.
    const long = new Float64Array(10).fill(1);
    nk.matmul(long, long, c, 2, 3, 2);
    expect(Array.from(c)).toEqual([3, 3, 3, 3]);
  });
});
