/**
 * The hook through which the engine reaches its native kernels (native/*.cc, built by node-gyp).
 * The engine does no I/O: code outside it loads the addon (src/native/kernels.ts) and hands it
 * over here with `useNativeKernels`. Without it the engine runs its WebAssembly and TypeScript
 * kernels, which compute every value by the same IEEE operations (docs/kernels.md): the native
 * path changes the speed, never the bits.
 */

import type { Floats } from "./tensor.js";

/** The native addon's exports the engine calls; each kernel file adds its functions here. */
export interface NativeKernels {
  /** What was compiled: the architecture (`x86_64`, `arm64`, `generic`). */
  readonly build: string;
  /**
   * Convolution forward pass (native/conv.cc): `y = cols·K + bias` over the whole batch, then
   * `Math.max(·, 0)` when `relu`; bit-identical to im2col + `matmul` (docs/performance.md,
   * "Convolution"). `geometry` is `convGeometry`'s Int32Array; x `[batch, inH, inW, C]`, kernel
   * `[kH, kW, C, filters]`, bias `[filters]` or null, y `[batch, outH, outW, filters]`, all of one
   * element type (float64 or float32). @throws TypeError or RangeError on a bad argument.
   */
  convForward?(
    geometry: Int32Array,
    x: Floats,
    kernel: Floats,
    bias: Floats | null,
    y: Floats,
    relu: boolean,
  ): void;
  /** `∂K += colsᵀ·∂Y` (as `matmulTransA`), ∂K `[kH, kW, C, filters]`, dy `[batch, outH, outW, filters]`. */
  convFilterGrad?(geometry: Int32Array, x: Floats, dy: Floats, kernelGrad: Floats): void;
  /** `∂b[f] += ∂Y[r, f]` for every row r in turn. */
  convBiasGrad?(geometry: Int32Array, dy: Floats, biasGrad: Floats): void;
  /** `∂X = col2im(∂Y·Kᵀ)` (overwrites dx `[batch, inH, inW, C]`). */
  convInputGrad?(geometry: Int32Array, dy: Floats, kernel: Floats, dx: Floats): void;
  /** `y = Math.max(x, 0)` elementwise (NaN stays NaN, −0 becomes +0); x and y may be one array. */
  reluForward?(x: Floats, y: Floats): void;
  /** `dx = y > 0 ? dy : 0` elementwise, y relu's output. */
  reluBackward?(y: Floats, dy: Floats, dx: Floats): void;
  /**
   * Max pooling forward as `MaxPooling2d.forward` (geometry with filters = channels): y the
   * maxima, argmax each one's flat index into x.
   */
  maxPoolForward?(geometry: Int32Array, x: Floats, y: Floats, argmax: Float64Array | Int32Array): void;
  /** `dx = 0`, then `dx[argmax[o]] += dy[o]` in order of o. @throws RangeError for a bad index. */
  maxPoolBackward?(dy: Floats, argmax: Float64Array | Int32Array, dx: Floats): void;
  /**
   * Switches the convolution kernels' instruction set (`"avx512"`, `"avx2"`, `"portable"`; all
   * give the same bits) for the whole process; undefined only asks. @returns the previous one.
   */
  convUseIsa?(isa: string | undefined): string;
}

let kernels: NativeKernels | null = null;

/**
 * Hands the engine its native kernels for this thread (null: none). Tests and the bench use it to
 * check and to measure both paths.
 * @returns the previous setting.
 */
export function useNativeKernels(k: NativeKernels | null): NativeKernels | null {
  const was = kernels;
  kernels = k;
  return was;
}

/** The native kernels in use on this thread, or null. */
export function nativeKernels(): NativeKernels | null {
  return kernels;
}
