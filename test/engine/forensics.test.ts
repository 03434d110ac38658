/**
 * The finiteness checks NaN forensics runs on every layer output after every batch (`allFinite`,
 * `nonFiniteOutput`): every position of a non-finite value is found, whatever the array's length.
 */
import { describe, expect, it } from "vitest";
import { allFinite, nonFiniteOutput } from "../../src/engine/forensics.js";
import { Model } from "../../src/engine/model.js";

describe("allFinite", () => {
  it("finds NaN, ∞ and −∞ at every position of arrays of 0 to 11 values (the four sums and the tail)", () => {
    for (let n = 0; n <= 11; n++) {
      const a = Float64Array.from({ length: n }, (_, i) => (i % 2 === 0 ? 1e308 : -0));
      expect(allFinite(a)).toBe(true);
      for (let i = 0; i < n; i++)
        for (const bad of [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY]) {
          const b = Float64Array.from(a);
          b[i] = bad;
          expect(allFinite(b), `n = ${n}, [${i}] = ${bad}`).toBe(false);
        }
    }
  });

  it("an ∞ and a −∞ in different sums do not cancel", () => {
    const a = new Float64Array(8);
    a[0] = Number.POSITIVE_INFINITY;
    a[5] = Number.NEGATIVE_INFINITY;
    expect(allFinite(a)).toBe(false);
  });
});

describe("nonFiniteOutput", () => {
  // conv → relu → flatten (hands its input on as it is) → dense.
  const model = new Model({
    inputShape: [3, 3, 1],
    layers: [
      { type: "conv2d", filters: 1, kernelSize: 2, activation: "relu" },
      { type: "flatten" },
      { type: "dense", units: 2 },
    ],
    loss: "meanSquaredError",
  });
  model.initialise(1);

  it("names the first layer whose output is not finite, counting flatten's shared output as the layer before it", () => {
    model.forward(Float64Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9]), 1);
    expect(nonFiniteOutput(model)).toBe(-1);
    model.forward(Float64Array.from([1, 2, 3, 4, Number.NaN, 6, 7, 8, 9]), 1);
    expect(model.layerOutput(2)).toBe(model.layerOutput(1)); // flatten's output is relu's
    expect(nonFiniteOutput(model)).toBe(0); // the convolution
    expect(model.layers.map((l) => l.type)).toEqual(["conv2d", "activation", "flatten", "dense"]);
  });

  it("still checks the layers after a flatten", () => {
    const kernel = model.params().find((p) => p.key === "dense_2/kernel")!;
    kernel.value[0] = Number.POSITIVE_INFINITY;
    model.forward(Float64Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9]), 1);
    expect(nonFiniteOutput(model)).toBe(3);
  });
});
