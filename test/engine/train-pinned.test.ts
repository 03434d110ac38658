/**
 * Pinned results of whole `train()` runs: the digest of the weights and of everything else the
 * result carries (history, metrics, gradients, confusion matrices). Work on the training loop's
 * bookkeeping (batch copies, NaN checks, metrics, the final pass) must leave these bit for bit; a
 * change of the numerics bumps ENGINE_VERSION and these values with it.
 */
import { describe, expect, it } from "vitest";
import { weightsSha256 } from "../../src/engine/fingerprint.js";
import { type ModelSpec, type TrainOptions, train } from "../../src/engine/index.js";
import { sha256Hex } from "../../src/engine/sha256.js";
import { randomBatch } from "./helpers.js";

const mlp: ModelSpec = {
  inputShape: [12],
  layers: [
    { type: "dense", units: 16, activation: "relu" },
    { type: "dense", units: 4, activation: "softmax" },
  ],
  loss: "categoricalCrossentropy",
};

/** Digest of the result's numbers besides the weights, each written with all its bits (JSON keeps a double exactly). */
function restSha256(r: ReturnType<typeof train>): string {
  return sha256Hex(
    JSON.stringify({
      history: r.history,
      metrics: r.metrics,
      gradients: r.gradients && weightsSha256(r.gradients),
      confusionMatrix: r.confusionMatrix,
      epochsRun: r.epochsRun,
    }),
  );
}

describe("pinned train() results", () => {
  const data = randomBatch(mlp, 150, 4, 21);
  const base: TrainOptions = {
    model: mlp,
    data,
    optimizer: { type: "sgd", learningRate: 0.1, momentum: 0.9 },
    epochs: 6,
    batchSize: 16,
    seed: 5,
    validationSplit: 0.2,
    metrics: ["accuracy", "precision", "recall", "auc"],
  };

  it("a shuffled multi-epoch MLP run with validation, metrics and a last short batch", () => {
    const r = train(base);
    expect(r.epochsRun).toBe(6);
    expect(r.history.loss).toHaveLength(6);
    expect(r.history.valPrecision).toHaveLength(6);
    expect(r.weightsSha256).toBe("9653c106a7176c82091a30dd50b6422c66412d73af78a7058f2493c5493cfc2a");
    expect(restSha256(r)).toBe("6f6fd79b0ec2c35d2ca36e61254c14b702a2544156e60551ac3d079569c99482");
  });

  it("the same run with sample weights and adam, unshuffled", () => {
    const sampleWeight = Float64Array.from({ length: data.n }, (_, i) => 0.5 + (i % 3) / 2);
    const r = train({
      ...base,
      optimizer: { type: "adam", learningRate: 0.01 },
      shuffle: false,
      sampleWeight,
    });
    expect(r.weightsSha256).toBe("61724f3470d124a1eb4f06bba6f86cae839097f8a092f73ded3ec45feb632d36");
    expect(restSha256(r)).toBe("72ff87b140660c6499b26c20da88e03a666b4c71e67317e23b679ff098e6c985");
  });
});
