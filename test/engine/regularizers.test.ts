/** Regularisers and constraints (docs/backprop.md §16.2, §16.3). */
import * as tf from "@tensorflow/tfjs";
import { describe, expect, it } from "vitest";
import {
  computeGradients,
  EngineError,
  initWeights,
  type ModelSpec,
  type NamedTensors,
  train,
} from "../../src/engine/index.js";
import { Model } from "../../src/engine/model.js";
import { applyConstraint, bindConstraint } from "../../src/engine/regularizers.js";
import { expectGradientsMatch, randomBatch } from "./helpers.js";
import { maxRelativeError, tfReady } from "./tfjs-reference.js";

const bias = { type: "randomUniform", minval: 0.1, maxval: 0.5 } as const;

const mlp: ModelSpec = {
  inputShape: [4],
  layers: [
    { type: "dense", units: 5, activation: "tanh" },
    {
      type: "dense",
      units: 4,
      activation: "tanh",
      biasInitializer: bias,
      kernelRegularizer: { l1: 0.01, l2: 0.02 },
      biasRegularizer: { l1: 0.05, l2: 0.03 },
      activityRegularizer: { l1: 0.05, l2: 0.1 },
    },
    {
      type: "dense",
      units: 3,
      activation: "softmax",
      kernelRegularizer: { l2: 0.2 },
      activityRegularizer: { l1: 0.01, l2: 0.2 },
    },
  ],
  loss: "sparseCategoricalCrossentropy",
};

describe("gradient check of the penalised loss", () => {
  it("dense: kernel, bias and activity penalties, through a fused softmax output", () => {
    expectGradientsMatch(mlp, randomBatch(mlp, 3, 3, 1), { tolerance: 1e-7 });
  });

  it("dense: activity penalty on a sigmoid output fused with binary cross-entropy", () => {
    const spec: ModelSpec = {
      inputShape: [3],
      layers: [
        { type: "dense", units: 4, activation: "tanh", activityRegularizer: { l2: 0.3 } },
        { type: "dense", units: 2, activation: "sigmoid", activityRegularizer: { l1: 0.2, l2: 0.4 } },
      ],
      loss: "binaryCrossentropy",
    };
    expectGradientsMatch(spec, randomBatch(spec, 4, 2, 2), { tolerance: 1e-7 });
  });

  it("conv2d: kernel, bias and activity penalties, with layers before and after it", () => {
    const spec: ModelSpec = {
      inputShape: [5, 5, 2],
      layers: [
        { type: "conv2d", filters: 2, kernelSize: 2, activation: "tanh" },
        {
          type: "conv2d",
          filters: 3,
          kernelSize: 2,
          padding: "same",
          activation: "tanh",
          biasInitializer: bias,
          kernelRegularizer: { l1: 0.02, l2: 0.05 },
          biasRegularizer: { l1: 0.1 },
          activityRegularizer: { l1: 0.03, l2: 0.07 },
        },
        { type: "flatten" },
        { type: "dense", units: 2, kernelRegularizer: { l2: 0.01 } },
      ],
      loss: "meanSquaredError",
    };
    expectGradientsMatch(spec, randomBatch(spec, 2, 2, 3), { tolerance: 1e-7 });
  });
});

describe("the penalty's value", () => {
  const spec: ModelSpec = {
    inputShape: [2],
    layers: [
      {
        type: "dense",
        units: 1,
        useBias: false,
        kernelRegularizer: { l1: 0.1, l2: 0.01 },
        activityRegularizer: { l2: 0.5 },
      },
    ],
    loss: "meanSquaredError",
  };
  const weights: NamedTensors = { "dense_0/kernel": { shape: [2, 1], data: Float64Array.from([1, -2]) } };
  // x = [1, 1] → y = −1, t = 0; x = [2, 0] → y = 2, t = 1.
  const data = { n: 2, x: Float64Array.from([1, 1, 2, 0]), y: Float64Array.from([0, 1]) };

  it("is l1·Σ|w| + l2·Σw² plus the activity penalty averaged over the batch, with its gradient", () => {
    const r = computeGradients({ model: spec, seed: 0, data, weights });
    // mse (1 + 1) / 2 = 1; kernel 0.1·3 + 0.01·5 = 0.35; activity 0.5·(1 + 4) / 2 = 1.25.
    expect(r.loss).toBeCloseTo(1 + 0.35 + 1.25, 14);
    // ∂/∂w: mse (1/2)·Σ 2(y − t)·x = [(−1)·1 + 1·2, (−1)·1 + 0] = [1, −1];
    // kernel [0.1 + 0.02, −0.1 − 0.04]; activity (1/2)·Σ 2·0.5·y·x = 0.5·[−1 + 4, −1] = [1.5, −0.5].
    const g = r.gradients["dense_0/kernel"]!.data;
    expect(g[0]).toBeCloseTo(1 + 0.12 + 1.5, 14);
    expect(g[1]).toBeCloseTo(-1 - 0.14 - 0.5, 14);
  });

  it("history.regularizationLoss reports it apart, and telemetry the norm of its gradient", () => {
    const r = train({
      model: spec,
      data,
      optimizer: { type: "sgd", learningRate: 0 },
      epochs: 2,
      batchSize: 2,
      seed: 0,
      initialWeights: weights,
      telemetry: true,
    });
    expect(r.history.loss[0]).toBeCloseTo(2.6, 14);
    expect(r.history.regularizationLoss).toHaveLength(2);
    expect(r.history.regularizationLoss![0]).toBeCloseTo(1.6, 14);
    expect(r.telemetry!.regularizationGradientNorm!["dense_0/kernel"]![0]).toBeCloseTo(
      Math.hypot(0.12, 0.14),
      14,
    );
  });

  it("a model without regularisers has no regularizationLoss series", () => {
    const plain: ModelSpec = { ...spec, layers: [{ type: "dense", units: 1 }] };
    const r = train({
      model: plain,
      data,
      optimizer: { type: "sgd", learningRate: 0.1 },
      epochs: 1,
      seed: 0,
      telemetry: true,
    });
    expect(r.history.regularizationLoss).toBeUndefined();
    expect(r.telemetry!.regularizationGradientNorm).toBeUndefined();
  });

  it("an enormous l2 is a divergence report, not NaN", () => {
    const r = train({
      model: { ...spec, layers: [{ type: "dense", units: 1, kernelRegularizer: { l2: 1e300 } }] },
      data,
      optimizer: { type: "sgd", learningRate: 0.1 },
      epochs: 3,
      seed: 0,
    });
    expect(r.diverged).toBeDefined();
    for (const t of Object.values(r.weights)) for (const v of t.data) expect(Number.isFinite(v)).toBe(true);
  });

  it("normalEquation refuses a regularised model, naming the field", () => {
    expect(() =>
      train({ model: spec, data, optimizer: { type: "normalEquation" }, epochs: 1, seed: 0 }),
    ).toThrow(expect.objectContaining({ path: ["model", "layers", 0, "kernelRegularizer"] }));
  });

  it("bad coefficients are EngineErrors naming the field", () => {
    const bad = (r: object, field = "kernelRegularizer") => {
      try {
        new Model({ ...spec, layers: [{ type: "dense", units: 1, [field]: r }] });
      } catch (e) {
        expect(e).toBeInstanceOf(EngineError);
        return (e as EngineError).path;
      }
      return null;
    };
    expect(bad({ l2: -1 })).toEqual(["layers", 0, "kernelRegularizer", "l2"]);
    expect(bad("l3" as never, "biasRegularizer")).toEqual(["layers", 0, "biasRegularizer"]);
    expect(bad({ l1: Number.NaN }, "activityRegularizer")).toEqual([
      "layers",
      0,
      "activityRegularizer",
      "l1",
    ]);
  });
});

describe("regularisers by name", () => {
  const named = (kernelRegularizer: unknown): ModelSpec => ({
    inputShape: [4],
    layers: [
      { type: "dense", units: 5, activation: "tanh", kernelRegularizer: kernelRegularizer as never },
      { type: "dense", units: 3, activation: "softmax" },
    ],
    loss: "sparseCategoricalCrossentropy",
  });
  const { x, y } = randomBatch(named("l2"), 12, 3, 3);
  const run = (reg: unknown) =>
    train({
      model: named(reg),
      data: { x, y, n: 12 },
      optimizer: { type: "sgd", learningRate: 0.1 },
      epochs: 3,
      batchSize: 4,
      seed: 5,
    });

  it.each([
    ["l1", { l1: 0.01 }],
    ["l2", { l2: 0.01 }],
    ["l1l2", { l1: 0.01, l2: 0.01 }],
  ])('"%s" trains bit for bit as %j', (name, object) => {
    const a = run(name);
    expect(a.history.regularizationLoss![0]).toBeGreaterThan(0);
    expect(a.weightsSha256).toBe(run(object).weightsSha256);
    expect(a.weightsSha256).not.toBe(run(undefined).weightsSha256);
  });

  it('"l1l2" has the coefficients tfjs gives its l1l2 by default', async () => {
    await tfReady();
    expect(tf.regularizers.l1l2().getConfig()).toEqual({ l1: 0.01, l2: 0.01 });
  });
});

describe("regularisers as TensorFlow.js applies them", () => {
  it("one sgd step of a tfjs-layers model with l1l2 kernel and bias regularisers", async () => {
    await tfReady();
    const spec: ModelSpec = {
      inputShape: [3],
      layers: [
        {
          type: "dense",
          units: 4,
          activation: "tanh",
          biasInitializer: bias,
          kernelRegularizer: { l1: 0.03, l2: 0.05 },
          biasRegularizer: { l1: 0.02, l2: 0.1 },
        },
        { type: "dense", units: 2, kernelRegularizer: { l1: 0.1, l2: 0.2 } },
      ],
      loss: "meanSquaredError",
    };
    const batch = randomBatch(spec, 5, 2, 4);
    const start = initWeights(spec, 8);
    const ours = train({
      model: spec,
      data: batch,
      optimizer: { type: "sgd", learningRate: 0.1 },
      epochs: 1,
      batchSize: 5,
      shuffle: false,
      seed: 0,
      initialWeights: start,
    });
    const model = tf.sequential({
      layers: [
        tf.layers.dense({
          inputShape: [3],
          units: 4,
          activation: "tanh",
          kernelRegularizer: tf.regularizers.l1l2({ l1: 0.03, l2: 0.05 }),
          biasRegularizer: tf.regularizers.l1l2({ l1: 0.02, l2: 0.1 }),
        }),
        tf.layers.dense({ units: 2, kernelRegularizer: tf.regularizers.l1l2({ l1: 0.1, l2: 0.2 }) }),
      ],
    });
    const keys = ["dense_0/kernel", "dense_0/bias", "dense_1/kernel", "dense_1/bias"];
    model.setWeights(keys.map((k) => tf.tensor(Float32Array.from(start[k]!.data), start[k]!.shape)));
    model.compile({ optimizer: tf.train.sgd(0.1), loss: "meanSquaredError" });
    const loss = (await model.trainOnBatch(
      tf.tensor2d(Float32Array.from(batch.x), [5, 3]),
      tf.tensor2d(Float32Array.from(batch.y), [5, 2]),
    )) as number;
    expect(Math.abs(ours.history.loss[0]! - loss) / loss).toBeLessThan(1e-5);
    expect(ours.history.regularizationLoss![0]).toBeGreaterThan(0.01);
    const after = model.getWeights().map((w) => w.dataSync() as Float32Array);
    keys.forEach((k, i) => {
      expect(maxRelativeError(ours.weights[k]!.data, after[i]!, 1e-2), k).toBeLessThan(1e-5);
      // The step's gradient, (w₀ − w₁) / η, within float32 rounding of the step.
      const g = ours.weights[k]!.data.map((v, j) => (start[k]!.data[j]! - v) / 0.1);
      const gt = after[i]!.map((v, j) => (start[k]!.data[j]! - v) / 0.1);
      expect(maxRelativeError(g, gt, 1e-2), k).toBeLessThan(1e-4);
    });
    model.dispose();
  });

  it("one sgd step of a tfjs-layers conv2d with l1l2 kernel and bias regularisers", async () => {
    await tfReady();
    const spec: ModelSpec = {
      inputShape: [4, 4, 2],
      layers: [
        {
          type: "conv2d",
          filters: 3,
          kernelSize: 2,
          activation: "tanh",
          biasInitializer: bias,
          kernelRegularizer: { l1: 0.02, l2: 0.04 },
          biasRegularizer: { l1: 0.01, l2: 0.2 },
        },
        { type: "flatten" },
        { type: "dense", units: 2 },
      ],
      loss: "meanSquaredError",
    };
    const batch = randomBatch(spec, 3, 2, 9);
    const start = initWeights(spec, 10);
    const ours = train({
      model: spec,
      data: batch,
      optimizer: { type: "sgd", learningRate: 0.1 },
      epochs: 1,
      batchSize: 3,
      shuffle: false,
      seed: 0,
      initialWeights: start,
    });
    const model = tf.sequential({
      layers: [
        tf.layers.conv2d({
          inputShape: [4, 4, 2],
          filters: 3,
          kernelSize: 2,
          activation: "tanh",
          kernelRegularizer: tf.regularizers.l1l2({ l1: 0.02, l2: 0.04 }),
          biasRegularizer: tf.regularizers.l1l2({ l1: 0.01, l2: 0.2 }),
        }),
        tf.layers.flatten(),
        tf.layers.dense({ units: 2 }),
      ],
    });
    const keys = ["conv2d_0/kernel", "conv2d_0/bias", "dense_2/kernel", "dense_2/bias"];
    model.setWeights(keys.map((k) => tf.tensor(Float32Array.from(start[k]!.data), start[k]!.shape)));
    model.compile({ optimizer: tf.train.sgd(0.1), loss: "meanSquaredError" });
    const loss = (await model.trainOnBatch(
      tf.tensor4d(Float32Array.from(batch.x), [3, 4, 4, 2]),
      tf.tensor2d(Float32Array.from(batch.y), [3, 2]),
    )) as number;
    expect(Math.abs(ours.history.loss[0]! - loss) / loss).toBeLessThan(1e-5);
    const after = model.getWeights().map((w) => w.dataSync() as Float32Array);
    keys.forEach((k, i) => {
      const g = ours.weights[k]!.data.map((v, j) => (start[k]!.data[j]! - v) / 0.1);
      const gt = after[i]!.map((v, j) => (start[k]!.data[j]! - v) / 0.1);
      expect(maxRelativeError(g, gt, 1e-2), k).toBeLessThan(1e-4);
    });
    model.dispose();
  });

  it("an activity penalty as Keras adds it (tfjs has none): the regulariser's value over the batch size", async () => {
    await tfReady();
    const spec: ModelSpec = {
      inputShape: [3],
      layers: [{ type: "dense", units: 2, activation: "tanh", activityRegularizer: { l1: 0.2, l2: 0.3 } }],
      loss: "meanSquaredError",
    };
    const batch = randomBatch(spec, 4, 2, 6);
    const weights = initWeights(spec, 3);
    const ours = computeGradients({ model: spec, seed: 0, data: batch, weights });
    const reg = tf.regularizers.l1l2({ l1: 0.2, l2: 0.3 });
    const { value, grads } = tf.valueAndGrads((k: tf.Tensor, b: tf.Tensor) => {
      const y = tf.tanh(
        tf.add(tf.matMul(tf.tensor2d(Float32Array.from(batch.x), [4, 3]), k as tf.Tensor2D), b),
      );
      const data = tf.mean(tf.square(tf.sub(y, tf.tensor2d(Float32Array.from(batch.y), [4, 2]))));
      return tf.add(data, tf.div(reg.apply(y), 4)) as tf.Scalar;
    })([
      tf.tensor2d(Float32Array.from(weights["dense_0/kernel"]!.data), [3, 2]),
      tf.tensor1d(Float32Array.from(weights["dense_0/bias"]!.data)),
    ]);
    expect(Math.abs(ours.loss - value.dataSync()[0]!) / ours.loss).toBeLessThan(1e-6);
    expect(maxRelativeError(ours.gradients["dense_0/kernel"]!.data, grads[0]!.dataSync())).toBeLessThan(1e-5);
    expect(maxRelativeError(ours.gradients["dense_0/bias"]!.data, grads[1]!.dataSync())).toBeLessThan(1e-5);
  });
});

describe("kernel constraints", () => {
  const param = (shape: number[], data: number[]) => ({
    key: "k",
    shape,
    value: Float64Array.from(data),
    grad: new Float64Array(data.length),
  });
  const eps = 1e-7;

  it("maxNorm scales each unit's incoming weights (axis 0 of [in, units]) to at most maxValue", () => {
    // Columns [3, 4] (norm 5) and [0, 1] (norm 1); maxValue 2.
    const p = param([2, 2], [3, 0, 4, 1]);
    applyConstraint(bindConstraint({ type: "maxNorm", maxValue: 2 }, p, []));
    const s0 = 2 / (eps + 5);
    const s1 = 1 / (eps + 1);
    expect([...p.value]).toEqual([3 * s0, 0 * s1, 4 * s0, 1 * s1]);
  });

  it("maxNorm over axis 1 and over several axes", () => {
    const p = param([2, 2], [3, 4, 0, 1]);
    applyConstraint(bindConstraint({ type: "maxNorm", maxValue: 1, axis: 1 }, p, []));
    expect([...p.value]).toEqual([3 / (eps + 5), 4 / (eps + 5), 0, 1 / (eps + 1)]);
    // [2, 1, 1, 2]: filters' norms over [0, 1, 2]: filter 0 = (1, 2) → √5, filter 1 = (2, 4) → √20.
    const c = param([2, 1, 1, 2], [1, 2, 2, 4]);
    applyConstraint(bindConstraint({ type: "maxNorm", maxValue: 3, axis: [0, 1, 2] }, c, []));
    const f0 = Math.sqrt(5) / (eps + Math.sqrt(5));
    const f1 = 3 / (eps + Math.sqrt(20));
    expect([...c.value]).toEqual([1 * f0, 2 * f1, 2 * f0, 4 * f1]);
  });

  it("unitNorm divides by the norm, nonNeg zeroes negatives", () => {
    const p = param([2, 2], [3, 0, -4, 2]);
    applyConstraint(bindConstraint("unitNorm", p, []));
    expect([...p.value]).toEqual([3 / (eps + 5), 0, -4 / (eps + 5), 2 / (eps + 2)]);
    const q = param([3], [-1, 0, 2]);
    applyConstraint(bindConstraint({ type: "nonNeg" }, q, []));
    expect([...q.value]).toEqual([0, 0, 2]);
  });

  it("a norm of huge weights does not overflow", () => {
    const p = param([2, 1], [3e200, 4e200]);
    applyConstraint(bindConstraint("unitNorm", p, []));
    expect(p.value[0]).toBeCloseTo(0.6, 12);
    expect(p.value[1]).toBeCloseTo(0.8, 12);
  });

  it("apply after every step of training", () => {
    const spec = (kernelConstraint: object): ModelSpec => ({
      inputShape: [4],
      layers: [{ type: "dense", units: 3, kernelConstraint } as ModelSpec["layers"][number]],
      loss: "meanSquaredError",
    });
    const batch = randomBatch(spec({}), 20, 3, 1);
    const run = (c: object) =>
      train({
        model: spec(c),
        data: batch,
        optimizer: { type: "sgd", learningRate: 0.5 },
        epochs: 3,
        batchSize: 5,
        seed: 2,
      }).weights["dense_0/kernel"]!.data;
    const nonNeg = run({ type: "nonNeg" });
    expect(nonNeg.every((v) => v >= 0)).toBe(true);
    expect(nonNeg.some((v) => v > 0)).toBe(true);
    const unit = run({ type: "unitNorm" });
    for (let j = 0; j < 3; j++) {
      let s = 0;
      for (let i = 0; i < 4; i++) s += unit[i * 3 + j]! ** 2;
      expect(Math.sqrt(s)).toBeCloseTo(1, 6);
    }
  });

  it("a bad axis or maxValue is an EngineError naming the field", () => {
    const at = (c: object) => {
      try {
        new Model({
          inputShape: [2],
          layers: [{ type: "dense", units: 1, kernelConstraint: c as unknown as "nonNeg" }],
          loss: "meanSquaredError",
        });
      } catch (e) {
        return (e as EngineError).path;
      }
      return null;
    };
    expect(at({ type: "maxNorm", axis: 2 })).toEqual(["layers", 0, "kernelConstraint", "axis"]);
    expect(at({ type: "maxNorm", maxValue: -1 })).toEqual(["layers", 0, "kernelConstraint", "maxValue"]);
    expect(at({ type: "clip" })).toEqual(["layers", 0, "kernelConstraint", "type"]);
  });
});

describe("exact resume with regularisers and constraints", () => {
  it("10 epochs, then 10 more from the optimizerState, equal 20 at once", () => {
    const spec: ModelSpec = {
      inputShape: [4],
      layers: [
        {
          type: "dense",
          units: 5,
          activation: "relu",
          kernelInitializer: "heNormal",
          kernelRegularizer: { l1: 1e-3, l2: 1e-2 },
          activityRegularizer: { l2: 1e-3 },
          kernelConstraint: { type: "maxNorm", maxValue: 1 },
        },
        { type: "dense", units: 3, activation: "softmax", biasRegularizer: { l2: 0.1 } },
      ],
      loss: "sparseCategoricalCrossentropy",
    };
    const data = randomBatch(spec, 30, 3, 12);
    const base = {
      model: spec,
      data,
      optimizer: { type: "adam", learningRate: 0.01 } as const,
      batchSize: 8,
      seed: 5,
    };
    const all = train({ ...base, epochs: 20 });
    const first = train({ ...base, epochs: 10, returnOptimizerState: true });
    const second = train({
      ...base,
      epochs: 10,
      initialWeights: first.weights,
      optimizerState: first.optimizerState!,
    });
    expect(second.weightsSha256).toBe(all.weightsSha256);
    expect([...first.history.regularizationLoss!, ...second.history.regularizationLoss!]).toEqual(
      all.history.regularizationLoss,
    );
  });
});
