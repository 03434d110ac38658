/**
 * Row-major matrix products, the three the affine layer needs (docs/backprop.md §4.2).
 * Sizes are not checked here: callers own their buffers and shapes. All three operands have the
 * run's dtype. Each call picks one kernel: the native ones (native/gemm.cc, docs/kernels.md) where
 * registered and the product pays for the call, else the WebAssembly SIMD ones (float64 or
 * float32) where they pay, else TypeScript — `Float32Array` operands the single-precision kernels
 * of ./matmul-f32.ts (docs/precision.md §2), `Float64Array` ones the kernels below.
 *
 * Speed (see bench/): the work is done in register tiles — 3 rows × 4 columns of the result held
 * in 12 local variables while the reduction runs — so every value loaded from memory feeds 3 or 4
 * multiply-adds instead of 1, and the 4 columns of B a tile reads are first copied ("packed")
 * into one contiguous panel, so the inner loop walks one array with stride 4 instead of one
 * cache line per step. This is the classic GEMM micro-kernel design (Goto & van de Geijn 2008,
 * "Anatomy of High-Performance Matrix Multiplication"), scaled down to what V8 compiles well:
 * scalar float64, about 15 usable registers, no SIMD — about 4.5 GFLOP/s on an idle core, 5× the
 * plain triple loop. Blocking the reduction for cache was measured not to pay here: the kernel is
 * bound by instruction count, not memory. Large products go to the WebAssembly SIMD version of
 * the same design (./wasm/gemm.ts, about 15–20 GFLOP/s) when `wasmFor` says it pays.
 *
 * Determinism: every element is summed in the same order on every path — a fresh accumulator
 * starting at 0, adding `a·b` for p = 0, 1, …, k−1 in turn, then the bias (or the old value of c
 * for the accumulating product) added last — so the tiled kernels, their edge cases and a naive
 * triple loop written in that order give bit-identical results, whatever the shapes.
 */

import { matmul32, matmulTransA32, matmulTransB32 } from "./matmul-f32.js";
import { type NativeKernels, type NativeMatmulKernels, nativeKernels } from "./native.js";
import type { Floats } from "./tensor.js";
import { ADD, SET, SET_BIAS, type WasmGemm, wasmGemm, wasmGemm32 } from "./wasm/gemm.js";

let wasmEnabled = true;

/**
 * Turns the WebAssembly SIMD kernel (./wasm/gemm.ts) on or off for this thread; it is on by
 * default wherever it compiles. Results are bit-identical either way, only the speed changes:
 * tests and the bench use this to check and to measure both.
 * @returns the previous setting.
 */
export function useWasmKernels(on: boolean): boolean {
  const was = wasmEnabled;
  wasmEnabled = on;
  return was;
}

/**
 * The WebAssembly kernel when it pays for this shape: it copies and packs about `mk + kn + mn`
 * values to run the `mkn` multiply-adds about 4× faster, which wins (measured) once
 * `1/m + 1/k + 1/n ≤ 0.2` and `mkn ≥ 4096`: batch-1 products, the seed network and iris stay
 * in TypeScript, and so does a 3×3 single-channel convolution (k = 9), where copies dominate.
 * A Float32Array goes to the float32 kernel (./wasm/gemm32.as.ts, single precision throughout).
 */
function wasmFor(a: Floats, m: number, k: number, n: number): WasmGemm | null {
  if (!wasmEnabled || m * k * n < 4096 || 5 * (m * k + k * n + m * n) > m * k * n) return null;
  return a instanceof Float32Array ? wasmGemm32() : wasmGemm();
}

/**
 * The native kernels (native/gemm.cc, registered through ./native.ts) when this thread has them
 * and the product pays for the call: they read the arrays in place, so only the N-API call
 * (about 1 µs) has to be won back, which happens (measured, docs/kernels.md) once `m·k·n ≥ 768`.
 * They take Float64Array and Float32Array alike.
 */
function nativeFor(m: number, k: number, n: number): NativeKernels | null {
  return m * k * n >= 768 ? nativeKernels() : null;
}

/** The matrix-product kernels a large product runs on this thread (native, else WebAssembly, else TypeScript). */
export function matmulKernels(): NativeMatmulKernels | "wasm" | "typescript" {
  const native = nativeKernels();
  if (native) return native.kernels;
  return wasmEnabled && wasmGemm() ? "wasm" : "typescript";
}

/** Reused packing panel: contents never outlive a call, so results do not depend on it. */
let panel = new Float64Array(0);

function panelOf(size: number): Float64Array {
  if (panel.length < size) panel = new Float64Array(Math.max(size, 2 * panel.length));
  return panel;
}

/**
 * The micro-kernel: for rows i of `a` (`[m, kr]`, row-major) and a panel `pk` `[kr, 4]` holding
 * columns `j … j+cols−1` of the right-hand matrix (zeros beyond `cols`), sets
 * `c[i·ldc + j + q] = Σ_p a[i·kr + p]·pk[4p + q] (+ bias[j + q])` for q < cols.
 */
function panelProduct(
  a: Float64Array,
  m: number,
  kr: number,
  pk: Float64Array,
  c: Float64Array,
  ldc: number,
  j: number,
  cols: number,
  bias: Float64Array | undefined,
): void {
  const bias0 = bias ? bias[j]! : 0;
  const bias1 = bias && cols > 1 ? bias[j + 1]! : 0;
  const bias2 = bias && cols > 2 ? bias[j + 2]! : 0;
  const bias3 = bias && cols > 3 ? bias[j + 3]! : 0;
  const full = cols === 4 && bias !== undefined;
  let i = 0;
  for (; i + 3 <= m; i += 3) {
    let c00 = 0;
    let c01 = 0;
    let c02 = 0;
    let c03 = 0;
    let c10 = 0;
    let c11 = 0;
    let c12 = 0;
    let c13 = 0;
    let c20 = 0;
    let c21 = 0;
    let c22 = 0;
    let c23 = 0;
    const a0 = i * kr;
    const a1 = a0 + kr;
    const a2 = a1 + kr;
    for (let p = 0, q = 0; p < kr; p++, q += 4) {
      const b0 = pk[q]!;
      const b1 = pk[q + 1]!;
      const b2 = pk[q + 2]!;
      const b3 = pk[q + 3]!;
      let x = a[a0 + p]!;
      c00 += x * b0;
      c01 += x * b1;
      c02 += x * b2;
      c03 += x * b3;
      x = a[a1 + p]!;
      c10 += x * b0;
      c11 += x * b1;
      c12 += x * b2;
      c13 += x * b3;
      x = a[a2 + p]!;
      c20 += x * b0;
      c21 += x * b1;
      c22 += x * b2;
      c23 += x * b3;
    }
    const o = i * ldc + j;
    if (full) {
      c[o] = c00 + bias0;
      c[o + 1] = c01 + bias1;
      c[o + 2] = c02 + bias2;
      c[o + 3] = c03 + bias3;
      c[o + ldc] = c10 + bias0;
      c[o + ldc + 1] = c11 + bias1;
      c[o + ldc + 2] = c12 + bias2;
      c[o + ldc + 3] = c13 + bias3;
      c[o + 2 * ldc] = c20 + bias0;
      c[o + 2 * ldc + 1] = c21 + bias1;
      c[o + 2 * ldc + 2] = c22 + bias2;
      c[o + 2 * ldc + 3] = c23 + bias3;
    } else {
      storeRow(c, o, cols, bias, c00, c01, c02, c03, bias0, bias1, bias2, bias3);
      storeRow(c, o + ldc, cols, bias, c10, c11, c12, c13, bias0, bias1, bias2, bias3);
      storeRow(c, o + 2 * ldc, cols, bias, c20, c21, c22, c23, bias0, bias1, bias2, bias3);
    }
  }
  for (; i < m; i++) {
    let c00 = 0;
    let c01 = 0;
    let c02 = 0;
    let c03 = 0;
    const a0 = i * kr;
    for (let p = 0, q = 0; p < kr; p++, q += 4) {
      const x = a[a0 + p]!;
      c00 += x * pk[q]!;
      c01 += x * pk[q + 1]!;
      c02 += x * pk[q + 2]!;
      c03 += x * pk[q + 3]!;
    }
    storeRow(c, i * ldc + j, cols, bias, c00, c01, c02, c03, bias0, bias1, bias2, bias3);
  }
}

/** Stores the first `cols` of a tile row, adding the bias when there is one. */
function storeRow(
  c: Float64Array,
  o: number,
  cols: number,
  bias: Float64Array | undefined,
  v0: number,
  v1: number,
  v2: number,
  v3: number,
  b0: number,
  b1: number,
  b2: number,
  b3: number,
): void {
  if (bias) {
    c[o] = v0 + b0;
    if (cols > 1) c[o + 1] = v1 + b1;
    if (cols > 2) c[o + 2] = v2 + b2;
    if (cols > 3) c[o + 3] = v3 + b3;
  } else {
    c[o] = v0;
    if (cols > 1) c[o + 1] = v1;
    if (cols > 2) c[o + 2] = v2;
    if (cols > 3) c[o + 3] = v3;
  }
}

/**
 * `c[m, n] = a[m, k] · b[k, n]` (overwrites c), plus `bias[n]` on every row when given:
 * `c[i, j] = (Σ_p a[i, p]·b[p, j]) + bias[j]`.
 */
export function matmul(
  a: Floats,
  b: Floats,
  c: Floats,
  m: number,
  k: number,
  n: number,
  bias?: Floats,
): void {
  const native = nativeFor(m, k, n);
  if (native) {
    native.matmul(a, b, c, m, k, n, bias);
    return;
  }
  const wasm = wasmFor(a, m, k, n);
  if (wasm) {
    wasm.product(a, m * k, k, 1, b, k * n, n, 1, c, m, k, n, bias ? SET_BIAS : SET, bias);
    return;
  }
  if (a instanceof Float32Array) {
    matmul32(a, b as Float32Array, c as Float32Array, m, k, n, bias as Float32Array | undefined);
    return;
  }
  matmul64(a, b as Float64Array, c as Float64Array, m, k, n, bias as Float64Array | undefined);
}

function matmul64(
  a: Float64Array,
  b: Float64Array,
  c: Float64Array,
  m: number,
  k: number,
  n: number,
  bias?: Float64Array,
): void {
  const pk = panelOf(4 * k);
  for (let j = 0; j < n; j += 4) {
    const cols = Math.min(4, n - j);
    // Columns j … j+3 of b, row by row, zero-filled past n.
    for (let p = 0, s = j, d = 0; p < k; p++, s += n, d += 4) {
      pk[d] = b[s]!;
      pk[d + 1] = cols > 1 ? b[s + 1]! : 0;
      pk[d + 2] = cols > 2 ? b[s + 2]! : 0;
      pk[d + 3] = cols > 3 ? b[s + 3]! : 0;
    }
    panelProduct(a, m, k, pk, c, n, j, cols, bias);
  }
}

/**
 * `c[m, k] = a[m, n] · b[k, n]ᵀ` (overwrites c): `c[i, p] = Σ_j a[i, j]·b[p, j]`.
 * This is `∂L/∂X = ∂L/∂Y·Wᵀ`.
 */
export function matmulTransB(a: Floats, b: Floats, c: Floats, m: number, n: number, k: number): void {
  const native = nativeFor(m, n, k);
  if (native) {
    native.matmulTransB(a, b, c, m, n, k);
    return;
  }
  const wasm = wasmFor(a, m, n, k);
  if (wasm) {
    // bᵀ[j, p] = b[p·n + j]
    wasm.product(a, m * n, n, 1, b, k * n, 1, n, c, m, n, k, SET);
    return;
  }
  if (a instanceof Float32Array) {
    matmulTransB32(a, b as Float32Array, c as Float32Array, m, n, k);
    return;
  }
  matmulTransB64(a, b as Float64Array, c as Float64Array, m, n, k);
}

function matmulTransB64(
  a: Float64Array,
  b: Float64Array,
  c: Float64Array,
  m: number,
  n: number,
  k: number,
): void {
  const pk = panelOf(4 * n);
  for (let p = 0; p < k; p += 4) {
    const cols = Math.min(4, k - p);
    // Rows p … p+3 of b are columns p … p+3 of bᵀ.
    const r0 = p * n;
    for (let j = 0, d = 0; j < n; j++, d += 4) {
      pk[d] = b[r0 + j]!;
      pk[d + 1] = cols > 1 ? b[r0 + n + j]! : 0;
      pk[d + 2] = cols > 2 ? b[r0 + 2 * n + j]! : 0;
      pk[d + 3] = cols > 3 ? b[r0 + 3 * n + j]! : 0;
    }
    panelProduct(a, m, n, pk, c, k, p, cols, undefined);
  }
}

/**
 * `c[k, n] += a[m, k]ᵀ · b[m, n]` (accumulates into c): `c[p, j] += Σ_r a[r, p]·b[r, j]`.
 * This is `∂L/∂W += Xᵀ·∂L/∂Y`. Tiles of 2 rows × 4 columns of c: both a and b are read along
 * rows here, so no packing is needed.
 */
export function matmulTransA(a: Floats, b: Floats, c: Floats, m: number, k: number, n: number): void {
  const native = nativeFor(k, m, n);
  if (native) {
    native.matmulTransA(a, b, c, m, k, n);
    return;
  }
  const wasm = wasmFor(a, k, m, n);
  if (wasm) {
    // aᵀ[p, r] = a[r·k + p]
    wasm.product(a, m * k, 1, k, b, m * n, n, 1, c, k, m, n, ADD);
    return;
  }
  if (a instanceof Float32Array) {
    matmulTransA32(a, b as Float32Array, c as Float32Array, m, k, n);
    return;
  }
  matmulTransA64(a, b as Float64Array, c as Float64Array, m, k, n);
}

function matmulTransA64(
  a: Float64Array,
  b: Float64Array,
  c: Float64Array,
  m: number,
  k: number,
  n: number,
): void {
  const n4 = n - (n % 4);
  let p = 0;
  for (; p + 2 <= k; p += 2) {
    let j = 0;
    for (; j < n4; j += 4) {
      let c00 = 0;
      let c01 = 0;
      let c02 = 0;
      let c03 = 0;
      let c10 = 0;
      let c11 = 0;
      let c12 = 0;
      let c13 = 0;
      for (let r = 0, ar = p, br = j; r < m; r++, ar += k, br += n) {
        const b0 = b[br]!;
        const b1 = b[br + 1]!;
        const b2 = b[br + 2]!;
        const b3 = b[br + 3]!;
        const x = a[ar]!;
        const y = a[ar + 1]!;
        c00 += x * b0;
        c01 += x * b1;
        c02 += x * b2;
        c03 += x * b3;
        c10 += y * b0;
        c11 += y * b1;
        c12 += y * b2;
        c13 += y * b3;
      }
      const o = p * n + j;
      c[o]! += c00;
      c[o + 1]! += c01;
      c[o + 2]! += c02;
      c[o + 3]! += c03;
      c[o + n]! += c10;
      c[o + n + 1]! += c11;
      c[o + n + 2]! += c12;
      c[o + n + 3]! += c13;
    }
    for (; j < n; j++) {
      let c0 = 0;
      let c1 = 0;
      for (let r = 0, ar = p, br = j; r < m; r++, ar += k, br += n) {
        const bv = b[br]!;
        c0 += a[ar]! * bv;
        c1 += a[ar + 1]! * bv;
      }
      c[p * n + j]! += c0;
      c[(p + 1) * n + j]! += c1;
    }
  }
  if (p < k) {
    let j = 0;
    for (; j < n4; j += 4) {
      let c0 = 0;
      let c1 = 0;
      let c2 = 0;
      let c3 = 0;
      for (let r = 0, ar = p, br = j; r < m; r++, ar += k, br += n) {
        const x = a[ar]!;
        c0 += x * b[br]!;
        c1 += x * b[br + 1]!;
        c2 += x * b[br + 2]!;
        c3 += x * b[br + 3]!;
      }
      const o = p * n + j;
      c[o]! += c0;
      c[o + 1]! += c1;
      c[o + 2]! += c2;
      c[o + 3]! += c3;
    }
    for (; j < n; j++) {
      let s = 0;
      for (let r = 0, ar = p, br = j; r < m; r++, ar += k, br += n) s += a[ar]! * b[br]!;
      c[p * n + j]! += s;
    }
  }
}
