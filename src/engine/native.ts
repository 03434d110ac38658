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
   * The matrix-product kernel this CPU runs (native/gemm.cc picks it at load time):
   * `native-avx512`, `native-avx2`, or `native` (portable C++).
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
   * Process-wide: runs the products on a lesser instruction set than the CPU's best, so tests
   * check every path on one machine (`kernels` still names the best).
   * @returns the previous choice. @throws RangeError for kernels this CPU cannot run.
   */
  selectKernels(kernels: NativeMatmulKernels): NativeMatmulKernels;
}

/** The native matrix-product kernels, by instruction set. */
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
