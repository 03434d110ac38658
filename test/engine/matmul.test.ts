/**
 * The tiled matrix-product kernels against naive triple loops that sum in the documented order
 * (a fresh 0, then a·b for p = 0 … k−1, then the bias or the old c): the results must be
 * bit-identical, whatever the shapes — tile edges, 1-wide and empty dimensions included.
 */
import { describe, expect, it } from "vitest";
import { matmul, matmulTransA, matmulTransB, useWasmKernels } from "../../src/engine/matmul.js";
import { Rng } from "../../src/engine/rng.js";
import { ADD, SET, SET_BIAS, wasmGemm } from "../../src/engine/wasm/gemm.js";

function random(n: number, rng: Rng): Float64Array {
  const a = new Float64Array(n);
  for (let i = 0; i < n; i++) a[i] = rng.uniform(-2, 2);
  return a;
}

/** c[m, n] = a[m, k]·b[k, n] (+ bias). */
function naive(a: Float64Array, b: Float64Array, m: number, k: number, n: number, bias?: Float64Array) {
  const c = new Float64Array(m * n);
  for (let i = 0; i < m; i++)
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let p = 0; p < k; p++) s += a[i * k + p]! * b[p * n + j]!;
      c[i * n + j] = bias ? s + bias[j]! : s;
    }
  return c;
}

/** c[k, n] + a[m, k]ᵀ·b[m, n]. */
function naiveTransA(a: Float64Array, b: Float64Array, c0: Float64Array, m: number, k: number, n: number) {
  const c = Float64Array.from(c0);
  for (let p = 0; p < k; p++)
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let r = 0; r < m; r++) s += a[r * k + p]! * b[r * n + j]!;
      c[p * n + j]! += s;
    }
  return c;
}

/** c[m, k] = a[m, n]·b[k, n]ᵀ. */
function naiveTransB(a: Float64Array, b: Float64Array, m: number, n: number, k: number) {
  const c = new Float64Array(m * k);
  for (let i = 0; i < m; i++)
    for (let p = 0; p < k; p++) {
      let s = 0;
      for (let j = 0; j < n; j++) s += a[i * n + j]! * b[p * n + j]!;
      c[i * k + p] = s;
    }
  return c;
}

// Every residue of the tiles (3 rows, 4 columns, 2 rows for transA) and a few larger sizes.
const SIZES = [1, 2, 3, 4, 5, 6, 7, 8, 9, 13, 31, 64];
const shapes: [number, number, number][] = [];
for (const m of [1, 2, 3, 4, 5, 7, 17])
  for (const k of [1, 2, 3, 5, 9, 16]) for (const n of [1, 2, 3, 4, 5, 6, 7, 8, 9]) shapes.push([m, k, n]);
const rng0 = new Rng(42);
for (let t = 0; t < 40; t++) {
  const pick = () => SIZES[Math.floor(rng0.uniform(0, SIZES.length))]!;
  shapes.push([pick(), pick(), pick()]);
}
shapes.push([64, 784, 128], [150, 2, 3], [1, 784, 128], [676, 9, 8]);

/** Checks all three products on one shape against the naive loops. */
function checkShape(m: number, k: number, n: number): void {
  const rng = new Rng(m * 10007 + k * 101 + n);
  const a = random(m * k, rng);
  const b = random(k * n, rng);
  const bias = random(n, rng);
  const c = new Float64Array(m * n).fill(Number.NaN);
  matmul(a, b, c, m, k, n);
  expect(c).toEqual(naive(a, b, m, k, n));
  matmul(a, b, c, m, k, n, bias);
  expect(c).toEqual(naive(a, b, m, k, n, bias));

  // ∂W += Xᵀ·∂Y with X = a [m, k] and ∂Y [m, n]; it accumulates onto what is there.
  const dy = random(m * n, rng);
  const g0 = random(k * n, rng);
  const g = Float64Array.from(g0);
  matmulTransA(a, dy, g, m, k, n);
  expect(g).toEqual(naiveTransA(a, dy, g0, m, k, n));

  // ∂X = ∂Y·Wᵀ with ∂Y [m, n] and W = b [k, n].
  const w = random(k * n, rng);
  const dx = new Float64Array(m * k).fill(Number.NaN);
  matmulTransB(dy, w, dx, m, n, k);
  expect(dx).toEqual(naiveTransB(dy, w, m, n, k));
}

// Large enough for the WebAssembly kernel (see `wasmFor`), with ragged edges.
const large: [number, number, number][] = [
  [64, 784, 128],
  [61, 67, 29],
  [65, 130, 33],
  [33, 9, 31],
];

describe("matrix-product kernels equal naive loops bit for bit", () => {
  for (const wasm of [true, false])
    it(`${shapes.length + large.length} shapes, WebAssembly kernel ${wasm ? "on" : "off"}`, () => {
      const was = useWasmKernels(wasm);
      try {
        for (const [m, k, n] of [...shapes, ...large]) checkShape(m, k, n);
      } finally {
        useWasmKernels(was);
      }
    });

  it("writes only its own rows and columns (a sub-view of a larger buffer)", () => {
    const rng = new Rng(3);
    const a = random(5 * 3, rng);
    const b = random(3 * 6, rng);
    const store = new Float64Array(5 * 6 + 4).fill(7);
    const c = store.subarray(2, 2 + 5 * 6);
    matmul(a, b, c, 5, 3, 6);
    expect(Array.from(store.subarray(0, 2))).toEqual([7, 7]);
    expect(Array.from(store.subarray(32))).toEqual([7, 7]);
    expect(c).toEqual(naive(a, b, 5, 3, 6));
  });

  it("reduces over k = 0 to zeros (and to the bias)", () => {
    const c = new Float64Array(6).fill(Number.NaN);
    matmul(new Float64Array(0), new Float64Array(0), c, 2, 0, 3, Float64Array.from([1, 2, 3]));
    expect(Array.from(c)).toEqual([1, 2, 3, 1, 2, 3]);
    const g = new Float64Array(6).fill(1);
    matmulTransA(new Float64Array(0), new Float64Array(0), g, 0, 2, 3);
    expect(Array.from(g)).toEqual([1, 1, 1, 1, 1, 1]);
  });

  it("propagates NaN and ±Infinity as the naive loop does", () => {
    const a = Float64Array.from([1, Number.NaN, 2, Number.POSITIVE_INFINITY, 0, -1]);
    const b = Float64Array.from([1, 2, 3, 4, 5, 6]);
    const c = new Float64Array(4);
    matmul(a, b, c, 2, 3, 2);
    expect(c).toEqual(naive(a, b, 2, 3, 2));
  });
});

describe("the WebAssembly kernel on its own, every shape", () => {
  const gemm = wasmGemm();

  it("compiles here (Node has WebAssembly SIMD)", () => {
    expect(gemm).not.toBeNull();
  });

  it("computes a·b, a·b + bias, c + aᵀ·b and a·bᵀ as the naive loops, edges included", () => {
    for (const [m, k, n] of shapes) {
      const rng = new Rng(m * 31 + k * 7 + n);
      const a = random(m * k, rng);
      const b = random(k * n, rng);
      const bias = random(n, rng);
      const c = new Float64Array(m * n);
      gemm!.product(a, m * k, k, 1, b, k * n, n, 1, c, m, k, n, SET);
      expect(c).toEqual(naive(a, b, m, k, n));
      gemm!.product(a, m * k, k, 1, b, k * n, n, 1, c, m, k, n, SET_BIAS, bias);
      expect(c).toEqual(naive(a, b, m, k, n, bias));
      // a read as [m, k] is aᵀ [k, m] with strides (1, k): c[k, n] += aᵀ·dy
      const dy = random(m * n, rng);
      const g0 = random(k * n, rng);
      const g = Float64Array.from(g0);
      gemm!.product(a, m * k, 1, k, dy, m * n, n, 1, g, k, m, n, ADD);
      expect(g).toEqual(naiveTransA(a, dy, g0, m, k, n));
      const w = random(k * n, rng);
      const dx = new Float64Array(m * k);
      gemm!.product(dy, m * n, n, 1, w, k * n, 1, n, dx, m, n, k, SET);
      expect(dx).toEqual(naiveTransB(dy, w, m, n, k));
    }
  });
});
