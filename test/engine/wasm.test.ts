/** The committed WebAssembly kernel is the one its AssemblyScript source compiles to. */
import { describe, expect, it } from "vitest";
import { compileGemm } from "../../scripts/build-wasm.js";
import { GEMM_WASM_BASE64 } from "../../src/engine/wasm/gemm-wasm.js";

describe("src/engine/wasm/gemm-wasm.ts", () => {
  it("matches a fresh build of gemm.as.ts (run `npm run build:wasm` after editing it)", async () => {
    const built = Buffer.from(await compileGemm()).toString("base64");
    expect(built).toBe(GEMM_WASM_BASE64);
  }, 60_000);
});
