/**
 * Row-major matrix products, the three the affine layer needs (docs/backprop.md §4.2).
 * Sizes are not checked here: callers own their buffers and shapes. All three operands have the
 * run's dtype. Each call picks one kernel: the native ones (native/gemm.cc, docs/kernels.md) where
 * registered and the product pays for the call, else the WebAssembly SIMD ones (float64 or
 * float32) where they pay, else TypeScript — `Float32Array` operands the single-precision kernels
 * of ./matmul-f32.ts (docs/precision.md §2), `Float64Array` ones those of ./matmul-f64.ts, whose
 * design the next paragraph describes.
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
import { matmul64, matmulTransA64, matmulTransB64 } from "./matmul-f64.js";
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
