/**
 * Tensors written straight to JSON text (src/service/tensor-json.ts) are the text of the nested
 * arrays `arrayToNested` builds: every shape (scalars, empty axes), every kind of number (-0,
 * subnormals, exponents, non-finite as null), float32 values as the doubles they are.
 */
import { describe, expect, it } from "vitest";
import { arrayToNested, namedTensorsToNested } from "../../src/service/convert.js";
import { arrayJson, namedTensorsJson, numberJson } from "../../src/service/tensor-json.js";

const VALUES = [
  0,
  -0,
  1,
  -1.5,
  0.1,
  1 / 3,
  1e21,
  1e-7,
  123456789012345680000,
  5e-324,
  -2.2250738585072014e-308,
  Number.MAX_VALUE,
  Number.NaN,
  Number.POSITIVE_INFINITY,
  Number.NEGATIVE_INFINITY,
  3.4028234663852886e38,
];

describe("tensor JSON text", () => {
  it("writes every number as JSON.stringify does, non-finite ones as null", () => {
    for (const v of VALUES) expect(numberJson(v), String(v)).toBe(JSON.stringify(v));
  });

  it("writes nested arrays of every shape as JSON.stringify(arrayToNested(…)) does", () => {
    const data = Float64Array.from(
      { length: 48 },
      (_, i) => VALUES[i % VALUES.length]! * (i % 3 === 0 ? -1 : 1),
    );
    const f32 = Float32Array.from(data.map((v) => (Number.isFinite(v) ? v / 7 : v)));
    const shapes = [[], [1], [3], [0], [2, 0], [0, 3], [2, 3], [2, 2, 3], [1, 4, 3, 2], [3, 1, 1]];
    for (const a of [data, f32])
      for (const shape of shapes)
        for (const offset of [0, 5]) {
          const want = JSON.stringify(arrayToNested(a, shape, offset));
          expect(arrayJson(a, shape, offset), `${shape} @${offset}`).toBe(want);
        }
  });

  it("writes named tensors in the object's own key order, keys escaped", () => {
    const t = (shape: number[], ...v: number[]) => ({ shape, data: Float64Array.from(v) });
    const tensors = {
      'odd "name"/kernel': t([1, 2], 1, -0),
      "2": t([], Number.NaN),
      "dense_0/bias": t([2], 0.5, 1e-300),
    };
    expect(namedTensorsJson(tensors)).toBe(JSON.stringify(namedTensorsToNested(tensors)));
    expect(namedTensorsJson({})).toBe("{}");
    expect(namedTensorsJson(tensors, (data) => numberJson(data[0]!))).toBe(
      '{"2":null,"odd \\"name\\"/kernel":1,"dense_0/bias":0.5}',
    );
  });
});
