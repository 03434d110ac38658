/**
 * Loads the engine's native kernels (binding.gyp → build/Release/engine_kernels.node, built by
 * `npm install`) and hands them to the engine (src/engine/native.ts). Outside the engine because
 * loading a file is I/O.
 *
 * `NATIVE_KERNELS=off` keeps them out; a missing or broken build is not an error: the engine then
 * runs its WebAssembly and TypeScript kernels, which give the same bits (docs/kernels.md).
 */
import { createRequire } from "node:module";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { type NativeKernels, useNativeKernels } from "../engine/native.js";

/** The project's root, set by the worker bundle (worker-bundle.ts), which runs from a temporary directory. */
declare const __PROJECT_ROOT__: string | undefined;

/** The addon's path: `<project root>/build/Release/engine_kernels.node`. */
export function nativeAddonPath(): string {
  const root =
    typeof __PROJECT_ROOT__ === "string"
      ? __PROJECT_ROOT__
      : fileURLToPath(new URL("../..", import.meta.url));
  return join(root, "build", "Release", "engine_kernels.node");
}

let loaded: { kernels: NativeKernels | null; error?: string } | undefined;

/**
 * The native kernels, loaded once per thread; null when `NATIVE_KERNELS=off` or the addon cannot
 * be loaded (`nativeKernelsError` says why).
 */
export function loadNativeKernels(): NativeKernels | null {
  if (loaded) return loaded.kernels;
  if (process.env.NATIVE_KERNELS === "off") {
    loaded = { kernels: null, error: "NATIVE_KERNELS=off" };
    return null;
  }
  try {
    const kernels = createRequire(nativeAddonPath())(nativeAddonPath()) as NativeKernels;
    loaded = { kernels };
  } catch (err) {
    loaded = { kernels: null, error: err instanceof Error ? err.message : String(err) };
  }
  return loaded.kernels;
}

/** Why the native kernels are not in use (undefined when they are, or were never asked for). */
export function nativeKernelsError(): string | undefined {
  return loaded?.error;
}

/** Loads the native kernels (when they exist) and hands them to the engine on this thread. */
export function registerNativeKernels(): NativeKernels | null {
  const kernels = loadNativeKernels();
  useNativeKernels(kernels);
  return kernels;
}
