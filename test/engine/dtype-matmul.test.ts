/**
 * The float32 matrix products (docs/precision.md §2) against plain triple loops in single
 * precision: each product and each sum rounded with `Math.fround`, summed over p = 0 … k−1 from a
 * fresh 0, then the bias or the old c added last. Bit-identical for ragged shapes, with the
 * WebAssembly switch on and off.
 */
import { describe, expect, it } from "vitest";
import { matmul, matmulTransA, matmulTransB, useWasmKernels } from "../../src/engine/matmul.js";
import { Rng } from "../../src/engine/rng.js";
import {
  naive32,
  naive32TransA as naiveTransA32,
  naive32TransB as naiveTransB32,
} from "./float32-reference.js";

function random32(n: number, rng: Rng): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = rng.uniform(-2, 2);
  return a;
}

const bits = (a: Float32Array) => Array.from(new Uint32Array(a.buffer, a.byteOffset, a.length));

// Ragged shapes (no dimension a multiple of the 3×4 and 2×4 tiles), a few aligned ones, and sizes
// large enough that the float64 path would hand them to WebAssembly.
const shapes: [number, number, number][] = [];
for (const m of [1, 2, 5, 7, 17])
  for (const k of [1, 5, 11]) for (const n of [1, 3, 5, 7, 9]) shapes.push([m, k, n]);
shapes.push([6, 8, 12], [64, 31, 10], [33, 65, 17], [50, 129, 23]);

describe.each([true, false])("float32 products, WebAssembly switch %s", (wasm) => {
  it("a·b, a·b + bias, c + aᵀ·b and a·bᵀ equal the single-precision triple loops bit for bit", () => {
    const was = useWasmKernels(wasm);
    try {
      const rng = new Rng(7);
      for (const [m, k, n] of shapes) {
        const a = random32(m * k, rng);
        const b = random32(k * n, rng);
        const bias = random32(n, rng);
        const c = new Float32Array(m * n);
        matmul(a, b, c, m, k, n);
        expect(bits(c), `matmul ${m}×${k}×${n}`).toEqual(bits(naive32(a, b, m, k, n)));
        matmul(a, b, c, m, k, n, bias);
        expect(bits(c), `matmul+bias ${m}×${k}×${n}`).toEqual(bits(naive32(a, b, m, k, n, bias)));

        // transA: a [m, k], g [m, n], accumulating into c0 [k, n].
        const g = random32(m * n, rng);
        const c0 = random32(k * n, rng);
        const acc = Float32Array.from(c0);
        matmulTransA(a, g, acc, m, k, n);
        expect(bits(acc), `transA ${m}×${k}×${n}`).toEqual(bits(naiveTransA32(a, g, c0, m, k, n)));

        // transB: g [m, n] · w [k, n]ᵀ → [m, k].
        const w = random32(k * n, rng);
        const dx = new Float32Array(m * k);
        matmulTransB(g, w, dx, m, n, k);
        expect(bits(dx), `transB ${m}×${n}×${k}`).toEqual(bits(naiveTransB32(g, w, m, n, k)));
      }
    } finally {
      useWasmKernels(was);
    }
  });
});

describe("float32 products round like single precision", () => {
  it("differs from the double-precision sum where float32 loses the small terms", () => {
    // 1 + 2⁻²⁴ + 2⁻²⁴: float32 rounds each add back to 1; double keeps 1 + 2⁻²³.
    const a = Float32Array.of(1, 2 ** -24, 2 ** -24);
    const b = Float32Array.of(1, 1, 1);
    const c = new Float32Array(1);
    matmul(a, b, c, 1, 3, 1);
    expect(c[0]).toBe(1);
    const c64 = new Float64Array(1);
    matmul(Float64Array.from(a), Float64Array.from(b), c64, 1, 3, 1);
    expect(c64[0]).toBe(1 + 2 ** -23);
  });
});
