/**
 * Losses on outputs that are not one vector per sample (docs/backprop.md §21.1): an activation
 * followed by layers that only move values (flatten, reshape) keeps its activation for the loss's
 * check; exact derivatives (central differences, float64, relative error < 1e-7).
 */
import { describe, expect, it } from "vitest";
import { computeGradients, describeModel, type ModelSpec } from "../../src/engine/index.js";
import { expectGradientsMatch } from "./helpers.js";

/** Mean binary cross-entropy over every element of every sample, by hand. */
function meanBce(out: ArrayLike<number>, y: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < out.length; i++) s -= y[i]! * Math.log(out[i]!) + (1 - y[i]!) * Math.log(1 - out[i]!);
  return s / out.length;
}

describe("a sigmoid output followed by flatten or reshape (binaryCrossentropy)", () => {
  const cases: { name: string; spec: ModelSpec; x: number[] }[] = [
    {
      name: "timeDistributed dense 1 sigmoid → flatten",
      spec: {
        inputShape: [3, 1],
        layers: [
          { type: "timeDistributed", layer: { type: "dense", units: 1, activation: "sigmoid" } },
          { type: "flatten" },
        ],
        loss: "binaryCrossentropy",
      },
      x: [0.5, -1, 2, 1.5, 0.25, -0.75],
    },
    {
      name: "dense 4 sigmoid → reshape [2, 2]",
      spec: {
        inputShape: [2],
        layers: [
          { type: "dense", units: 4, activation: "sigmoid" },
          { type: "reshape", targetShape: [2, 2] },
        ],
        loss: "binaryCrossentropy",
      },
      x: [0.5, -1, 2, 1.5],
    },
  ];
  it.each(cases)("$name: builds, the loss is the mean over elements, exact gradients", ({ spec, x }) => {
    const k = describeModel(spec).outputSize;
    const n = 2;
    const y = Float64Array.from({ length: n * k }, (_, i) => (i % 3 === 0 ? 1 : 0));
    const data = { n, x: Float64Array.from(x), y };
    const r = computeGradients({ model: spec, seed: 4, data });
    expect(r.loss).toBeCloseTo(meanBce(r.output.data, y), 12);
    expect(r.loss).toBeGreaterThan(0.1);
    expectGradientsMatch(spec, data, { seed: 4, tolerance: 1e-7, epsilon: 1e-5 });
  });

  it("a linear output before the flatten is still refused, named as linear", () => {
    const spec: ModelSpec = {
      inputShape: [3, 1],
      layers: [{ type: "timeDistributed", layer: { type: "dense", units: 1 } }, { type: "flatten" }],
      loss: "binaryCrossentropy",
    };
    expect(() => describeModel(spec)).toThrow(
      /output activation is linear; end the model with activation sigmoid/,
    );
  });
});
