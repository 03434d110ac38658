/**
 * Training with batchNormalization and layerNormalization (docs/backprop.md §19.3): the moving
 * statistics travel in the weights (10 + 10 epochs = 20 bit for bit), early stopping restores them,
 * telemetry runs, and NaN forensics names a normalisation layer whose statistics overflow.
 */
import { describe, expect, it } from "vitest";
import { initWeights, type ModelSpec, type TrainOptions, train } from "../../src/engine/index.js";
import { randomBatch } from "./helpers.js";

const model: ModelSpec = {
  inputShape: [4, 4, 1],
  layers: [
    { type: "conv2d", filters: 3, kernelSize: 2, useBias: false },
    { type: "batchNormalization", name: "bn", momentum: 0.8 },
    { type: "activation", activation: "relu" },
    { type: "flatten" },
    { type: "dense", units: 4, activation: "tanh" },
    { type: "layerNormalization", name: "ln" },
    { type: "dense", units: 2, activation: "softmax" },
  ],
  loss: "categoricalCrossentropy",
};
const data = randomBatch(model, 21, 2, 4);

const base: TrainOptions = {
  model,
  data,
  optimizer: { type: "adam", learningRate: 0.01 },
  epochs: 10,
  batchSize: 4,
  seed: 6,
};

const bits = (a: ArrayLike<number> & ArrayBufferView) =>
  Array.from(new BigUint64Array(a.buffer, a.byteOffset, a.length));

describe("batch and layer normalisation in training", () => {
  it("10 epochs, then 10 from the returned weights and optimizerState, equal 20 at once bit for bit", () => {
    const initial = initWeights(model, 6);
    const all = train({ ...base, epochs: 20, initialWeights: initial });
    const first = train({ ...base, initialWeights: initial, returnOptimizerState: true });
    const second = train({
      ...base,
      initialWeights: first.weights,
      optimizerState: first.optimizerState!,
    });
    expect(Object.keys(all.weights)).toContain("bn/moving_variance");
    for (const key of Object.keys(all.weights))
      expect(bits(second.weights[key]!.data), key).toEqual(bits(all.weights[key]!.data));
    expect(second.history.loss).toEqual(all.history.loss.slice(10));
    // The moving statistics moved from their initial zeros and ones.
    expect(Array.from(all.weights["bn/moving_mean"]!.data).some((v) => v !== 0)).toBe(true);
    expect(Array.from(all.weights["bn/moving_variance"]!.data).some((v) => v !== 1)).toBe(true);
    // Gradients are those of the trainable weights only.
    expect(Object.keys(all.gradients!)).not.toContain("bn/moving_mean");
    expect(Object.keys(all.gradients!)).toContain("bn/gamma");
  });

  it("the same request gives bit-identical weights", () => {
    const a = train(base);
    const b = train(base);
    for (const key of Object.keys(a.weights))
      expect(bits(b.weights[key]!.data)).toEqual(bits(a.weights[key]!.data));
  });

  it("early stopping's restoreBestWeights restores the moving statistics of the best epoch", () => {
    // minDelta 100: only the first epoch improves, so epoch 0 is best and the run stops after epoch 2.
    const stopped = train({
      ...base,
      earlyStopping: { monitor: "loss", patience: 2, minDelta: 100, restoreBestWeights: true },
    });
    expect(stopped.bestEpoch).toBe(0);
    expect(stopped.epochsRun).toBe(3);
    const one = train({ ...base, epochs: 1 });
    for (const key of Object.keys(one.weights))
      expect(bits(stopped.weights[key]!.data), key).toEqual(bits(one.weights[key]!.data));
    // Without the restore, the moving statistics are the last epoch's.
    const three = train({ ...base, epochs: 3 });
    expect(bits(three.weights["bn/moving_mean"]!.data)).not.toEqual(
      bits(one.weights["bn/moving_mean"]!.data),
    );
  });

  it("telemetry reports the normalisation parameters", () => {
    const r = train({ ...base, epochs: 2, telemetry: true });
    expect(JSON.stringify(r.telemetry)).toContain("bn/gamma");
    expect(JSON.stringify(r.telemetry)).toContain("ln/beta");
  });

  it("NaN forensics names a batch normalisation layer whose statistics overflow", () => {
    const spec: ModelSpec = {
      inputShape: [2],
      layers: [
        { type: "batchNormalization", name: "bn" },
        { type: "dense", units: 1 },
      ],
      loss: "meanSquaredError",
    };
    const x = Float64Array.from([1e300, 1, -1e300, 2, 1e300, 3, -1e300, 4]);
    const r = train({
      model: spec,
      data: { n: 4, x, y: Float64Array.from([1, 2, 3, 4]) },
      optimizer: { type: "sgd", learningRate: 0.1 },
      epochs: 1,
      batchSize: 4,
      seed: 1,
      shuffle: false,
    });
    expect(r.diverged?.stage).toBe("activation");
    expect(r.diverged?.layer).toBe("bn");
    // The weights returned are finite: the moving statistics were not updated with the overflow.
    expect(Array.from(r.weights["bn/moving_variance"]!.data).every(Number.isFinite)).toBe(true);
  });
});
