/**
 * Training metrics and the confusion matrix (docs/backprop.md §20.3, §20.4): the exact AUC by hand
 * on scores with ties, precision, recall, accuracy and MAE against tfjs' `tf.metrics`, the
 * multi-class macro average and R² by hand, the per-epoch series against the metrics of the
 * returned weights, and the checks of `metrics`.
 */
import * as tf from "@tensorflow/tfjs";
import { describe, expect, it } from "vitest";
import {
  EngineError,
  initWeights,
  type ModelSpec,
  type TrainOptions,
  train,
} from "../../src/engine/index.js";
import { MetricAccumulator } from "../../src/engine/metrics/accumulator.js";
import { exactAuc } from "../../src/engine/metrics/auc.js";
import { randomBatch } from "./helpers.js";
import { tfReady } from "./tfjs-reference.js";

/** The values of `metrics` over one batch. */
function measure(
  loss: TrainOptions["model"]["loss"],
  k: number,
  out: number[],
  t: number[],
  batch: number,
  metrics: TrainOptions["metrics"] = ["precision", "recall", "auc"],
) {
  const acc = new MetricAccumulator(loss, k, metrics!, batch);
  acc.add(Float64Array.from(out), Float64Array.from(t), batch);
  return { values: acc.values(), confusion: acc.confusion() };
}

describe("exact AUC", () => {
  it("counts a tie between a positive and a negative as ½", () => {
    // Positives 0.35, 0.8, 0.4; negatives 0.1, 0.4. Pairs won: 0.35 → 1, 0.8 → 2, 0.4 → 1 + ½.
    const scores = Float64Array.of(0.1, 0.4, 0.35, 0.8, 0.4);
    const positive = Uint8Array.of(0, 0, 1, 1, 1);
    expect(exactAuc(scores, positive, 5)).toBe(4.5 / 6);
    // All tied: ½; perfectly separated: 1; reversed: 0; one class only: undefined.
    expect(exactAuc(Float64Array.of(1, 1, 1), Uint8Array.of(1, 0, 1), 3)).toBe(0.5);
    expect(exactAuc(Float64Array.of(0.1, 0.9), Uint8Array.of(0, 1), 2)).toBe(1);
    expect(exactAuc(Float64Array.of(0.1, 0.9), Uint8Array.of(1, 0), 2)).toBe(0);
    expect(exactAuc(Float64Array.of(0.1, 0.9), Uint8Array.of(1, 1), 2)).toBeNull();
  });

  it("equals the trapezoid rule over every distinct threshold", () => {
    const n = 200;
    const scores = Float64Array.from({ length: n }, (_, i) => Math.round(Math.sin(i * 7.1) * 20) / 20);
    const positive = Uint8Array.from({ length: n }, (_, i) => (Math.cos(i * 3.3) + scores[i]! > 0.2 ? 1 : 0));
    const thresholds = [...new Set(scores)].sort((a, b) => b - a);
    const P = positive.reduce((s, v) => s + v, 0);
    const N = n - P;
    let area = 0;
    let prev = [0, 0];
    for (const th of [...thresholds, Number.NEGATIVE_INFINITY]) {
      let tp = 0;
      let fp = 0;
      for (let i = 0; i < n; i++) if (scores[i]! >= th) positive[i] ? tp++ : fp++;
      const pt = [fp / N, tp / P];
      area += ((pt[0]! - prev[0]!) * (pt[1]! + prev[1]!)) / 2;
      prev = pt;
    }
    expect(exactAuc(scores, positive, n)).toBeCloseTo(area, 12);
  });

  it("multi-class: one-vs-rest on each class's probability, macro-averaged", () => {
    // 4 samples, 3 classes; class 2 never occurs, so it is left out of the average.
    const out = [0.7, 0.2, 0.1, 0.4, 0.5, 0.1, 0.3, 0.3, 0.4, 0.1, 0.8, 0.1];
    const { values } = measure("sparseCategoricalCrossentropy", 3, out, [0, 1, 0, 1], 4, ["auc"]);
    // Class 0: positives 0.7, 0.3 against negatives 0.4, 0.1 → 3 of 4 pairs. Class 1: positives 0.5,
    // 0.8 against 0.2, 0.3 → 4 of 4.
    expect(values.auc).toBe((0.75 + 1) / 2);
  });
});

describe("precision, recall and the confusion matrix", () => {
  it("binary: threshold 0.5 as tf.metrics.precision, recall and binaryAccuracy", async () => {
    await tfReady();
    const out = [0.9, 0.2, 0.6, 0.4, 0.51, 0.7, 0.1, 0.5];
    const t = [1, 0, 0, 1, 1, 1, 0, 0];
    const { values, confusion } = measure("binaryCrossentropy", 1, out, t, 8);
    // TP: 0.9, 0.51, 0.7; FP: 0.6; FN: 0.4; TN: 0.2, 0.1, 0.5 (not above 0.5).
    expect(confusion).toEqual([
      [3, 1],
      [1, 3],
    ]);
    expect(values.precision).toBe(0.75);
    expect(values.recall).toBe(0.75);
    const yt = tf.tensor1d(t);
    const yp = tf.tensor1d(out).greater(0.5).toFloat();
    expect(values.precision).toBeCloseTo(tf.metrics.precision(yt, yp).dataSync()[0]!, 6);
    expect(values.recall).toBeCloseTo(tf.metrics.recall(yt, yp).dataSync()[0]!, 6);
    const accuracy = (confusion![0]![0]! + confusion![1]![1]!) / 8;
    expect(accuracy).toBeCloseTo(tf.metrics.binaryAccuracy(yt, tf.tensor1d(out)).mean().dataSync()[0]!, 6);
  });

  it("multi-label and hinge outputs pool every element's decision", () => {
    // Two sigmoid units, two samples: decisions (0.9 → 1, 0.2 → 0 | 0.7 → 1, 0.6 → 1) against
    // targets (1, 1 | 0, 1): TP 2, FN 1, FP 1; pooled, of the positives 0.9, 0.2, 0.6 only 0.9 is
    // above the negative 0.7: AUC 1/3.
    const pooled = measure("binaryCrossentropy", 2, [0.9, 0.2, 0.7, 0.6], [1, 1, 0, 1], 2);
    expect(pooled.confusion).toEqual([
      [0, 1],
      [1, 2],
    ]);
    expect(pooled.values).toEqual({ precision: 2 / 3, recall: 2 / 3, auc: 1 / 3 });
    // The hinges: output > 0 against target > 0 (targets −1/1).
    const hinge = measure("hinge", 1, [0.3, -2, 0.1, -0.5], [1, -1, -1, 1], 4);
    expect(hinge.confusion).toEqual([
      [1, 1],
      [1, 1],
    ]);
  });

  it("fromLogits: multi-class AUC on the softmax of the logits", () => {
    // Per-column ranks of logits and of probabilities differ: sample 1's logit for class 0 is the
    // larger (2 > 1.5), its probability the smaller (e²/(e²+e⁵) < e^1.5/(e^1.5+e⁰)).
    const logits = [1.5, 0, 2, 5];
    const loss = { type: "sparseCategoricalCrossentropy" as const, fromLogits: true };
    const { values } = measure(loss, 2, logits, [0, 1], 2, ["auc"]);
    expect(values.auc).toBe(1);
    expect(measure("sparseCategoricalCrossentropy", 2, logits, [0, 1], 2, ["auc"]).values.auc).toBe(0.5);
  });

  it("a ratio 0/0 is 0 (no positive predicted)", () => {
    const { values } = measure("binaryCrossentropy", 1, [0.1, 0.2], [1, 0], 2);
    // The positive scores below the negative: AUC 0.
    expect(values).toEqual({ precision: 0, recall: 0, auc: 0 });
  });

  it("multi-class: argmax, one-vs-rest, macro average over the classes that occur", () => {
    // True 0,0,1,1,2 (class 3 never occurs); predicted 0,1,1,1,0.
    const out = [
      [0.8, 0.1, 0.05, 0.05],
      [0.3, 0.6, 0.05, 0.05],
      [0.1, 0.7, 0.1, 0.1],
      [0.2, 0.5, 0.2, 0.1],
      [0.5, 0.1, 0.4, 0],
    ].flat();
    const { values, confusion } = measure("sparseCategoricalCrossentropy", 4, out, [0, 0, 1, 1, 2], 5, [
      "precision",
      "recall",
    ]);
    expect(confusion).toEqual([
      [1, 1, 0, 0],
      [0, 2, 0, 0],
      [1, 0, 0, 0],
      [0, 0, 0, 0],
    ]);
    // Precision per class: 1/2, 2/3, 0 (never predicted); recall: 1/2, 1, 0.
    expect(values.precision).toBeCloseTo((1 / 2 + 2 / 3 + 0) / 3, 15);
    expect(values.recall).toBeCloseTo((1 / 2 + 1 + 0) / 3, 15);
  });

  it("categorical accuracy from the confusion matrix as tf.metrics.categoricalAccuracy", async () => {
    await tfReady();
    const b = randomBatch({ inputShape: [1], layers: [], loss: "categoricalCrossentropy" }, 40, 5, 3);
    const out = Float64Array.from({ length: 200 }, (_, i) => Math.abs(Math.sin(i * 1.7)));
    const { confusion } = measure("categoricalCrossentropy", 5, [...out], [...b.y], 40, []);
    const trace = confusion!.reduce((s, row, i) => s + row[i]!, 0);
    const tfAcc = tf.metrics
      .categoricalAccuracy(
        tf.tensor2d(Float32Array.from(b.y), [40, 5]),
        tf.tensor2d(Float32Array.from(out), [40, 5]),
      )
      .mean()
      .dataSync()[0]!;
    expect(trace / 40).toBeCloseTo(tfAcc, 6);
  });
});

describe("regression metrics", () => {
  it("MAE as tf.metrics.meanAbsoluteError; MSE, RMSE and R² by hand", async () => {
    await tfReady();
    // Two outputs. Column 0: targets 1, 2, 3 (mean 2, SS_tot 2), predictions 1.5, 2, 2 (SS_res 1.25);
    // column 1: targets 0, 0, 0 (constant), predictions 0, 0, 0 (exact: R² 1).
    const out = [1.5, 0, 2, 0, 2, 0];
    const t = [1, 0, 2, 0, 3, 0];
    const all = ["meanAbsoluteError", "meanSquaredError", "rootMeanSquaredError", "r2"] as const;
    const { values, confusion } = measure("meanSquaredError", 2, out, t, 3, [...all]);
    expect(confusion).toBeUndefined();
    expect(values.meanAbsoluteError).toBe(1.5 / 6);
    expect(values.meanSquaredError).toBe(1.25 / 6);
    expect(values.rootMeanSquaredError).toBe(Math.sqrt(1.25 / 6));
    expect(values.r2).toBe((1 - 1.25 / 2 + 1) / 2);
    const tfMae = tf.metrics
      .meanAbsoluteError(tf.tensor2d(t, [3, 2]), tf.tensor2d(out, [3, 2]))
      .mean()
      .dataSync()[0]!;
    expect(values.meanAbsoluteError).toBeCloseTo(tfMae, 6);
    // Errors near the largest double: the squares overflow, RMSE does not.
    const huge = measure("meanSquaredError", 1, [1e300, -1e300, 0], [0, 0, 0], 3, [
      "meanSquaredError",
      "rootMeanSquaredError",
    ]);
    expect(huge.values.meanSquaredError).toBe(Number.POSITIVE_INFINITY);
    expect(huge.values.rootMeanSquaredError).toBeCloseTo(1e300 * Math.sqrt(2 / 3), -286);
    // A constant target predicted wrongly scores 0 (scikit-learn's force_finite).
    expect(measure("meanSquaredError", 1, [1, 2], [0, 0], 2, ["r2"]).values.r2).toBe(0);
  });
});

describe("in training", () => {
  const iris: ModelSpec = {
    inputShape: [2],
    layers: [
      { type: "dense", units: 4, activation: "tanh" },
      { type: "dense", units: 3, activation: "softmax" },
    ],
    loss: "sparseCategoricalCrossentropy",
  };
  const data = randomBatch(iris, 30, 3, 2);
  const all = ["accuracy", "precision", "recall", "auc"] as const;

  it("history carries every metric per epoch, training and validation; at rate 0 they equal the final ones", () => {
    const start = initWeights(iris, 1);
    const r = train({
      model: iris,
      data,
      optimizer: { type: "sgd", learningRate: 0 },
      epochs: 2,
      batchSize: 7,
      seed: 4,
      validationSplit: 0.2,
      initialWeights: start,
      metrics: [...all],
    });
    for (const key of ["precision", "recall", "auc", "valPrecision", "valRecall", "valAuc"] as const) {
      expect(r.history[key], key).toHaveLength(2);
      // The weights never change, so the epoch's streamed value is the final evaluation's.
      expect(r.history[key]![1]).toBeCloseTo(r.metrics[key]!, 14);
    }
    expect(r.history.accuracy![0]).toBeCloseTo(r.metrics.accuracy!, 14);
    const cm = r.confusionMatrix!;
    expect(cm.labels).toEqual([0, 1, 2]);
    expect(cm.train.flat().reduce((a, b) => a + b, 0)).toBe(24);
    expect(cm.validation!.flat().reduce((a, b) => a + b, 0)).toBe(6);
    const trace = cm.train.reduce((s, row, i) => s + row[i]!, 0);
    expect(trace / 24).toBeCloseTo(r.metrics.accuracy!, 15);
  });

  it("without metrics nothing is added but the confusion matrix; a regression has none", () => {
    const r = train({
      model: iris,
      data,
      optimizer: { type: "adam", learningRate: 0.01 },
      epochs: 1,
      seed: 4,
    });
    expect(Object.keys(r.history).sort()).toEqual(["accuracy", "loss"]);
    expect(Object.keys(r.metrics).sort()).toEqual(["accuracy", "loss"]);
    expect(r.confusionMatrix!.validation).toBeUndefined();
    const reg: ModelSpec = {
      inputShape: [2],
      layers: [{ type: "dense", units: 1 }],
      loss: "meanAbsoluteError",
    };
    const rd = randomBatch(reg, 10, 1, 3);
    const rr = train({
      model: reg,
      data: rd,
      optimizer: { type: "sgd", learningRate: 0.1 },
      epochs: 3,
      seed: 1,
      validationSplit: 0.3,
      metrics: ["meanAbsoluteError", "r2", "rootMeanSquaredError"],
    });
    expect(rr.confusionMatrix).toBeUndefined();
    // The MAE metric of an MAE loss is its loss.
    expect(rr.history.meanAbsoluteError![2]).toBeCloseTo(rr.history.loss[2]!, 14);
    expect(rr.history.valMeanAbsoluteError![2]).toBeCloseTo(rr.history.valLoss![2]!, 14);
    expect(rr.history.r2).toHaveLength(3);
    expect(rr.metrics.rootMeanSquaredError).toBeGreaterThan(0);
  });

  it("normalEquation reports the metrics at its solution", () => {
    const reg: ModelSpec = {
      inputShape: [1],
      layers: [{ type: "dense", units: 1 }],
      loss: "meanSquaredError",
    };
    const r = train({
      model: reg,
      data: { n: 4, x: Float64Array.of(0, 1, 2, 3), y: Float64Array.of(1, 3, 5, 7.5) },
      optimizer: { type: "normalEquation" },
      epochs: 1,
      seed: 1,
      metrics: ["r2", "meanSquaredError"],
    });
    expect(r.metrics.r2).toBeCloseTo(r.solution!.r2, 12);
    expect(r.history.r2).toEqual([r.metrics.r2]);
    expect(r.metrics.meanSquaredError).toBeCloseTo(r.solution!.mse, 12);
  });

  it("rejects a metric that does not apply, naming metrics[i]", () => {
    const at = (metrics: string[]) => {
      try {
        train({
          model: iris,
          data,
          optimizer: { type: "sgd", learningRate: 0.1 },
          epochs: 1,
          seed: 1,
          metrics: metrics as TrainOptions["metrics"],
        });
      } catch (e) {
        expect(e).toBeInstanceOf(EngineError);
        return (e as EngineError).path;
      }
      return undefined;
    };
    expect(at(["precision", "r2"])).toEqual(["metrics", 1]);
    expect(at(["meanAbsoluteError"])).toEqual(["metrics", 0]);
    expect(at(["f1"])).toEqual(["metrics", 0]);
    expect(at(["accuracy", "accuracy", "auc"])).toBeUndefined();
  });
});
