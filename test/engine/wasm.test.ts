/**
 * The committed WebAssembly kernels are the ones their AssemblyScript sources compile to; the
 * float32 kernel computes in single precision, bit for bit as the contract states.
 */
import { describe, expect, it } from "vitest";
import { compileGemm, GEMM32_SOURCE } from "../../scripts/build-wasm.js";
import { Rng } from "../../src/engine/rng.js";
import { ADD, SET, SET_BIAS, wasmGemm32 } from "../../src/engine/wasm/gemm.js";
import { GEMM_WASM_BASE64 } from "../../src/engine/wasm/gemm-wasm.js";
import { GEMM32_WASM_BASE64 } from "../../src/engine/wasm/gemm32-wasm.js";
import { naive32, naive32TransA, naive32TransB } from "./float32-reference.js";

describe("src/engine/wasm/gemm-wasm.ts", () => {
  it("matches a fresh build of gemm.as.ts (run `npm run build:wasm` after editing it)", async () => {
    const built = Buffer.from(await compileGemm()).toString("base64");
    expect(built).toBe(GEMM_WASM_BASE64);
  }, 60_000);
});

describe("src/engine/wasm/gemm32-wasm.ts", () => {
  it("matches a fresh build of gemm32.as.ts (run `npm run build:wasm` after editing it)", async () => {
    const built = Buffer.from(await compileGemm(GEMM32_SOURCE)).toString("base64");
    expect(built).toBe(GEMM32_WASM_BASE64);
  }, 60_000);

  it("rounds every product and sum to float32 in the stated order, on ragged shapes", () => {
    const wasm = wasmGemm32()!;
    expect(wasm).not.toBeNull();
    const rng = new Rng(9);
    const r = (len: number) => Float32Array.from({ length: len }, () => rng.uniform(-2, 2));
    const shapes = [
      [1, 1, 1],
      [4, 8, 8],
      [5, 9, 13],
      [17, 33, 9],
      [3, 70, 31],
      [64, 78, 10],
      [9, 0, 3],
    ];
    for (const [m, k, n] of shapes as [number, number, number][]) {
      const a = r(m * k);
      const b = r(k * n);
      const bias = r(n);
      const c = new Float32Array(m * n);
      wasm.product(a, m * k, k, 1, b, k * n, n, 1, c, m, k, n, SET_BIAS, bias);
      expect(Array.from(c), `${m}×${k}×${n} + bias`).toEqual(Array.from(naive32(a, b, m, k, n, bias)));
      wasm.product(a, m * k, k, 1, b, k * n, n, 1, c, m, k, n, SET);
      expect(Array.from(c), `${m}×${k}×${n}`).toEqual(Array.from(naive32(a, b, m, k, n)));
      // c[m, n] = a[m, k]·bt[n, k]ᵀ
      const bt = r(n * k);
      wasm.product(a, m * k, k, 1, bt, n * k, 1, k, c, m, k, n, SET);
      expect(Array.from(c), `transB ${m}×${k}×${n}`).toEqual(Array.from(naive32TransB(a, bt, m, k, n)));
      // c[k, n] += a[m, k]ᵀ·d[m, n]
      const d = r(m * n);
      const c0 = r(k * n);
      const acc = Float32Array.from(c0);
      wasm.product(a, m * k, 1, k, d, m * n, n, 1, acc, k, m, n, ADD);
      expect(Array.from(acc), `transA ${m}×${k}×${n}`).toEqual(Array.from(naive32TransA(a, d, c0, m, k, n)));
    }
  });
});
