/**
 * `sampleWeight` and `classWeight` (docs/backprop.md §20.1): a 3-sample batch by hand, central
 * differences of the weighted loss, equalities that hold bit for bit, the validation split's
 * weights, the checks, and one weighted sgd step against tfjs-layers' `model.fit({ classWeight })`.
 */
import * as tf from "@tensorflow/tfjs";
import { describe, expect, it } from "vitest";
import {
  type Dataset,
  EngineError,
  initWeights,
  type ModelSpec,
  type NamedTensors,
  type TrainOptions,
  train,
} from "../../src/engine/index.js";
import { randomBatch } from "./helpers.js";
import { maxRelativeError, tfReady } from "./tfjs-reference.js";

const line: ModelSpec = { inputShape: [1], layers: [{ type: "dense", units: 1 }], loss: "meanSquaredError" };
const lineWeights: NamedTensors = {
  "dense_0/kernel": { shape: [1, 1], data: Float64Array.of(0.5) },
  "dense_0/bias": { shape: [1], data: Float64Array.of(0) },
};
const lineData = { n: 3, x: Float64Array.of(1, 2, 3), y: Float64Array.of(1, 1, 1) };

/** One full-batch epoch at learning rate 0: the loss and gradient at the given weights. */
function atWeights(
  extra: Partial<TrainOptions>,
  weights: NamedTensors,
  spec = line,
  data: Dataset = lineData,
) {
  return train({
    model: spec,
    data,
    optimizer: { type: "sgd", learningRate: 0 },
    epochs: 1,
    batchSize: data.n,
    shuffle: false,
    seed: 1,
    initialWeights: weights,
    ...extra,
  });
}

const classifier: ModelSpec = {
  inputShape: [2],
  layers: [
    { type: "dense", units: 3, activation: "tanh" },
    { type: "dense", units: 3, activation: "softmax" },
  ],
  loss: "sparseCategoricalCrossentropy",
};
const labelled = randomBatch(classifier, 12, 3, 5);

function expectEngineError(f: () => unknown, path: (string | number)[]): void {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(EngineError);
    expect((e as EngineError).path).toEqual(path);
    return;
  }
  throw new Error("expected an EngineError");
}

describe("weighted loss by hand", () => {
  // Predictions 0.5, 1, 1.5 against 1: errors −0.5, 0, 0.5, squared losses 0.25, 0, 0.25.
  // Weights 2, 1, 0.5: Σ wᵢlᵢ = 0.5 + 0 + 0.125 = 0.625, over the batch size 3.
  // ∂/∂k = (1/3) Σ wᵢ·2eᵢ·xᵢ = (1/3)(2·2·(−0.5)·1 + 0 + 0.5·2·0.5·3) = −1/6;
  // ∂/∂b = (1/3) Σ wᵢ·2eᵢ = (1/3)(−2 + 0.5) = −1/2.
  it("3 samples: loss Σwᵢlᵢ/B and its gradient", () => {
    const r = atWeights({ sampleWeight: Float64Array.of(2, 1, 0.5) }, lineWeights);
    expect(r.history.loss[0]).toBeCloseTo(0.625 / 3, 15);
    expect(r.metrics.loss).toBeCloseTo(0.625 / 3, 15);
    expect(r.gradients!["dense_0/kernel"]!.data[0]).toBeCloseTo(-1 / 6, 15);
    expect(r.gradients!["dense_0/bias"]!.data[0]).toBeCloseTo(-1 / 2, 15);
    // Unweighted: (0.25 + 0 + 0.25) / 3.
    expect(atWeights({}, lineWeights).history.loss[0]).toBeCloseTo(0.5 / 3, 15);
  });

  it("a weight of 0 drops the sample but keeps it in the batch size", () => {
    // With sample 2 at weight 0: (1/3)(g₀ + g₁) = (2/3) × the mean gradient of samples 0 and 1 alone.
    const r = atWeights({ sampleWeight: Float64Array.of(1, 1, 0) }, lineWeights);
    const two = atWeights({}, lineWeights, line, {
      n: 2,
      x: lineData.x.slice(0, 2),
      y: lineData.y.slice(0, 2),
    });
    for (const key of ["dense_0/kernel", "dense_0/bias"])
      expect(r.gradients![key]!.data[0]).toBeCloseTo((2 / 3) * two.gradients![key]!.data[0]!, 15);
    expect(r.metrics.loss).toBeCloseTo((2 / 3) * two.metrics.loss!, 15);
  });

  it("one sgd step moves by the weighted gradient", () => {
    const r = train({
      model: line,
      data: lineData,
      optimizer: { type: "sgd", learningRate: 0.3 },
      epochs: 1,
      batchSize: 3,
      shuffle: false,
      seed: 1,
      initialWeights: lineWeights,
      sampleWeight: Float64Array.of(2, 1, 0.5),
    });
    expect(r.weights["dense_0/kernel"]!.data[0]).toBeCloseTo(0.5 + 0.3 / 6, 15);
    expect(r.weights["dense_0/bias"]!.data[0]).toBeCloseTo(0.3 / 2, 15);
  });

  it("the gradient of the weighted loss matches central differences", () => {
    const start = initWeights(classifier, 3);
    const sampleWeight = Float64Array.from({ length: 12 }, (_, i) => (i % 4) * 0.7);
    const opts = { sampleWeight, classWeight: { "0": 3, "2": 0.25 } };
    const analytic = atWeights(opts, start, classifier, labelled).gradients!;
    const h = 1e-5;
    let worst = 0;
    for (const [key, t] of Object.entries(start)) {
      for (let i = 0; i < t.data.length; i++) {
        const shifted = (d: number) => {
          const w = Object.fromEntries(
            Object.entries(start).map(([k, v]) => [k, { shape: v.shape, data: Float64Array.from(v.data) }]),
          );
          w[key]!.data[i]! += d;
          return atWeights(opts, w, classifier, labelled).metrics.loss!;
        };
        const numerical = (shifted(h) - shifted(-h)) / (2 * h);
        const a = analytic[key]!.data[i]!;
        worst = Math.max(worst, Math.abs(a - numerical) / Math.max(Math.abs(a), Math.abs(numerical), 1e-8));
      }
    }
    expect(worst).toBeLessThan(1e-6);
    // And the weighting matters: the unweighted gradient is another one.
    const plain = atWeights({}, start, classifier, labelled).gradients!;
    expect(
      maxRelativeError(plain["dense_1/bias"]!.data, analytic["dense_1/bias"]!.data, 1e-8),
    ).toBeGreaterThan(0.01);
  });
});

describe("equalities", () => {
  const run = (extra: Partial<TrainOptions>) =>
    train({
      model: classifier,
      data: labelled,
      optimizer: { type: "adam", learningRate: 0.05 },
      epochs: 4,
      batchSize: 5,
      seed: 9,
      validationSplit: 0.25,
      ...extra,
    });

  it("weights of 1 (sample or class) train bit-identically to none", () => {
    const none = run({});
    const ones = run({ sampleWeight: new Float64Array(12).fill(1), classWeight: { "0": 1, "1": 1 } });
    expect(ones.weightsSha256).toBe(none.weightsSha256);
    expect(ones.history).toEqual(none.history);
    expect(ones.metrics).toEqual(none.metrics);
  });

  it("classWeight {0: 2} equals sampleWeight 2 on the training samples of class 0", () => {
    const byClass = run({ classWeight: { "0": 2 } });
    // The last 3 samples are the validation split: class_weight leaves them at 1.
    const sampleWeight = Float64Array.from({ length: 12 }, (_, i) => (i < 9 && labelled.y[i] === 0 ? 2 : 1));
    const bySample = run({ sampleWeight });
    expect(bySample.weightsSha256).toBe(byClass.weightsSha256);
    expect(bySample.history).toEqual(byClass.history);
    expect(byClass.weightsSha256).not.toBe(run({}).weightsSha256);
  });

  it("shuffling carries each weight with its sample", () => {
    // The same samples and weights in another order give the same full-batch step (up to the order of the sum).
    const perm = [3, 7, 0, 11, 5, 1, 9, 2, 8, 10, 4, 6];
    const sw = Float64Array.from({ length: 12 }, (_, i) => 0.5 + i);
    const permuted = {
      n: 12,
      x: Float64Array.from(perm.flatMap((p) => [labelled.x[2 * p]!, labelled.x[2 * p + 1]!])),
      y: Float64Array.from(perm.map((p) => labelled.y[p]!)),
    };
    const start = initWeights(classifier, 4);
    const step = (data: Dataset, sampleWeight: Float64Array) =>
      train({
        model: classifier,
        data,
        optimizer: { type: "sgd", learningRate: 0.5 },
        epochs: 1,
        batchSize: 12,
        seed: 2,
        initialWeights: start,
        sampleWeight,
      }).weights["dense_0/kernel"]!.data;
    const a = step(labelled, sw);
    const b = step(permuted, Float64Array.from(perm.map((p) => sw[p]!)));
    expect(maxRelativeError(a, b, 1e-12)).toBeLessThan(1e-12);
    const wrong = step(permuted, sw);
    expect(maxRelativeError(a, wrong, 1e-12)).toBeGreaterThan(1e-3);
  });

  it("valLoss takes the validation samples' sampleWeight, not classWeight", () => {
    const start = initWeights(classifier, 5);
    const at = (extra: Partial<TrainOptions>) =>
      atWeights({ validationSplit: 0.25, ...extra }, start, classifier, labelled);
    const plain = at({});
    expect(at({ classWeight: { "0": 5, "1": 3 } }).metrics.valLoss).toBe(plain.metrics.valLoss);
    const doubled = at({ sampleWeight: Float64Array.from({ length: 12 }, (_, i) => (i >= 9 ? 2 : 1)) });
    expect(doubled.metrics.valLoss).toBe(2 * plain.metrics.valLoss!);
    expect(doubled.history.valLoss![0]).toBe(2 * plain.history.valLoss![0]!);
    expect(doubled.metrics.loss).toBe(plain.metrics.loss);
  });

  it("classWeight reads one-hot targets by argmax and one binary unit by target > 0.5", () => {
    const oneHot: ModelSpec = { ...classifier, loss: "categoricalCrossentropy" };
    const y = new Float64Array(36);
    for (let i = 0; i < 12; i++) y[i * 3 + labelled.y[i]!] = 1;
    const start = initWeights(classifier, 6);
    const sparse = atWeights({ classWeight: { "1": 4 } }, start, classifier, labelled);
    const dense = atWeights({ classWeight: { "1": 4 } }, start, oneHot, { ...labelled, y });
    expect(dense.metrics.loss).toBeCloseTo(sparse.metrics.loss!, 14);
    const binary: ModelSpec = {
      inputShape: [2],
      layers: [{ type: "dense", units: 1, activation: "sigmoid" }],
      loss: "binaryCrossentropy",
    };
    const yb = Float64Array.from({ length: 12 }, (_, i) => i % 2);
    const w0 = initWeights(binary, 1);
    const data = { ...labelled, y: yb };
    const cw = atWeights({ classWeight: { "1": 3 } }, w0, binary, data);
    const sw = atWeights({ sampleWeight: Float64Array.from(yb, (v) => (v === 1 ? 3 : 1)) }, w0, binary, data);
    expect(cw.metrics.loss).toBe(sw.metrics.loss);
  });
});

describe("checks", () => {
  const base = {
    model: classifier,
    data: labelled,
    optimizer: { type: "sgd" as const, learningRate: 0.1 },
    epochs: 1,
    seed: 1,
  };
  it("names the field of a bad weight", () => {
    expectEngineError(() => train({ ...base, sampleWeight: new Float64Array(11) }), ["sampleWeight"]);
    const neg = new Float64Array(12).fill(1);
    neg[4] = -1;
    expectEngineError(() => train({ ...base, sampleWeight: neg }), ["sampleWeight", 4]);
    neg[4] = Number.NaN;
    expectEngineError(() => train({ ...base, sampleWeight: neg }), ["sampleWeight", 4]);
    neg[4] = Number.POSITIVE_INFINITY;
    expectEngineError(() => train({ ...base, sampleWeight: neg }), ["sampleWeight", 4]);
    expectEngineError(() => train({ ...base, classWeight: { "3": 1 } }), ["classWeight", "3"]);
    expectEngineError(() => train({ ...base, classWeight: { "01": 1 } }), ["classWeight", "01"]);
    expectEngineError(() => train({ ...base, classWeight: { "-1": 1 } }), ["classWeight", "-1"]);
    expectEngineError(() => train({ ...base, classWeight: { "1": -2 } }), ["classWeight", "1"]);
    expectEngineError(
      () => train({ ...base, model: line, data: lineData, classWeight: { "0": 2 } }),
      ["classWeight"],
    );
    expectEngineError(
      () =>
        train({
          ...base,
          model: line,
          data: lineData,
          optimizer: { type: "normalEquation" },
          sampleWeight: new Float64Array(3),
        }),
      ["sampleWeight"],
    );
  });

  it("a multi-label output's class is its target's argmax (Keras)", () => {
    const multi: ModelSpec = {
      inputShape: [2],
      layers: [{ type: "dense", units: 3, activation: "sigmoid" }],
      loss: "binaryCrossentropy",
    };
    const y = Float64Array.from({ length: 36 }, (_, i) => ((i * 7) % 5 < 2 ? 1 : 0));
    const data = { ...labelled, y };
    const w0 = initWeights(multi, 2);
    const argmaxOf = (r: number) => [0, 1, 2].reduce((b, j) => (y[r * 3 + j]! > y[r * 3 + b]! ? j : b), 0);
    const cw = atWeights({ classWeight: { "2": 3, "1": 0.5 } }, w0, multi, data);
    const sw = atWeights(
      { sampleWeight: Float64Array.from({ length: 12 }, (_, r) => [1, 0.5, 3][argmaxOf(r)]!) },
      w0,
      multi,
      data,
    );
    expect(cw.metrics.loss).toBe(sw.metrics.loss);
    expectEngineError(
      () => train({ ...base, model: multi, data, classWeight: { "3": 2 } }),
      ["classWeight", "3"],
    );
  });

  it("a binary unit has classes 0 and 1", () => {
    const binary: ModelSpec = {
      inputShape: [2],
      layers: [{ type: "dense", units: 1, activation: "sigmoid" }],
      loss: "binaryCrossentropy",
    };
    const data = { ...labelled, y: Float64Array.from({ length: 12 }, (_, i) => i % 2) };
    expect(train({ ...base, model: binary, data, classWeight: { "1": 2, "0": 0 } }).epochsRun).toBe(1);
    expectEngineError(
      () => train({ ...base, model: binary, data, classWeight: { "2": 2 } }),
      ["classWeight", "2"],
    );
  });
});

describe("TensorFlow.js", () => {
  it("one sgd step of model.fit with classWeight equals ours", async () => {
    await tfReady();
    const spec: ModelSpec = { ...classifier, loss: "categoricalCrossentropy" };
    const n = 12;
    const y = new Float64Array(n * 3);
    for (let i = 0; i < n; i++) y[i * 3 + labelled.y[i]!] = 1;
    const start = initWeights(spec, 11);
    const classWeight = { "0": 2.5, "1": 0.5, "2": 1.25 };
    const ours = train({
      model: spec,
      data: { n, x: labelled.x, y },
      optimizer: { type: "sgd", learningRate: 0.5 },
      epochs: 1,
      batchSize: n,
      shuffle: false,
      seed: 0,
      initialWeights: start,
      classWeight,
    });
    const model = tf.sequential({
      layers: [
        tf.layers.dense({ inputShape: [2], units: 3, activation: "tanh" }),
        tf.layers.dense({ units: 3, activation: "softmax" }),
      ],
    });
    const keys = ["dense_0/kernel", "dense_0/bias", "dense_1/kernel", "dense_1/bias"];
    model.setWeights(keys.map((k) => tf.tensor(Float32Array.from(start[k]!.data), start[k]!.shape)));
    model.compile({ optimizer: tf.train.sgd(0.5), loss: "categoricalCrossentropy" });
    const h = await model.fit(
      tf.tensor2d(Float32Array.from(labelled.x), [n, 2]),
      tf.tensor2d(Float32Array.from(y), [n, 3]),
      {
        epochs: 1,
        batchSize: n,
        shuffle: false,
        classWeight: { 0: 2.5, 1: 0.5, 2: 1.25 },
        verbose: 0,
      },
    );
    const tfLoss = h.history.loss![0] as number;
    expect(Math.abs(ours.history.loss[0]! - tfLoss) / tfLoss).toBeLessThan(1e-5);
    const after = model.getWeights().map((w) => w.dataSync() as Float32Array);
    keys.forEach((k, i) => {
      const g = ours.weights[k]!.data.map((v, j) => (start[k]!.data[j]! - v) / 0.5);
      const gt = after[i]!.map((v, j) => (start[k]!.data[j]! - v) / 0.5);
      expect(maxRelativeError(g, gt, 1e-3), k).toBeLessThan(1e-4);
    });
    // Without the class weights the step is another one.
    const plain = train({
      model: spec,
      data: { n, x: labelled.x, y },
      optimizer: { type: "sgd", learningRate: 0.5 },
      epochs: 1,
      batchSize: n,
      shuffle: false,
      seed: 0,
      initialWeights: start,
    });
    expect(
      maxRelativeError(plain.weights["dense_1/bias"]!.data, ours.weights["dense_1/bias"]!.data, 1e-3),
    ).toBeGreaterThan(1e-3);
    model.dispose();
  });
});

describe("a loss that overflows on finite outputs", () => {
  // A class weight of 1e308 makes the summed loss overflow in the first batch, before any update:
  // the run stops there, and the final metrics leave out the loss but keep what the (finite)
  // predictions score.
  const result = train({
    model: classifier,
    data: labelled,
    optimizer: { type: "adam", learningRate: 0.05 },
    epochs: 4,
    batchSize: 12,
    seed: 9,
    validationSplit: 0.25,
    classWeight: { "0": 1e308 },
    metrics: ["precision"],
  });

  it("keeps accuracy and the metrics, omits the loss", () => {
    expect(result.diverged?.stage).toBe("loss");
    expect(result.nonFinite?.omitted).toEqual(["loss"]);
    const m = result.confusionMatrix!.train;
    const trace = m.reduce((s, row, i) => s + row[i]!, 0);
    const total = m.flat().reduce((s, v) => s + v, 0);
    expect(result.metrics.accuracy).toBe(trace / total);
    expect(result.metrics.precision).toBeTypeOf("number");
    expect(result.metrics.valLoss).toBeTypeOf("number"); // classWeight does not weigh validation
  });

  it("says the starting point overflowed, not the learning rate", () => {
    expect(result.diverged?.message).toMatch(
      /before any update, so the learning rate played no part: check .*sampleWeight or classWeight$/,
    );
  });
});
