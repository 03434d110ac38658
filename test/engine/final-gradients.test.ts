/**
 * `finalGradients: false` (a lean answer without gradients): the final backward pass is skipped,
 * nothing else changes, bit for bit.
 */
import { describe, expect, it } from "vitest";
import { type ModelSpec, type OptimizerSpec, train } from "../../src/engine/index.js";
import { randomBatch } from "./helpers.js";

const spec: ModelSpec = {
  inputShape: [3],
  layers: [
    { type: "dense", units: 4, activation: "tanh" },
    { type: "batchNormalization" },
    { type: "dense", units: 2, activation: "softmax" },
  ],
  loss: "categoricalCrossentropy",
};
const optimizer: OptimizerSpec = { type: "adam", learningRate: 0.05 };

describe("finalGradients", () => {
  it("false leaves out the gradients and changes no weight, metric or history value", () => {
    const data = randomBatch(spec, 12, 2, 3);
    const run = (finalGradients?: boolean) =>
      train({
        model: spec,
        data,
        optimizer,
        epochs: 4,
        batchSize: 5,
        seed: 9,
        validationSplit: 0.25,
        finalGradients,
      });
    const full = run();
    const lean = run(false);
    expect(full.gradients).toBeDefined();
    expect(Object.keys(full.gradients!)).toContain("dense_0/kernel");
    expect(lean.gradients).toBeUndefined();
    expect(lean.nonFinite).toBeUndefined(); // not computed is not "not finite"
    expect(lean.weightsSha256).toBe(full.weightsSha256);
    expect(lean.metrics).toEqual(full.metrics);
    expect(lean.metrics.loss).toBeGreaterThan(0);
    expect(lean.metrics.valLoss).toBeGreaterThan(0);
    expect(lean.history).toEqual(full.history);
    expect(lean.confusionMatrix).toEqual(full.confusionMatrix);
    expect(run(true).gradients).toEqual(full.gradients);
  });
});
