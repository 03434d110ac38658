/**
 * The hook through which the engine reaches its native kernels (native/*.cc, built by node-gyp).
 * The engine does no I/O: code outside it loads the addon (src/native/kernels.ts) and hands it
 * over here with `useNativeKernels`. Without it the engine runs its WebAssembly and TypeScript
 * kernels, which compute every value by the same IEEE operations (docs/kernels.md): the native
 * path changes the speed, never the bits.
 */

/** The native addon's exports the engine calls; each kernel file adds its functions here. */
export interface NativeKernels {
  /** What was compiled: the architecture (`x86_64`, `arm64`, `generic`). */
  readonly build: string;
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
