import { arch } from "node:os";
import { describe, expect, it } from "vitest";
import { nativeKernels } from "../../src/engine/native.js";
import { loadNativeKernels, nativeAddonPath, nativeKernelsError } from "../../src/native/kernels.js";

describe("native kernels", () => {
  // `npm install` builds them (scripts/build-native.cjs); CI runs on a machine with a compiler.
  it.skipIf(process.env.NATIVE_KERNELS === "off")("are built, loaded and handed to the engine", () => {
    const kernels = loadNativeKernels();
    expect(nativeKernelsError()).toBeUndefined();
    expect(nativeAddonPath()).toMatch(/build\/Release\/engine_kernels\.node$/);
    expect(kernels?.build).toBe(arch() === "x64" ? "x86_64" : arch() === "arm64" ? "arm64" : "generic");
    // test/setup.ts registered them, as src/service/engine-worker.ts does in every thread.
    expect(nativeKernels()).toBe(kernels);
  });
});
