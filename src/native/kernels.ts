/**
 * Loads the engine's native kernels (binding.gyp → build/Release/engine_kernels.node, built by
 * `npm install`) and hands them to the engine (src/engine/native.ts). Outside the engine because
 * loading a file is I/O.
 *
 * `NATIVE_KERNELS=off` keeps them out; a missing or broken build is not an error: the engine then
 * runs its WebAssembly and TypeScript kernels, which give the same bits (docs/kernels.md).
 * `ENGINE_THREADS` (default: the available cores) sets how many threads one large product may use.
 */
import { createRequire } from "node:module";
import { availableParallelism } from "node:os";
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

/**
 * `ENGINE_THREADS` as the native kernels take it: an integer 1–64, default the available cores.
 * src/config.ts rejects other values at start; here (every worker thread) they fall back to the default.
 */
export function engineThreads(env: NodeJS.ProcessEnv = process.env): number {
  const fallback = Math.min(64, availableParallelism());
  const raw = env.ENGINE_THREADS;
  if (raw === undefined || raw.trim() === "") return fallback;
  const t = Number(raw);
  return Number.isInteger(t) && t >= 1 && t <= 64 ? t : fallback;
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
    // Process-wide, so every thread sets the same value.
    kernels.setThreads(engineThreads());
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
