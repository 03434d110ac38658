/**
 * Back-propagation against numerical gradients (docs/backprop.md §10) and against TensorFlow.js, on models
 * covering every activation, loss and useBias setting.
 */
import { describe, expect, it } from "vitest";
import {
  type ActivationName,
  computeGradients,
  describeModel,
  type LossName,
  type ModelSpec,
} from "../../src/engine/index.js";
import { expectGradientsMatch, randomBatch } from "./helpers.js";
import { maxRelativeError, tfjsReference } from "./tfjs-reference.js";

const activations: ActivationName[] = ["linear", "sigmoid", "tanh", "relu", "softmax"];
const losses: LossName[] = [
  "meanSquaredError",
  "categoricalCrossentropy",
  "sparseCategoricalCrossentropy",
  "binaryCrossentropy",
];

/** The output activation that makes sense for a loss (and one that does not, to test the general path). */
function outputActivations(loss: LossName): ActivationName[] {
  switch (loss) {
    case "meanSquaredError":
      return ["linear", "softmax", "tanh"]; // softmax + MSE uses the full Jacobian
    case "binaryCrossentropy":
      return ["sigmoid", "softmax"];
    default:
      return ["softmax", "sigmoid"];
  }
}

const cases: { name: string; spec: ModelSpec }[] = [];
for (const loss of losses)
  for (const hidden of activations)
    for (const out of outputActivations(loss))
      for (const useBias of [true, false])
        cases.push({
          name: `${hidden} hidden, ${out} output, ${loss}, useBias ${useBias}`,
          spec: {
            inputShape: [4],
            layers: [
              { type: "dense", units: 5, activation: hidden, useBias },
              { type: "dense", units: 3, useBias },
              { type: "activation", activation: out },
            ],
            loss,
          },
        });

describe("analytic gradients equal numerical gradients (relative error < 1e-6)", () => {
  it.each(cases)("$name", ({ spec }) => {
    const batch = randomBatch(spec, 4, 3, 11);
    const r = expectGradientsMatch(spec, batch, { seed: 5 });
    expect(r.numerical!.maxAbsError).toBeLessThan(1e-8);
  });

  it("relu exactly at its kink has gradient 0 (as tf)", () => {
    const spec: ModelSpec = {
      inputShape: [1],
      layers: [
        { type: "dense", units: 1, activation: "relu" },
        { type: "dense", units: 1 },
      ],
      loss: "meanSquaredError",
    };
    const w = (v: number) => ({ shape: [1, 1], data: Float64Array.from([v]) });
    const b = { shape: [1], data: Float64Array.from([0]) };
    const r = computeGradients({
      model: spec,
      seed: 0,
      weights: { "dense_0/kernel": w(1), "dense_0/bias": b, "dense_1/kernel": w(1), "dense_1/bias": b },
      data: { n: 1, x: Float64Array.from([0]), y: Float64Array.from([1]) },
    });
    expect(r.gradients["dense_0/kernel"]!.data[0]).toBe(0);
    expect(r.gradients["dense_0/bias"]!.data[0]).toBe(0);
    expect(r.gradients["dense_1/bias"]!.data[0]).toBe(-2);
  });
});

describe("loss and gradients equal TensorFlow.js (cpu, float32; relative error < 1e-4)", () => {
  it.each(cases)("$name", async ({ spec }) => {
    const batch = randomBatch(spec, 4, 3, 12);
    const ours = computeGradients({ model: spec, seed: 9, data: batch });
    const ref = await tfjsReference(spec, ours.weights, batch.x, batch.y, batch.n);
    expect(Math.abs(ours.loss - ref.loss) / Math.max(Math.abs(ref.loss), 1e-3)).toBeLessThan(1e-4);
    expect(maxRelativeError(ours.output.data, ref.output)).toBeLessThan(1e-4);
    for (const p of describeModel(spec).layers.flatMap((l) => l.params))
      expect(maxRelativeError(ours.gradients[p.key]!.data, ref.gradients[p.key]!), p.key).toBeLessThan(1e-4);
  });
});
