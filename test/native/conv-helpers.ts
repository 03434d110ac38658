// What the native convolution and pooling tests share: the instruction sets to run, bit-for-bit
// comparison, test values with edge cases, geometries, and the float32 reference (every product
// and sum rounded to float32, in im2col + matmul's order: docs/performance.md, "Bit-identity").
import { im2col, windowGeometry } from "../../src/engine/im2col.js";
import { nativeKernels } from "../../src/engine/native.js";
import { NativeGeometry } from "../../src/engine/native-conv.js";
import { Rng } from "../../src/engine/rng.js";

export const native = nativeKernels();

/** The instruction sets this CPU runs (selectKernels switches the products' and these kernels' at once). */
export const ISAS = (["native-avx512", "native-avx2", "native"] as const).filter((isa) => {
  if (!native?.convForward) return false;
  try {
    native.selectKernels(native.selectKernels(isa));
    return true;
  } catch {
    return false;
  }
});

/** Every instruction set on 1 and 2 threads (2 with minWork 0: every call split). */
export const ISA_THREADS = ISAS.flatMap((i) => [1, 2].map((t) => [i, t] as const));

/** Runs `f` on instruction set `isa` with `threads` threads (minWork 0), then restores both. */
export function onKernels<T>(isa: (typeof ISAS)[number], threads: number, f: () => T): T {
  const k = native!;
  const was = k.selectKernels(isa);
  const saved = k.setThreads(threads, 0);
  try {
    return f();
  } finally {
    k.selectKernels(was);
    k.setThreads(saved.threads, saved.minWork);
  }
}

/**
 * True when both arrays hold the same bits, any NaN matching any NaN: JavaScript leaves a NaN's
 * bit pattern to the implementation (V8's Math.max returns its own NaN), so the contract is every
 * number's bits, −0 included, and NaN where the reference has NaN.
 */
export function sameBits(a: Float64Array | Float32Array, b: Float64Array | Float32Array): boolean {
  if (a.length !== b.length || a.constructor !== b.constructor) return false;
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) return false;
  return true;
}

/** Values in [−1, 1) with exact zeros, −0s and ties sprinkled in (max pooling's and relu's edge cases). */
export function values(n: number, rng: Rng): Float64Array {
  const v = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const u = rng.uniform(0, 1);
    v[i] = u < 0.05 ? 0 : u < 0.08 ? -0 : u < 0.12 ? 0.5 : rng.uniform(-1, 1);
  }
  return v;
}

/** A convolution layer's geometry and batch. */
export interface Case {
  inH: number;
  inW: number;
  channels: number;
  filters: number;
  k: [number, number];
  strides: [number, number];
  padding: "valid" | "same";
  batch: number;
  useBias: boolean;
}

/** A single-channel case (the direct kernels' geometry: native/conv-direct.inc). */
const direct = (
  inH: number,
  inW: number,
  filters: number,
  k: [number, number],
  strides: [number, number],
  padding: "valid" | "same",
  batch: number,
  useBias = true,
): Case => ({ inH, inW, channels: 1, filters, k, strides, padding, batch, useBias });

/**
 * Single-channel geometries for the kernels that read x directly (conv-direct.inc): forward with
 * 1, 2, 4 and 8 filters and rows shorter than a vector, as long, and longer (the last tile moved
 * back); ∂K with ∂Y rows of 16, 32 and 64 bytes, tiles of taps from 1 to 12, and a 6×6 kernel
 * whose 36 taps split over 2 threads (the second part starts at tap 16 and holds no ∂b).
 */
export const DIRECT_CASES: Case[] = [
  direct(9, 5, 8, [3, 3], [1, 1], "same", 2),
  direct(6, 20, 4, [2, 3], [2, 1], "valid", 2),
  direct(7, 17, 2, [3, 2], [1, 1], "same", 1),
  direct(5, 16, 1, [1, 1], [1, 1], "valid", 2),
  direct(8, 8, 16, [5, 5], [1, 2], "same", 2),
  direct(6, 11, 4, [4, 4], [1, 1], "same", 3, false),
  direct(12, 9, 8, [3, 3], [3, 3], "valid", 2),
  direct(10, 10, 2, [2, 2], [1, 1], "valid", 2),
  direct(9, 9, 8, [6, 6], [1, 1], "same", 2),
];

export const label = (c: Case) =>
  `${c.batch}×${c.inH}×${c.inW}×${c.channels} k${c.k.join("×")} s${c.strides.join("×")} ${c.padding} f${c.filters}${c.useBias ? "" : " no bias"}`;

/**
 * Random float32 operands for case `c` and what the kernels must give for them, computed with
 * `Math.fround` after every multiply and add in the reference's order: y (and y with relu), ∂K
 * and ∂b added onto non-zero starting values, ∂X through col2im's scatter.
 */
export function float32Case(c: Case, seed: number) {
  const f = Math.fround;
  const g = windowGeometry([c.inH, c.inW, c.channels], c.k, c.strides, c.padding);
  const rng = new Rng(seed);
  const rowLen = c.k[0] * c.k[1] * c.channels;
  const rows = c.batch * g.outH * g.outW;
  const F = c.filters;
  const x = Float32Array.from(values(c.batch * c.inH * c.inW * c.channels, rng));
  const kernel = Float32Array.from(values(rowLen * F, rng));
  const bias = Float32Array.from(values(F, rng));
  const dy = Float32Array.from(values(rows * F, rng));
  const dk0 = Float32Array.from(values(rowLen * F, rng));
  const db0 = Float32Array.from(values(F, rng));
  const cols = new Float64Array(rows * rowLen);
  im2col(Float64Array.from(x), g, c.batch, cols);
  const y = new Float32Array(rows * F);
  for (let r = 0; r < rows; r++)
    for (let j = 0; j < F; j++) {
      let s = 0;
      for (let p = 0; p < rowLen; p++) s = f(s + f(cols[r * rowLen + p]! * kernel[p * F + j]!));
      y[r * F + j] = c.useBias ? f(s + bias[j]!) : s;
    }
  const dk = Float32Array.from(dk0);
  for (let p = 0; p < rowLen; p++)
    for (let j = 0; j < F; j++) {
      let s = 0;
      for (let r = 0; r < rows; r++) s = f(s + f(cols[r * rowLen + p]! * dy[r * F + j]!));
      dk[p * F + j] = f(dk[p * F + j]! + s);
    }
  const db = Float32Array.from(db0);
  for (let r = 0; r < rows; r++) for (let j = 0; j < F; j++) db[j] = f(db[j]! + dy[r * F + j]!);
  const dCols = new Float64Array(rows * rowLen);
  for (let r = 0; r < rows; r++)
    for (let p = 0; p < rowLen; p++) {
      let s = 0;
      for (let j = 0; j < F; j++) s = f(s + f(dy[r * F + j]! * kernel[p * F + j]!));
      dCols[r * rowLen + p] = s;
    }
  // col2im's scatter, each addition rounded, windows in order.
  const dx = new Float32Array(x.length);
  for (let b = 0, r = 0; b < c.batch; b++)
    for (let oy = 0; oy < g.outH; oy++)
      for (let ox = 0; ox < g.outW; ox++, r++)
        for (let ky = 0, p = 0; ky < g.kH; ky++)
          for (let kx = 0; kx < g.kW; kx++)
            for (let ch = 0; ch < c.channels; ch++, p++) {
              const iy = oy * g.strideH - g.padTop + ky;
              const ix = ox * g.strideW - g.padLeft + kx;
              if (iy < 0 || iy >= g.inH || ix < 0 || ix >= g.inW) continue;
              const cell = ((b * g.inH + iy) * g.inW + ix) * c.channels + ch;
              dx[cell] = f(dx[cell]! + dCols[r * rowLen + p]!);
            }
  const geometry = new NativeGeometry(g, F).setBatch(c.batch);
  return {
    geometry,
    inputs: { x, kernel, bias: c.useBias ? bias : null, dy, dk0, db0 },
    expected: { y, yRelu: y.map((v) => Math.max(v, 0)), dk, db, dx },
  };
}
