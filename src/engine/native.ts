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
   * The instruction set this CPU runs the matrix products and the convolution kernels on
   * (native/isa.h picks it at load time): `native-avx512`, `native-avx2`, or `native` (portable C++).
   */
  readonly kernels: NativeMatmulKernels;
  /**
   * `c[m, n] = a[m, k]·b[k, n]`, plus `bias[n]` on every row when given (native/gemm.cc).
   * All arrays Float64Array or all Float32Array (float32 computes in single precision), each
   * at least as long as its shape; throws a TypeError or RangeError otherwise.
   */
  matmul(a: Floats, b: Floats, c: Floats, m: number, k: number, n: number, bias?: Floats): void;
  /** `c[m, k] = a[m, n]·b[k, n]ᵀ`; checks as `matmul`. */
  matmulTransB(a: Floats, b: Floats, c: Floats, m: number, n: number, k: number): void;
  /** `c[k, n] += a[m, k]ᵀ·b[m, n]`; checks as `matmul`. */
  matmulTransA(a: Floats, b: Floats, c: Floats, m: number, k: number, n: number): void;
  /**
   * Process-wide: how many threads a large product runs on (1: the caller alone, no helper
   * threads), and the smallest `m·k·n` split over them (default measured, docs/kernels.md).
   * @returns the previous settings.
   */
  setThreads(threads: number, minWork?: number): { threads: number; minWork: number };
  /**
   * Process-wide counts since start: products `split` over threads, run `alone` because a helper
   * was late before (the back-off), found the helper `late`, and times a helper's watch ran out and
   * it `slept` (docs/kernels.md, "Threads and priority"). For the bench and tests; absent from
   * builds before it.
   */
  poolStats?(): { split: number; alone: number; late: number; slept: number };
  /**
   * Process-wide: runs the products and the convolution kernels on a lesser instruction set than
   * the CPU's best, so tests check every path on one machine (`kernels` still names the best).
   * @returns the previous choice. @throws RangeError for kernels this CPU cannot run.
   */
  selectKernels(kernels: NativeMatmulKernels): NativeMatmulKernels;
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
  /**
   * `∂K += colsᵀ·∂Y` (as `matmulTransA`), ∂K `[kH, kW, C, filters]`, dy `[batch, outH, outW, filters]`;
   * with `biasGrad` `[filters]`, also `convBiasGrad`'s `∂b` (the same sums, from the same reads of ∂Y
   * where the kernel reads x directly).
   */
  convFilterGrad?(
    geometry: Int32Array,
    x: Floats,
    dy: Floats,
    kernelGrad: Floats,
    biasGrad?: Floats | null,
  ): void;
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
  /**
   * `dx = 0`, then `dx[argmax[o]] += dy[o]` in order of o. @throws RangeError for a bad index.
   * With `maxPoolForward`'s geometry and Int32Array indices, for windows that never overlap, each
   * window is written cell by cell instead (the same values; an index outside its window, which
   * `maxPoolForward` never leaves, gives no gradient): @throws RangeError for sizes other than the geometry's.
   * With `reluOutput`, the pooling's output y `[like dy]` when its input was relu's output: through
   * relu's backward too, each term `y[o] > 0 ? dy[o] : 0` (`MaxPooling2d.backwardThrough`).
   */
  maxPoolBackward?(
    dy: Floats,
    argmax: Float64Array | Int32Array,
    dx: Floats,
    geometry?: Int32Array | null,
    reluOutput?: Floats,
  ): void;
  /** Whether every value of x is finite (as `allFinite` in forensics.ts; native/layers.cc). */
  allFinite?(x: Floats): boolean;
  /**
   * Rows `order[start … start + count)` of src `[rows, rowLen]` into dst `[count, rowLen]`, each
   * value converted as a typed array's `set` converts it (float64 → float32 rounds to nearest).
   * @throws TypeError or RangeError on a bad argument or an index that is not a row of src.
   */
  gatherRows?(
    src: Floats,
    order: Uint32Array,
    start: number,
    count: number,
    rowLen: number,
    dst: Floats,
  ): void;
  /**
   * SGD's update of one parameter (native/optim.cc), as `Sgd` computes it in TypeScript: keep ← w,
   * then `w ← w − lr·g`, or with `velocity` `v ← μ·v − lr·g` and `w ← w + v` (Nesterov:
   * `w ← w + (μ·v − lr·g)`), every value computed in double and stored in the arrays' type.
   * w, g, keep, velocity: one element type and length, disjoint.
   * @returns the optimiser's flags (1 a non-finite gradient, 4 a non-finite new weight).
   * @throws TypeError or RangeError on a bad argument.
   */
  optimSgd?(
    w: Floats,
    g: Floats,
    keep: Floats,
    velocity: Floats | null,
    lr: number,
    momentum: number,
    nesterov: boolean,
  ): number;
  /**
   * Adam's (and AdamW's, `decay` > 0) update of one parameter, as `Adam` computes it, with the bias
   * corrections `c1 = 1 − β1^t`, `c2 = 1 − β2^t` computed by the caller; checks as `optimSgd`.
   * @returns the flags (2: a non-finite v̂).
   */
  optimAdam?(
    w: Floats,
    g: Floats,
    keep: Floats,
    m: Floats,
    v: Floats,
    lr: number,
    beta1: number,
    beta2: number,
    epsilon: number,
    c1: number,
    c2: number,
    decay: number,
  ): number;
}

/** The native kernels (matrix products and convolution), by instruction set. */
export type NativeMatmulKernels = "native-avx512" | "native-avx2" | "native";

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
