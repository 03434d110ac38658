/**
 * The training loop: optimisers against TensorFlow.js, determinism, validation, divergence.
 */
import * as tf from "@tensorflow/tfjs";
import { describe, expect, it } from "vitest";
import {
  computeGradients,
  describeModel,
  initWeights,
  type ModelSpec,
  type OptimizerSpec,
  train,
} from "../../src/engine/index.js";
import { randomBatch } from "./helpers.js";
import { maxRelativeError, tfjsSteps } from "./tfjs-reference.js";

const mlp: ModelSpec = {
  inputShape: [3],
  layers: [
    { type: "dense", units: 4, activation: "tanh" },
    { type: "dense", units: 2, activation: "softmax" },
  ],
  loss: "categoricalCrossentropy",
};

describe("optimisers step as TensorFlow.js does", () => {
  const batch = randomBatch(mlp, 6, 2, 21);
  const start = initWeights(mlp, 4);
  const cases: { name: string; ours: OptimizerSpec; theirs: () => tf.Optimizer }[] = [
    { name: "sgd", ours: { type: "sgd", learningRate: 0.5 }, theirs: () => tf.train.sgd(0.5) },
    {
      name: "sgd with momentum",
      ours: { type: "sgd", learningRate: 0.1, momentum: 0.9 },
      theirs: () => tf.train.momentum(0.1, 0.9),
    },
    { name: "adam", ours: { type: "adam", learningRate: 0.05 }, theirs: () => tf.train.adam(0.05) },
    {
      name: "adam with custom betas",
      ours: { type: "adam", learningRate: 0.02, beta1: 0.8, beta2: 0.99, epsilon: 1e-4 },
      theirs: () => tf.train.adam(0.02, 0.8, 0.99, 1e-4),
    },
  ];
  it.each(cases)("$name: 5 full-batch steps give the same weights", async ({ ours, theirs }) => {
    const r = train({
      model: mlp,
      data: batch,
      optimizer: ours,
      epochs: 5,
      batchSize: 6,
      shuffle: false,
      seed: 0,
      initialWeights: start,
    });
    const ref = (await tfjsSteps(mlp, start, batch, theirs(), 5)).weights;
    for (const key of Object.keys(start)) {
      // Floor 1e-2: a weight that crosses zero has no relative scale of its own; the steps are ~1e-2.
      // Adam's tolerance is wider: tfjs forms 1 − β2^t in float32 (1 − 0.999 is off by 1.3e-5
      // there), and m̂/√v̂ amplifies float32 gradient noise where a gradient is small.
      const tolerance = ours.type === "adam" ? 5e-4 : 1e-4;
      expect(maxRelativeError(r.weights[key]!.data, ref[key]!, 1e-2), key).toBeLessThan(tolerance);
      // and the weights did move
      expect(maxRelativeError(r.weights[key]!.data, start[key]!.data)).toBeGreaterThan(1e-3);
    }
  });
});

describe("sgd on one sample x = 2, y = 2, dense 1→1 without bias from w = 0 (∂L/∂w = 8(w − 1))", () => {
  const model: ModelSpec = {
    inputShape: [1],
    layers: [{ type: "dense", units: 1, useBias: false }],
    loss: "meanSquaredError",
  };
  const run = (learningRate: number, epochs: number) =>
    train({
      model,
      data: { n: 1, x: Float64Array.from([2]), y: Float64Array.from([2]) },
      optimizer: { type: "sgd", learningRate },
      epochs,
      seed: 0,
      initialWeights: { "dense_0/kernel": { shape: [1, 1], data: Float64Array.from([0]) } },
    });
  it("learning rate 0.125 converges in one step", () => {
    const r = run(0.125, 3);
    expect(r.weights["dense_0/kernel"]!.data[0]).toBe(1);
    expect(r.history.loss).toEqual([4, 0, 0]);
  });
  it("learning rate 0.25 oscillates between 2 and 0", () => {
    const r = run(0.25, 4);
    expect(r.history.loss).toEqual([4, 4, 4, 4]);
    expect(r.weights["dense_0/kernel"]!.data[0]).toBe(0); // 0 → 2 → 0 → 2 → 0
    expect(run(0.25, 3).weights["dense_0/kernel"]!.data[0]).toBe(2);
  });
  it("learning rate 0.5 diverges: a defined answer, finite weights", () => {
    const r = run(0.5, 2000);
    expect(r.diverged).toBeDefined();
    expect(r.diverged!.message).toMatch(/diverged in epoch \d+ \(0-based; the \d+(st|nd|rd|th)\), batch \d+/);
    expect(r.epochsRun).toBe(r.diverged!.epoch);
    expect(r.history.loss.length).toBe(r.epochsRun);
    expect(r.history.loss.every(Number.isFinite)).toBe(true);
    expect(Number.isFinite(r.weights["dense_0/kernel"]!.data[0]!)).toBe(true);
    // w_{t+1} = w_t − 0.5·8(w_t − 1) = 4 − 3w_t: |w − 1| triples every step.
    expect(r.history.loss[1]! / r.history.loss[0]!).toBeCloseTo(9, 10);
  });

  it("learning rate 0.5: the forensics name the epoch where the loss 4·9^t overflows, and the weight", () => {
    const r = run(0.5, 2000);
    // w_t − 1 = −(−3)^t, loss_t = (2w_t − 2)² = 4·9^t: 4·9^322 = 7.4e307 is the last below 1.8e308.
    expect(r.diverged).toMatchObject({ epoch: 323, batch: 0, stage: "loss" });
    expect(r.diverged).not.toHaveProperty("parameter"); // nothing non-finite in a parameter
    expect(r.diverged!.lastFiniteLoss! / (4 * 9 ** 322)).toBeCloseTo(1, 12);
    // the step before it turned w into 4 − 3w: |Δw|/|w| = |4 − 4w|/|w| → 4
    expect(r.diverged!.largestUpdate).toEqual({ parameter: "dense_0/kernel", ratio: 4 });
    const w = r.weights["dense_0/kernel"]!.data[0]!;
    expect(w / 3 ** 323).toBeCloseTo(1, 12); // w_323 = 1 + 3^323 = 1.29e154
    // at these weights the loss is infinite (left out, and said so); the gradient 8(w − 1) ≈ 1e155 is not
    expect(r.metrics).toEqual({});
    expect(r.nonFinite!.omitted).toEqual(["loss"]);
    expect(r.gradients!["dense_0/kernel"]!.data[0]).toBe(8 * (w - 1));
  });

  it("learning rates 0.125 and 0.25 never diverge", () => {
    for (const lr of [0.125, 0.25]) {
      const r = run(lr, 50);
      expect(r).not.toHaveProperty("diverged");
      expect(r).not.toHaveProperty("nonFinite");
      expect(r.metrics.loss).toBe(lr === 0.125 ? 0 : 4);
    }
  });
});

describe("training", () => {
  const data = randomBatch(mlp, 40, 2, 8);
  const opts = {
    model: mlp,
    data,
    optimizer: { type: "adam", learningRate: 0.01 } as const,
    epochs: 7,
    batchSize: 8,
    seed: 77,
  };

  it("is bit-identical for the same seed, and differs for another", () => {
    const a = train(opts);
    const b = train(opts);
    expect(b.history).toEqual(a.history);
    for (const k of Object.keys(a.weights)) {
      expect(Array.from(b.weights[k]!.data)).toEqual(Array.from(a.weights[k]!.data));
      expect(Array.from(b.gradients![k]!.data)).toEqual(Array.from(a.gradients![k]!.data));
    }
    const c = train({ ...opts, seed: 78 });
    expect(c.history.loss).not.toEqual(a.history.loss);
  });

  it("reports the gradient of the mean loss over the training set at the final weights", () => {
    const r = train({ ...opts, validationSplit: 0.25 });
    const check = computeGradients({
      model: mlp,
      seed: 0,
      weights: r.weights,
      data: { n: 30, x: data.x.subarray(0, 30 * 3), y: data.y.subarray(0, 30 * 2) },
    });
    expect(r.metrics.loss).toBeCloseTo(check.loss, 12);
    for (const k of Object.keys(r.weights))
      expect(maxRelativeError(r.gradients![k]!.data, check.gradients[k]!.data, 1e-12)).toBeLessThan(1e-10);
  });

  it("holds out the last samples for validation, as Keras", () => {
    const r = train({ ...opts, validationSplit: 0.25 });
    expect(r.history.valLoss).toHaveLength(7);
    expect(r.history.valAccuracy).toHaveLength(7);
    const held = computeGradients({
      model: mlp,
      seed: 0,
      weights: r.weights,
      data: { n: 10, x: data.x.subarray(30 * 3), y: data.y.subarray(30 * 2) },
    });
    expect(r.metrics.valLoss).toBeCloseTo(held.loss, 12);
    expect(r.history.valLoss![6]).toBeCloseTo(held.loss, 12);
  });

  it("clamps a batch larger than the data set (Keras) and gives the full-batch result", () => {
    const big = train({ ...opts, batchSize: 1000, shuffle: false });
    const exact = train({ ...opts, batchSize: 40, shuffle: false });
    expect(big.history).toEqual(exact.history);
  });

  it("stops when onEpochEnd returns false", () => {
    const seen: number[] = [];
    const r = train({
      ...opts,
      onEpochEnd: (l) => {
        seen.push(l.epoch);
        return l.epoch < 2;
      },
    });
    expect(seen).toEqual([0, 1, 2]);
    expect(r.epochsRun).toBe(3);
    expect(r.stoppedEarly).toBe(true);
  });

  it("rejects a validationSplit that leaves nothing to train on", () => {
    expect(() => train({ ...opts, data: randomBatch(mlp, 1, 2, 1), validationSplit: 0.5 })).toThrow(
      /leaves no training samples/,
    );
  });
});

describe("model checks", () => {
  it("a cross-entropy on an output that is not probabilities is an EngineError at loss", () => {
    for (const [loss, activation] of [
      ["categoricalCrossentropy", "linear"],
      ["sparseCategoricalCrossentropy", "relu"],
      ["binaryCrossentropy", "tanh"],
    ] as const)
      expect(() =>
        describeModel({ inputShape: [2], layers: [{ type: "dense", units: 2, activation }], loss }),
      ).toThrow(
        expect.objectContaining({ path: ["loss"], message: expect.stringMatching(/needs probabilities/) }),
      );
  });

  it("counts the forward work of every layer (multiply-adds, comparisons, element operations)", () => {
    const s = describeModel({
      inputShape: [6, 6, 1],
      layers: [
        { type: "conv2d", filters: 2, kernelSize: 3, activation: "relu" }, // 4×4×2 out
        { type: "maxPooling2d", poolSize: 2 }, // 2×2×2 out
        { type: "flatten" },
        { type: "dense", units: 3, activation: "softmax" },
      ],
      loss: "sparseCategoricalCrossentropy",
    });
    const conv = 16 * 9 * (2 + 1) + 16 * 2; // product + im2col copy, + bias
    const relu = 32;
    const pool = 8 * 4;
    const dense = 8 * 3 + 3;
    const softmax = 3 * 3;
    expect(s.forwardCost).toBe(conv + relu + pool + dense + softmax);
  });
});
