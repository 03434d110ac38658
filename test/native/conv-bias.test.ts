// convFilterGrad with a bias gradient (native/conv.cc): ∂K and ∂b in one call, the single-channel
// kernel summing ∂b from the ∂Y rows it loads for ∂K (native/conv-direct.inc), any other geometry
// in a pass of its own: the same bits as the float32 reference and as two separate calls.
import { describe, expect, it } from "vitest";
import {
  type Case,
  DIRECT_CASES,
  float32Case,
  ISA_THREADS,
  label,
  native,
  onKernels,
  sameBits,
} from "./conv-helpers.js";

/** Geometries the direct kernel does not take (3 channels; 24 filters): ∂b in its own pass. */
const OTHER_CASES: Case[] = [
  {
    inH: 7,
    inW: 6,
    channels: 3,
    filters: 8,
    k: [3, 3],
    strides: [1, 1],
    padding: "same",
    batch: 2,
    useBias: true,
  },
  {
    inH: 6,
    inW: 6,
    channels: 1,
    filters: 24,
    k: [3, 3],
    strides: [1, 1],
    padding: "valid",
    batch: 2,
    useBias: true,
  },
];

describe.skipIf(!native?.convFilterGrad)("convFilterGrad with biasGrad", () => {
  const k = native!;

  for (const [isa, threads] of ISA_THREADS)
    it(`gives ∂K and ∂b the reference's float32 bits in one call on ${isa}, ${threads} thread(s)`, () =>
      onKernels(isa, threads, () => {
        for (const c of [...DIRECT_CASES, ...OTHER_CASES]) {
          const { geometry, inputs: i, expected: e } = float32Case(c, 31);
          const dk = Float32Array.from(i.dk0);
          const db = Float32Array.from(i.db0);
          k.convFilterGrad!(geometry, i.x, i.dy, dk, db);
          expect(sameBits(dk, e.dk), `${label(c)}: dk`).toBe(true);
          expect(sameBits(db, e.db), `${label(c)}: db`).toBe(true);
          // Without biasGrad, ∂b is not touched.
          const dk2 = Float32Array.from(i.dk0);
          k.convFilterGrad!(geometry, i.x, i.dy, dk2, null);
          expect(sameBits(dk2, e.dk), `${label(c)}: dk alone`).toBe(true);
        }
      }));

  it("gives float64 the bits of convFilterGrad and convBiasGrad called apart", () => {
    for (const c of DIRECT_CASES) {
      const { geometry, inputs: i } = float32Case(c, 37);
      const x = Float64Array.from(i.x, (v) => v / 3);
      const dy = Float64Array.from(i.dy, (v) => v / 7);
      const dk = Float64Array.from(i.dk0);
      const db = Float64Array.from(i.db0);
      k.convFilterGrad!(geometry, x, dy, dk, db);
      const dkApart = Float64Array.from(i.dk0);
      const dbApart = Float64Array.from(i.db0);
      k.convFilterGrad!(geometry, x, dy, dkApart);
      k.convBiasGrad!(geometry, dy, dbApart);
      expect(sameBits(dk, dkApart), `${label(c)}: dk`).toBe(true);
      expect(sameBits(db, dbApart), `${label(c)}: db`).toBe(true);
      expect(sameBits(db, Float64Array.from(i.db0)), `${label(c)}: db moved`).toBe(false);
    }
  });

  it("refuses a bias gradient of the wrong length, type or place", () => {
    const { geometry, inputs: i } = float32Case(DIRECT_CASES[0]!, 1);
    const dk = Float32Array.from(i.dk0);
    expect(() => k.convFilterGrad!(geometry, i.x, i.dy, dk, new Float32Array(3))).toThrow(RangeError);
    expect(() => k.convFilterGrad!(geometry, i.x, i.dy, dk, new Float64Array(8))).toThrow(TypeError);
    expect(() => k.convFilterGrad!(geometry, i.x, i.dy, dk, dk.subarray(0, 8))).toThrow(RangeError);
  });
});
