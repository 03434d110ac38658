/**
 * Training diagnostics: gradient telemetry, NaN forensics, early stopping, exact resume.
 */
import { describe, expect, it } from "vitest";
import {
  computeGradients,
  EngineError,
  type ModelSpec,
  type NamedTensors,
  type OptimizerSpec,
  type OptimizerState,
  type TrainOptions,
  type TrainResult,
  train,
} from "../../src/engine/index.js";
import { randomBatch } from "./helpers.js";

const tensor = (shape: number[], values: number[]) => ({ shape, data: Float64Array.from(values) });

/** The EngineError `f` throws (fails when it throws nothing or something else). */
function engineError(f: () => unknown): EngineError {
  try {
    f();
  } catch (e) {
    if (e instanceof EngineError) return e;
    throw e;
  }
  throw new Error("expected an EngineError");
}

const everyFinite = (w: NamedTensors) => Object.values(w).every((t) => t.data.every(Number.isFinite));

describe("gradient telemetry", () => {
  it("is absent unless asked for", () => {
    const spec: ModelSpec = {
      inputShape: [2],
      layers: [{ type: "dense", units: 1 }],
      loss: "meanSquaredError",
    };
    const r = train({
      model: spec,
      data: randomBatch(spec, 8, 1, 1),
      optimizer: { type: "sgd", learningRate: 0.1 },
      epochs: 2,
      seed: 1,
    });
    expect(r).not.toHaveProperty("telemetry");
  });

  it("a deep sigmoid network shows vanishing gradients: the first layer's norm is 1e-4 of the last's or less", () => {
    const deep: ModelSpec = {
      inputShape: [4],
      layers: [
        ...Array.from({ length: 8 }, () => ({
          type: "dense" as const,
          units: 8,
          activation: "sigmoid" as const,
        })),
        { type: "dense", units: 1 },
      ],
      loss: "meanSquaredError",
    };
    const r = train({
      model: deep,
      data: randomBatch(deep, 64, 1, 5),
      optimizer: { type: "sgd", learningRate: 0.1 },
      epochs: 3,
      batchSize: 16,
      seed: 3,
      telemetry: true,
    });
    const norm = r.telemetry!.gradientNorm;
    expect(Object.keys(norm)).toHaveLength(18);
    for (let e = 0; e < 3; e++) {
      const first = norm["dense_0/kernel"]![e]!;
      const lastHidden = norm["dense_7/kernel"]![e]!;
      expect(first).toBeGreaterThan(0);
      expect(first / lastHidden).toBeLessThan(1e-4);
      // Each sigmoid layer multiplies the back-propagated gradient by σ' ≤ ¼ (times the weights):
      // the kernels' norms fall monotonically from the output to the input.
      for (let l = 1; l < 8; l++)
        expect(norm[`dense_${l - 1}/kernel`]![e]!).toBeLessThan(norm[`dense_${l}/kernel`]![e]!);
    }
    expect(Object.keys(r.telemetry!.activations)).toEqual(Array.from({ length: 8 }, (_, l) => `dense_${l}`));
    expect(r.telemetry!.activations["dense_0"]).toEqual({
      activation: "sigmoid",
      saturatedFraction: [0, 0, 0],
    });
  });

  it("gradientNorm is the mean over batches of each batch gradient's L2 norm", () => {
    // One weight, one sample per batch, no shuffling, lr 0: every batch gradient is known.
    const spec: ModelSpec = {
      inputShape: [1],
      layers: [{ type: "dense", units: 1, useBias: false }],
      loss: "meanSquaredError",
    };
    const r = train({
      model: spec,
      data: { n: 2, x: Float64Array.from([1, 2]), y: Float64Array.from([0, 0]) },
      optimizer: { type: "sgd", learningRate: 0 },
      epochs: 1,
      batchSize: 1,
      shuffle: false,
      seed: 0,
      telemetry: true,
      initialWeights: { "dense_0/kernel": tensor([1, 1], [3]) },
    });
    // ∂(w·x)²/∂w = 2x²w: 6 and 24, mean 15; nothing moves (lr 0).
    expect(r.telemetry!.gradientNorm["dense_0/kernel"]).toEqual([15]);
    expect(r.telemetry!.updateRatio["dense_0/kernel"]).toEqual([0]);
  });

  it("updateRatio is ‖W_end − W_start‖/‖W_start‖ over the epoch", () => {
    // The problem of docs/backprop.md §11.1 with lr 0.0625: w 0.5 → 0.75 in epoch 1 (|Δw|/|w| = 0.5), → 0.875 in epoch 2.
    const spec: ModelSpec = {
      inputShape: [1],
      layers: [{ type: "dense", units: 1, useBias: false }],
      loss: "meanSquaredError",
    };
    const r = train({
      model: spec,
      data: { n: 1, x: Float64Array.from([2]), y: Float64Array.from([2]) },
      optimizer: { type: "sgd", learningRate: 0.0625 },
      epochs: 3,
      seed: 0,
      telemetry: true,
      initialWeights: { "dense_0/kernel": tensor([1, 1], [0]) },
    });
    expect(r.telemetry!.updateRatio["dense_0/kernel"]).toEqual([null, 0.25 / 0.5, 0.125 / 0.75]);
    expect(r.telemetry!.gradientNorm["dense_0/kernel"]).toEqual([8, 4, 2]); // |8(w − 1)|
  });

  describe("a relu layer with bias −10 is dead: nothing but the output bias learns", () => {
    const spec: ModelSpec = {
      inputShape: [2],
      layers: [
        { type: "dense", units: 2, activation: "relu" },
        { type: "dense", units: 1 },
      ],
      loss: "meanSquaredError",
    };
    const data = randomBatch(spec, 20, 1, 9);
    const initial: NamedTensors = {
      "dense_0/kernel": tensor([2, 2], [0.01, -0.02, 0.03, 0.01]),
      "dense_0/bias": tensor([2], [-10, -10]),
      "dense_1/kernel": tensor([2, 1], [0.5, -0.4]),
      "dense_1/bias": tensor([1], [0]),
    };
    const r = train({
      model: spec,
      data,
      optimizer: { type: "sgd", learningRate: 0.1 },
      epochs: 3,
      batchSize: 20,
      seed: 3,
      telemetry: true,
      initialWeights: initial,
    });
    const t = r.telemetry!;

    it("every hidden gradient and the output kernel's gradient are exactly 0; dead fraction 1", () => {
      for (const key of ["dense_0/kernel", "dense_0/bias", "dense_1/kernel"]) {
        expect(
          t.gradientNorm[key]!.every((v) => v === 0),
          key,
        ).toBe(true);
        expect(t.updateRatio[key]).toEqual([0, 0, 0]);
        expect(
          r.gradients![key]!.data.every((v) => v === 0),
          key,
        ).toBe(true);
        expect(Array.from(r.weights[key]!.data)).toEqual(Array.from(initial[key]!.data));
      }
      expect(t.activations).toEqual({ dense_0: { activation: "relu", deadFraction: [1, 1, 1] } });
    });

    it("only the output bias moves: full-batch gradient descent on a constant, b_t = ȳ(1 − 0.8^t)", () => {
      const mean = data.y.reduce((s, v) => s + v, 0) / 20;
      const b = r.weights["dense_1/bias"]!.data[0]!;
      expect(b).toBeCloseTo(mean * (1 - 0.8 ** 3), 14);
      expect(t.gradientNorm["dense_1/bias"]![0]).toBeCloseTo(2 * Math.abs(mean), 14); // |2(b − ȳ)| at b = 0
      expect(t.updateRatio["dense_1/bias"]![0]).toBeNull(); // it started at 0
      expect(t.updateRatio["dense_1/bias"]![1]).toBeCloseTo(0.8, 12); // from 0.2ȳ to 0.36ȳ: 0.16/0.2
      expect(r.gradients!["dense_1/bias"]!.data[0]).toBeCloseTo(2 * (b - mean), 14);
    });

    it("a live relu unit (bias +10) is not dead; a conv2d filter counts as one unit", () => {
      const live = train({
        model: spec,
        data,
        optimizer: { type: "sgd", learningRate: 0 },
        epochs: 1,
        seed: 3,
        telemetry: true,
        initialWeights: { ...initial, "dense_0/bias": tensor([2], [10, -10]) },
      });
      expect(live.telemetry!.activations["dense_0"]!.deadFraction).toEqual([0.5]);
      const conv: ModelSpec = {
        inputShape: [3, 3, 1],
        layers: [
          { type: "conv2d", filters: 4, kernelSize: 2, activation: "relu" },
          { type: "flatten" },
          { type: "dense", units: 1 },
        ],
        loss: "meanSquaredError",
      };
      const c = train({
        model: conv,
        data: randomBatch(conv, 6, 1, 2),
        optimizer: { type: "sgd", learningRate: 0 },
        epochs: 1,
        seed: 1,
        telemetry: true,
        initialWeights: {
          "conv2d_0/kernel": tensor(
            [2, 2, 1, 4],
            Array.from({ length: 16 }, () => 0.01),
          ),
          "conv2d_0/bias": tensor([4], [-10, 10, -10, 0.05]),
          "dense_2/kernel": tensor(
            [16, 1],
            Array.from({ length: 16 }, () => 0.1),
          ),
          "dense_2/bias": tensor([1], [0]),
        },
      });
      // Filters 0 and 2 are 0 at every position of every sample; 1 and 3 are not.
      expect(c.telemetry!.activations["conv2d_0"]!.deadFraction).toEqual([0.5]);
    });
  });

  it("saturatedFraction: the share of (unit, sample) pairs within 1e-3 of an asymptote", () => {
    // One sigmoid/tanh unit, w = 10, lr 0: inputs ±1 saturate (σ(±10) within 4.5e-5 of 0 or 1,
    // tanh(±10) within 4e-9 of ±1), 0.1 does not (σ(1) = 0.73, tanh(1) = 0.76): 2 of 3.
    for (const activation of ["sigmoid", "tanh"] as const) {
      const spec: ModelSpec = {
        inputShape: [1],
        layers: [
          { type: "dense", units: 1, activation },
          { type: "dense", units: 1 },
        ],
        loss: "meanSquaredError",
      };
      const r = train({
        model: spec,
        data: { n: 3, x: Float64Array.from([1, -1, 0.1]), y: Float64Array.from([0, 0, 0]) },
        optimizer: { type: "sgd", learningRate: 0 },
        epochs: 2,
        batchSize: 2,
        seed: 0,
        telemetry: true,
        initialWeights: {
          "dense_0/kernel": tensor([1, 1], [10]),
          "dense_0/bias": tensor([1], [0]),
          "dense_1/kernel": tensor([1, 1], [1]),
          "dense_1/bias": tensor([1], [0]),
        },
      });
      expect(r.telemetry!.activations["dense_0"]).toEqual({ activation, saturatedFraction: [2 / 3, 2 / 3] });
    }
  });

  it("does not change the training: weights are bit-identical with telemetry on and off", () => {
    const spec: ModelSpec = {
      inputShape: [3],
      layers: [
        { type: "dense", units: 5, activation: "relu" },
        { type: "dense", units: 3, activation: "softmax" },
      ],
      loss: "sparseCategoricalCrossentropy",
    };
    const opts = {
      model: spec,
      data: randomBatch(spec, 50, 3, 2),
      optimizer: { type: "adam", learningRate: 0.05 } as const,
      epochs: 4,
      batchSize: 16,
      seed: 6,
    };
    const off = train(opts);
    const on = train({ ...opts, telemetry: true });
    expect(on.weightsSha256).toBe(off.weightsSha256);
    expect(on.history).toEqual(off.history);
    expect(on.telemetry!.gradientNorm["dense_0/kernel"]).toHaveLength(4);
  });
});

describe("NaN forensics", () => {
  // The problem of docs/backprop.md §11.1: x = 2, y = 2, dense 1→1 without bias, MSE; ∂L/∂w = 8(w − 1), so
  // w_{t+1} − 1 = (1 − 8η)(w_t − 1).
  const seedModel: ModelSpec = {
    inputShape: [1],
    layers: [{ type: "dense", units: 1, useBias: false }],
    loss: "meanSquaredError",
  };
  const seedRun = (optimizer: OptimizerSpec, w0: number, epochs = 1000) =>
    train({
      model: seedModel,
      data: { n: 1, x: Float64Array.from([2]), y: Float64Array.from([2]) },
      optimizer,
      epochs,
      seed: 0,
      initialWeights: { "dense_0/kernel": tensor([1, 1], [w0]) },
    });

  it("learning rate 1e6: |w − 1| grows 8e6-fold per step, the loss 4(w − 1)² overflows at epoch 23", () => {
    const r = seedRun({ type: "sgd", learningRate: 1e6 }, 0);
    // (8e6 − 1)^(2t) > 1.8e308 / 4 first at t = 23.
    expect(r.diverged).toMatchObject({ epoch: 23, batch: 0, stage: "loss" });
    expect(r.diverged!.largestUpdate!.parameter).toBe("dense_0/kernel");
    expect(r.diverged!.largestUpdate!.ratio).toBeCloseTo(8e6, 0); // |Δw|/|w| = 8e6·|w − 1|/|w|
    expect(r.diverged!.lastFiniteLoss! / (4 * (8e6 - 1) ** 44)).toBeCloseTo(1, 10);
    expect(r.diverged!.message).toMatch(
      /diverged in epoch 23 \(0-based; the 24th\), batch 0: the loss became Infinity/,
    );
    expect(r.epochsRun).toBe(23);
    expect(r.history.loss).toHaveLength(23);
    const w = r.weights["dense_0/kernel"]!.data[0]!;
    expect(Number.isFinite(w)).toBe(true);
    expect(w / (1 + (8e6 - 1) ** 23)).toBeCloseTo(1, 10); // (1 − 8e6)^23 < 0: w = 1 + (8e6 − 1)^23
    // At those weights the loss is not finite: left out and said so; the gradient 8(w − 1) is finite.
    expect(r.metrics).toEqual({});
    expect(r.nonFinite!.omitted).toEqual(["loss"]);
    expect(r.gradients!["dense_0/kernel"]!.data[0]).toBe(8 * (w - 1));
  });

  it("learning rate 1e6 on unscaled inputs (x = 1e200): the update overflows the weight, is undone and named", () => {
    // w = 1e-97: prediction 1e103, loss 1e206 and gradient 2·1e103·1e200 = 2e303 are finite; 1e6·2e303 is not.
    const r = train({
      model: seedModel,
      data: { n: 1, x: Float64Array.from([1e200]), y: Float64Array.from([0]) },
      optimizer: { type: "sgd", learningRate: 1e6 },
      epochs: 10,
      seed: 0,
      initialWeights: { "dense_0/kernel": tensor([1, 1], [1e-97]) },
    });
    expect(r.diverged).toMatchObject({
      epoch: 0,
      batch: 0,
      stage: "weight",
      layer: "dense_0",
      parameter: "dense_0/kernel",
    });
    expect(r.diverged!.lastFiniteLoss).toBeCloseTo(1e206, -194);
    expect(r.diverged!.message).toMatch(
      /the update made dense_0\/kernel -Infinity at index \[0, 0\] \(the step is undone\)/,
    );
    expect(r.weights["dense_0/kernel"]!.data[0]).toBe(1e-97);
    expect(r.metrics.loss).toBe(r.diverged!.lastFiniteLoss);
    expect(r.gradients!["dense_0/kernel"]!.data[0]).toBeCloseTo(2e303, -291);
    expect(r).not.toHaveProperty("nonFinite");
  });

  it.each<[string, OptimizerSpec]>([
    ["sgd", { type: "sgd", learningRate: 1e308 }],
    ["sgd with momentum", { type: "sgd", learningRate: 1e308, momentum: 0.9 }],
  ])(
    "%s, learning rate 1e308: the first step overflows the weight; it is undone and named",
    (_, optimizer) => {
      const r = seedRun(optimizer, 0);
      expect(r.diverged).toEqual({
        epoch: 0,
        batch: 0,
        stage: "weight",
        layer: "dense_0",
        parameter: "dense_0/kernel",
        lastFiniteLoss: 4,
        message:
          "training diverged in epoch 0 (0-based; the 1st), batch 0: the update made dense_0/kernel Infinity at index [0, 0] (the step is undone); lower the learning rate or scale the inputs",
      });
      expect(r.weights["dense_0/kernel"]!.data[0]).toBe(0);
      expect(r.metrics).toEqual({ loss: 4 });
      expect(r.gradients!["dense_0/kernel"]!.data[0]).toBe(-8);
      expect(r).not.toHaveProperty("nonFinite");
      expect(r.epochsRun).toBe(0);
    },
  );

  it("adam: a gradient whose square overflows the second moment is caught, not silently frozen", () => {
    // w = 2e153: g = 8(w − 1) = 1.6e154, g² = 2.6e308 > 1.8e308, while the loss 4(w − 1)² = 1.6e307 is finite.
    const r = seedRun({ type: "adam", learningRate: 0.001 }, 2e153);
    expect(r.diverged).toMatchObject({ epoch: 0, batch: 0, stage: "gradient", parameter: "dense_0/kernel" });
    expect(r.diverged!.message).toMatch(/too large for adam/);
    expect(r.weights["dense_0/kernel"]!.data[0]).toBe(2e153);
    expect(r.diverged!.lastFiniteLoss).toBe(4 * (2e153 - 1) ** 2);
  });

  it("a non-finite gradient under a finite loss names the parameter", () => {
    // x = 1e200, w = 1e-80: prediction 1e120, loss 1e240 (finite), ∂L/∂w = 2·1e120·1e200 = ∞.
    const r = train({
      model: seedModel,
      data: { n: 1, x: Float64Array.from([1e200]), y: Float64Array.from([0]) },
      optimizer: { type: "sgd", learningRate: 0.1 },
      epochs: 5,
      seed: 0,
      initialWeights: { "dense_0/kernel": tensor([1, 1], [1e-80]) },
    });
    expect(r.diverged).toMatchObject({
      epoch: 0,
      batch: 0,
      stage: "gradient",
      layer: "dense_0",
      parameter: "dense_0/kernel",
    });
    expect(r.diverged!.message).toMatch(/the gradient of dense_0\/kernel became Infinity at index \[0, 0\]/);
    expect(r.weights["dense_0/kernel"]!.data[0]).toBe(1e-80);
    expect(r).not.toHaveProperty("gradients");
    expect(r.nonFinite!.omitted).toEqual(["gradients"]);
    expect(r.metrics.loss).toBeCloseTo(1e240, -228);
  });

  it("an infinite pre-activation hidden by a sigmoid is caught though the loss stays finite", () => {
    // dense_0's output w·x = 1e300·1e10 = ∞; σ(∞) = 1, so the loss alone would not see it.
    const spec: ModelSpec = {
      inputShape: [1],
      layers: [
        { type: "dense", units: 1, activation: "sigmoid" },
        { type: "dense", units: 1 },
      ],
      loss: "meanSquaredError",
    };
    const r = train({
      model: spec,
      data: { n: 2, x: Float64Array.from([0.5, 1e10]), y: Float64Array.from([0, 0]) },
      optimizer: { type: "sgd", learningRate: 0.1 },
      epochs: 3,
      seed: 0,
      shuffle: false,
      initialWeights: {
        "dense_0/kernel": tensor([1, 1], [1e300]),
        "dense_0/bias": tensor([1], [0]),
        "dense_1/kernel": tensor([1, 1], [1]),
        "dense_1/bias": tensor([1], [0]),
      },
    });
    expect(r.diverged).toMatchObject({ epoch: 0, batch: 0, stage: "activation", layer: "dense_0" });
    expect(r.diverged).not.toHaveProperty("lastFiniteLoss");
    expect(r.diverged!.message).toMatch(/the output of dense_0 became Infinity at index \[1, 0\]/);
    expect(r.metrics.loss).toBe(1); // σ(∞) = σ(5e299) = 1 exactly: (1 − 0)² for both samples
  });

  it("a non-finite validation loss stops the run after the epoch, with the end-of-epoch weights", () => {
    // Train on (2, 2) with η = 0.125: w 0 → 1 in one step. The held-out sample x = 1e300 then predicts 1e300.
    const r = train({
      model: seedModel,
      data: { n: 2, x: Float64Array.from([2, 1e300]), y: Float64Array.from([2, 0]) },
      optimizer: { type: "sgd", learningRate: 0.125 },
      epochs: 5,
      seed: 0,
      validationSplit: 0.5,
      initialWeights: { "dense_0/kernel": tensor([1, 1], [0]) },
    });
    expect(r.diverged).toMatchObject({ epoch: 0, batch: 0, stage: "valLoss", lastFiniteLoss: 4 });
    expect(r.weights["dense_0/kernel"]!.data[0]).toBe(1);
    expect(r.epochsRun).toBe(0);
    expect(r.history).toEqual({ loss: [], valLoss: [], distanceToOptimum: [] });
    expect(r.metrics).toEqual({ loss: 0 });
    expect(r.nonFinite!.omitted).toEqual(["valLoss"]);
  });

  it.each<[string, ModelSpec]>([
    [
      "relu + MSE",
      {
        inputShape: [3],
        layers: [
          { type: "dense", units: 8, activation: "relu" },
          { type: "dense", units: 2 },
        ],
        loss: "meanSquaredError",
      },
    ],
    [
      "relu + sigmoid/binary cross-entropy",
      {
        inputShape: [3],
        layers: [
          { type: "dense", units: 8, activation: "relu" },
          { type: "dense", units: 1, activation: "sigmoid" },
        ],
        loss: "binaryCrossentropy",
      },
    ],
    [
      "deep tanh + MSE",
      {
        inputShape: [3],
        layers: [
          { type: "dense", units: 4, activation: "tanh" },
          { type: "dense", units: 4, activation: "tanh" },
          { type: "dense", units: 1 },
        ],
        loss: "meanSquaredError",
      },
    ],
  ])("%s at learning rate 1e6: stops with every returned number finite", (_, spec) => {
    const out = (spec.layers[spec.layers.length - 1] as { units: number }).units;
    for (const momentum of [0, 0.9]) {
      const r = train({
        model: spec,
        data: randomBatch(spec, 40, out, 3),
        optimizer: { type: "sgd", learningRate: 1e6, momentum },
        epochs: 200,
        batchSize: 8,
        seed: 1,
        validationSplit: 0.2,
        telemetry: true,
      });
      expect(r.diverged).toBeDefined();
      expect(r.diverged!.epoch).toBeLessThan(20);
      expect(everyFinite(r.weights)).toBe(true);
      if (r.gradients) expect(everyFinite(r.gradients)).toBe(true);
      expect(Object.values(r.metrics).every(Number.isFinite)).toBe(true);
      expect(Object.values(r.history).every((h: number[]) => h.every(Number.isFinite))).toBe(true);
      const t = r.telemetry!;
      for (const series of [...Object.values(t.gradientNorm), ...Object.values(t.updateRatio)])
        expect(series.every((v) => v === null || Number.isFinite(v))).toBe(true);
      expect(JSON.stringify(r)).not.toMatch(/NaN|Infinity"/);
    }
  });

  it("with returnOptimizerState a diverged run returns no state (it could not continue)", () => {
    const r = train({
      model: seedModel,
      data: { n: 1, x: Float64Array.from([2]), y: Float64Array.from([2]) },
      optimizer: { type: "sgd", learningRate: 1e308 },
      epochs: 3,
      seed: 0,
      returnOptimizerState: true,
    });
    expect(r.diverged?.stage).toBe("weight");
    expect(r).not.toHaveProperty("optimizerState");
  });
});

describe("early stopping (Keras' EarlyStopping)", () => {
  // Train on (x = 2, y = 2) with η = 0.0625: w = 0.5, 0.75, 0.875, … → 1. Validation sample
  // (x = 1, y = 0.6): valLoss (w − 0.6)² is best after the first epoch (0.01), then rises.
  const model: ModelSpec = {
    inputShape: [1],
    layers: [{ type: "dense", units: 1, useBias: false }],
    loss: "meanSquaredError",
  };
  const base: TrainOptions = {
    model,
    data: { n: 2, x: Float64Array.from([2, 1]), y: Float64Array.from([2, 0.6]) },
    optimizer: { type: "sgd", learningRate: 0.0625 },
    epochs: 20,
    seed: 0,
    validationSplit: 0.5,
    initialWeights: { "dense_0/kernel": tensor([1, 1], [0]) },
  };

  it("stops when valLoss has not improved for `patience` epochs and restores the best epoch's weights", () => {
    const r = train({
      ...base,
      earlyStopping: { monitor: "valLoss", patience: 2, restoreBestWeights: true },
    });
    expect(r.history.valLoss).toEqual([(0.5 - 0.6) ** 2, (0.75 - 0.6) ** 2, (0.875 - 0.6) ** 2]);
    expect(r).toMatchObject({ bestEpoch: 0, stoppedEpoch: 2, epochsRun: 3, stoppedEarly: true });
    expect(r.weights["dense_0/kernel"]!.data[0]).toBe(0.5);
    expect(r.metrics.valLoss).toBe(r.history.valLoss![0]);
    expect(r.metrics.loss).toBe(1); // (2·0.5 − 2)²
  });

  it("without restoreBestWeights the last weights are returned", () => {
    const r = train({ ...base, earlyStopping: { monitor: "valLoss", patience: 2 } });
    expect(r).toMatchObject({ bestEpoch: 0, stoppedEpoch: 2 });
    expect(r.weights["dense_0/kernel"]!.data[0]).toBe(0.875);
  });

  it("patience 0 stops after the first epoch that does not improve (never after the first epoch)", () => {
    const r = train({ ...base, earlyStopping: { monitor: "valLoss" } });
    expect(r).toMatchObject({ bestEpoch: 0, stoppedEpoch: 1, epochsRun: 2 });
  });

  it("minDelta: an improvement must beat the best by more than it", () => {
    // The training loss (2w − 2)² is 4, 1, 0.25, 0.0625, 0.015625: it falls by 3, 0.75, 0.1875, then
    // 0.047 — minDelta 0.1 accepts the first three falls only, and patience 1 stops at the fourth.
    const r = train({
      ...base,
      data: { n: 1, x: Float64Array.from([2]), y: Float64Array.from([2]) },
      validationSplit: 0,
      earlyStopping: { monitor: "loss", patience: 1, minDelta: 0.1 },
    });
    expect(r.history.loss).toEqual([4, 1, 0.25, 0.0625, 0.015625]);
    expect(r).toMatchObject({ bestEpoch: 3, stoppedEpoch: 4, epochsRun: 5 });
  });

  it("restores the best weights on a realistic over-fitting run: metrics equal the best epoch's valLoss", () => {
    const spec: ModelSpec = {
      inputShape: [4],
      layers: [
        { type: "dense", units: 32, activation: "tanh" },
        { type: "dense", units: 1 },
      ],
      loss: "meanSquaredError",
    };
    const data = randomBatch(spec, 40, 1, 17); // targets are noise: validation can only get worse
    const r = train({
      model: spec,
      data,
      optimizer: { type: "adam", learningRate: 0.02 },
      epochs: 200,
      batchSize: 8,
      seed: 2,
      validationSplit: 0.25,
      earlyStopping: { monitor: "valLoss", patience: 5, restoreBestWeights: true },
    });
    const val = r.history.valLoss!;
    const best = val.indexOf(Math.min(...val));
    expect(r.bestEpoch).toBe(best);
    expect(r.stoppedEpoch).toBe(best + 5);
    expect(r.epochsRun).toBe(best + 6);
    expect(r.metrics.valLoss).toBe(val[best]);
    // and the returned weights really are those: evaluate them independently
    const held = computeGradients({
      model: spec,
      seed: 0,
      weights: r.weights,
      data: { n: 10, x: data.x.subarray(30 * 4), y: data.y.subarray(30) },
    });
    expect(held.loss).toBeCloseTo(val[best]!, 14);
  });

  it("monitor valLoss without validation data is an error at [earlyStopping, monitor]", () => {
    const e = engineError(() =>
      train({ ...base, validationSplit: 0, earlyStopping: { monitor: "valLoss", patience: 1 } }),
    );
    expect(e.path).toEqual(["earlyStopping", "monitor"]);
    expect(e.message).toMatch(/validationSplit/);
    expect(
      engineError(() => train({ ...base, earlyStopping: { monitor: "loss", patience: 1.5 } })).path,
    ).toEqual(["earlyStopping", "patience"]);
  });
});

describe("resume: a runs then b more equals a + b at once, bit for bit", () => {
  const spec: ModelSpec = {
    inputShape: [3],
    layers: [
      { type: "dense", units: 6, activation: "tanh" },
      { type: "dense", units: 3, activation: "softmax" },
    ],
    loss: "categoricalCrossentropy",
  };
  // 37 samples, 29 train after the split: batches of 8 do not divide them; shuffling on.
  const data = randomBatch(spec, 37, 3, 23);
  const common = { model: spec, data, batchSize: 8, seed: 99, validationSplit: 0.2 };

  const continueRun = (optimizer: OptimizerSpec, a: number, b: number) => {
    const first = train({ ...common, optimizer, epochs: a, returnOptimizerState: true });
    const seen: number[] = [];
    const second = train({
      ...common,
      optimizer,
      epochs: b,
      returnOptimizerState: true,
      initialWeights: first.weights,
      optimizerState: first.optimizerState!,
      onEpochEnd: (l) => {
        seen.push(l.epoch);
        return undefined;
      },
    });
    return { first, second, seen };
  };

  it.each<[string, OptimizerSpec]>([
    ["sgd", { type: "sgd", learningRate: 0.3 }],
    ["sgd with momentum", { type: "sgd", learningRate: 0.1, momentum: 0.9 }],
    ["adam", { type: "adam", learningRate: 0.01 }],
    [
      "adam with a cosine schedule",
      {
        type: "adam",
        learningRate: { type: "cosineDecay", initialLearningRate: 0.02, decaySteps: 50, alpha: 0.1 },
      },
    ],
    [
      "sgd with momentum and a staircase schedule",
      {
        type: "sgd",
        momentum: 0.5,
        learningRate: {
          type: "exponentialDecay",
          initialLearningRate: 0.3,
          decaySteps: 7,
          decayRate: 0.8,
          staircase: true,
        },
      },
    ],
  ])("%s", (_, optimizer) => {
    const whole = train({ ...common, optimizer, epochs: 20, returnOptimizerState: true });
    const { first, second, seen } = continueRun(optimizer, 10, 10);
    expect(second.weightsSha256).toBe(whole.weightsSha256);
    for (const k of Object.keys(whole.weights))
      expect(Array.from(second.weights[k]!.data)).toEqual(Array.from(whole.weights[k]!.data));
    expect([...first.history.loss, ...second.history.loss]).toEqual(whole.history.loss);
    expect([...first.history.valLoss!, ...second.history.valLoss!]).toEqual(whole.history.valLoss);
    expect(second.optimizerState).toEqual(whole.optimizerState);
    expect(second.initialEpoch).toBe(10);
    expect(seen).toEqual([10, 11, 12, 13, 14, 15, 16, 17, 18, 19]);
    // 29 samples in batches of 8: 4 updates per epoch.
    expect(first.optimizerState!.iterations).toBe(40);
    expect(whole.optimizerState).toMatchObject({ iterations: 80, epochsCompleted: 20 });
  });

  it("and an uneven split (3 + 14) too, through a JSON round trip of the state", () => {
    const optimizer: OptimizerSpec = { type: "adam", learningRate: 0.01 };
    const whole = train({ ...common, optimizer, epochs: 17 });
    const first = train({ ...common, optimizer, epochs: 3, returnOptimizerState: true });
    const s = first.optimizerState!;
    const revive = (t: NamedTensors | undefined) =>
      t &&
      Object.fromEntries(
        Object.entries(t).map(([k, v]) => [
          k,
          { shape: v.shape, data: Float64Array.from(JSON.parse(JSON.stringify(Array.from(v.data)))) },
        ]),
      );
    const state: OptimizerState = { ...JSON.parse(JSON.stringify(s)), m: revive(s.m), v: revive(s.v) };
    const second = train({
      ...common,
      optimizer,
      epochs: 14,
      initialWeights: first.weights,
      optimizerState: state,
    });
    expect(second.weightsSha256).toBe(whole.weightsSha256);
  });

  it("the state of the restored best epoch continues exactly from the best weights", () => {
    const optimizer: OptimizerSpec = { type: "sgd", learningRate: 0.5, momentum: 0.9 };
    const early = { monitor: "valLoss" as const, patience: 3 };
    const restored = train({
      ...common,
      optimizer,
      epochs: 200,
      returnOptimizerState: true,
      earlyStopping: { ...early, restoreBestWeights: true },
    });
    const last = train({ ...common, optimizer, epochs: 200, earlyStopping: early });
    expect(restored.stoppedEpoch).toBeDefined();
    expect(restored.optimizerState!.epochsCompleted).toBe(restored.bestEpoch! + 1);
    const rerun = train({
      ...common,
      optimizer,
      epochs: restored.stoppedEpoch! - restored.bestEpoch!,
      initialWeights: restored.weights,
      optimizerState: restored.optimizerState!,
    });
    expect(rerun.weightsSha256).toBe(last.weightsSha256);
  });

  describe("a state that does not fit is an error naming the field", () => {
    const optimizer: OptimizerSpec = { type: "adam", learningRate: 0.01 };
    const first = train({ ...common, optimizer, epochs: 1, returnOptimizerState: true });
    const state = first.optimizerState!;
    const resume =
      (s: unknown, extra: Partial<TrainOptions> = {}) =>
      () =>
        train({
          ...common,
          optimizer,
          epochs: 1,
          initialWeights: first.weights,
          optimizerState: s as OptimizerState,
          ...extra,
        });
    const key = "dense_0/kernel";
    it.each<[string, () => unknown, (string | number)[]]>([
      [
        "another optimiser",
        resume(state, { optimizer: { type: "sgd", learningRate: 0.1 } }),
        ["optimizerState", "type"],
      ],
      [
        "no initialWeights",
        () => train({ ...common, optimizer, epochs: 1, optimizerState: state }),
        ["optimizerState"],
      ],
      ["a missing slot", resume({ ...state, v: undefined }), ["optimizerState", "v"]],
      ["a foreign slot", resume({ ...state, velocity: state.m }), ["optimizerState", "velocity"]],
      [
        "a wrong shape",
        resume({
          ...state,
          m: {
            ...state.m,
            [key]: tensor(
              [6, 3],
              Array.from({ length: 18 }, () => 0),
            ),
          },
        }),
        ["optimizerState", "m", key],
      ],
      [
        "a negative second moment",
        resume({
          ...state,
          v: {
            ...state.v,
            [key]: tensor(
              [3, 6],
              Array.from({ length: 18 }, () => -1),
            ),
          },
        }),
        ["optimizerState", "v", key],
      ],
      [
        "a fractional iteration count",
        resume({ ...state, iterations: 1.5 }),
        ["optimizerState", "iterations"],
      ],
      [
        "an all-zero generator",
        resume({ ...state, shuffleRng: [0, 0, 0, 0] }),
        ["optimizerState", "shuffleRng"],
      ],
      ["another data size", resume(state, { validationSplit: 0.5 }), ["optimizerState", "shuffleOrder"]],
      [
        "an order that is not a permutation",
        resume({ ...state, shuffleOrder: state.shuffleOrder.map(() => 0) }),
        ["optimizerState", "shuffleOrder"],
      ],
    ])("%s", (_, run, path) => {
      expect(engineError(run).path).toEqual(path);
    });
  });
});

describe("result shape", () => {
  it("opt-in fields are absent when not asked for", () => {
    const spec: ModelSpec = {
      inputShape: [2],
      layers: [
        { type: "dense", units: 2, activation: "relu" },
        { type: "dense", units: 1 },
      ],
      loss: "meanSquaredError",
    };
    const r: TrainResult = train({
      model: spec,
      data: randomBatch(spec, 10, 1, 3),
      optimizer: { type: "sgd", learningRate: 0.01 },
      epochs: 2,
      seed: 4,
    });
    for (const field of [
      "telemetry",
      "optimizerState",
      "stoppedEpoch",
      "bestEpoch",
      "diverged",
      "nonFinite",
      "stoppedEarly",
    ])
      expect(r, field).not.toHaveProperty(field);
    expect(r.initialEpoch).toBe(0);
  });
});
