/**
 * NaN forensics on the fused dense path of `train()` (docs/performance.md, "Tiny networks"): a run
 * that diverges (a dense output past the range, in float64 and in float32; the loss; the update;
 * after some steps) gives the same result and the same `diverged` report as the model's layers give.
 * A non-finite output sends its batch through the layers, whose check names the layer.
 */
import { describe, expect, it } from "vitest";
import type { ModelSpec, TrainOptions } from "../../src/engine/index.js";
import { bothPaths, tensor } from "./fused-dense-helpers.js";

describe("a diverging run gives the same forensics report on both paths", () => {
  // 1 → 1 without bias, MSE: output w·x.
  const single: ModelSpec = {
    inputShape: [1],
    layers: [{ type: "dense", units: 1, useBias: false }],
    loss: "meanSquaredError",
  };
  const deep: ModelSpec = {
    inputShape: [2],
    layers: [
      { type: "dense", units: 3, activation: "sigmoid" },
      { type: "dense", units: 2, activation: "tanh" },
      { type: "dense", units: 1 },
    ],
    loss: "meanSquaredError",
  };
  const w = (v: number) => ({ "dense_0/kernel": tensor([1, 1], [v]) });

  it.each<[string, TrainOptions, Record<string, unknown>]>([
    [
      "a dense output overflows at the starting weights (w·x = 1e300·1e10)",
      {
        model: single,
        data: { n: 1, x: Float64Array.from([1e10]), y: Float64Array.from([0]) },
        optimizer: { type: "sgd", learningRate: 0.1 },
        epochs: 3,
        seed: 0,
        initialWeights: w(1e300),
      },
      { epoch: 0, batch: 0, stage: "activation", layer: "dense_0" },
    ],
    [
      "float32: a dense output finite in double but beyond float32 (1e30·1e10 = 1e40)",
      {
        model: single,
        data: { n: 1, x: Float64Array.from([1e10]), y: Float64Array.from([0]) },
        optimizer: { type: "sgd", learningRate: 0.1 },
        epochs: 3,
        seed: 0,
        dtype: "float32",
        initialWeights: w(1e30),
      },
      { epoch: 0, batch: 0, stage: "activation", layer: "dense_0" },
    ],
    [
      "after one step: w = 1 − 1e-10·2e300 makes the next output −2e440",
      {
        model: single,
        data: { n: 2, x: Float64Array.from([1e150, 1e150]), y: Float64Array.from([0, 0]) },
        optimizer: { type: "sgd", learningRate: 1e-10 },
        epochs: 2,
        batchSize: 1,
        shuffle: false,
        seed: 0,
        initialWeights: w(1),
      },
      { epoch: 0, batch: 1, stage: "activation", layer: "dense_0" },
    ],
    [
      "the loss overflows: (w·x)² with w·x = 1e200",
      {
        model: single,
        data: { n: 1, x: Float64Array.from([1e100]), y: Float64Array.from([0]) },
        optimizer: { type: "sgd", learningRate: 0.1 },
        epochs: 3,
        seed: 0,
        initialWeights: w(1e100),
      },
      { epoch: 0, batch: 0, stage: "loss" },
    ],
    [
      "the update overflows the weight and is undone",
      {
        model: single,
        data: { n: 1, x: Float64Array.from([2]), y: Float64Array.from([2]) },
        optimizer: { type: "sgd", learningRate: 1e308 },
        epochs: 3,
        seed: 0,
        initialWeights: w(0),
      },
      { epoch: 0, batch: 0, stage: "weight", parameter: "dense_0/kernel" },
    ],
    [
      "a deeper model at a learning rate of 1e6 (float64)",
      {
        model: deep,
        data: {
          n: 6,
          x: Float64Array.from([1, 2, -1, 0.5, 3, -2, 2, 2, -3, 1, 0, 1]),
          y: Float64Array.from([1e5, -1e5, 3e5, 0, 2e5, -4e5]),
        },
        optimizer: { type: "sgd", learningRate: 1e6 },
        epochs: 50,
        batchSize: 2,
        seed: 4,
      },
      {},
    ],
    [
      "the same in float32",
      {
        model: deep,
        data: {
          n: 6,
          x: Float64Array.from([1, 2, -1, 0.5, 3, -2, 2, 2, -3, 1, 0, 1]),
          y: Float64Array.from([1e5, -1e5, 3e5, 0, 2e5, -4e5]),
        },
        optimizer: { type: "sgd", learningRate: 1e6 },
        epochs: 50,
        batchSize: 2,
        seed: 4,
        dtype: "float32",
      },
      {},
    ],
  ])("%s", (_, opts, expected) => {
    const { fused, layers } = bothPaths(opts);
    expect(fused.diverged).toBeDefined();
    expect(fused.diverged).toMatchObject(expected);
    expect(fused).toStrictEqual(layers);
  });
});
