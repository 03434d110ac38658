/**
 * The Keras losses (docs/backprop.md §14): gradients against central differences in float64
 * (relative error < 1e-7 away from the kinks), values and gradients against TensorFlow.js (its
 * tfjs-layers loss functions, and tfjs-core's Huber and logit cross-entropies), hand-computed
 * values, extreme inputs, both spellings of a loss, and the accuracy the history reports.
 */
import * as tf from "@tensorflow/tfjs";
import { describe, expect, it } from "vitest";
import { computeGradients, describeModel, type ModelSpec, train } from "../../src/engine/index.js";
import { lossAndGrad } from "../../src/engine/losses.js";
import { countCorrect } from "../../src/engine/metrics/accuracy.js";
import { expectGradientsMatch } from "./helpers.js";
import { LOSS_CASES, type LossCase, lossData } from "./loss-cases.js";
import { maxRelativeError, tfReady } from "./tfjs-reference.js";

const B = 4;
const K = 3;

/** Mean over the batch of the loss, and its gradient w.r.t. the predictions, by our engine. */
function ours(c: LossCase, pred: Float64Array, t: Float64Array, batch = B, k = K) {
  const grad = new Float64Array(batch * k);
  const loss = lossAndGrad(c.kind, pred, t, batch, k, grad, 1 / batch) / batch;
  return { loss, grad };
}

/** tfjs-layers' own loss function of that name (what `model.compile({ loss })` uses). */
function tfjsLayersLoss(name: string): (yTrue: tf.Tensor, yPred: tf.Tensor) => tf.Tensor {
  const m = tf.sequential({ layers: [tf.layers.dense({ units: 1, inputShape: [1] })] });
  m.compile({ optimizer: "sgd", loss: name });
  // A Sequential compiles its inner functional model, which holds the resolved loss functions.
  const inner = (m as unknown as { model: tf.LayersModel }).model;
  const fn = inner.lossFunctions[0]!;
  m.dispose();
  return fn;
}

/** The batch-mean loss TensorFlow.js computes for a case (Keras' definition where tfjs-layers lacks it). */
function tfjsLoss(c: LossCase, yTrue: tf.Tensor, yPred: tf.Tensor, k: number): tf.Scalar {
  const s = c.kind.labelSmoothing ?? 0;
  const t = c.target === "label" ? tf.oneHot(tf.cast(yTrue, "int32").flatten(), k).toFloat() : yTrue;
  const mean = tf.Reduction.MEAN;
  switch (c.kind.loss) {
    case "huber":
      return tf.losses.huberLoss(t, yPred, undefined, c.kind.delta ?? 1, mean) as tf.Scalar;
    case "hinge":
      // tfjs-core's hinge converts 0/1 labels to −1/1, as Keras does for binary labels.
      if (c.target === "binary") return tf.losses.hingeLoss(t, yPred, undefined, mean) as tf.Scalar;
      break;
    case "squaredHinge":
      if (c.target === "binary")
        return tf.mean(tfjsLayersLoss("squaredHinge")(tf.sub(tf.mul(2, t), 1), yPred));
      break;
    case "categoricalCrossentropy":
    case "sparseCategoricalCrossentropy":
      if (c.kind.fromLogits) return tf.losses.softmaxCrossEntropy(t, yPred, undefined, s, mean) as tf.Scalar;
      return tf.mean(tfjsLayersLoss("categoricalCrossentropy")(tf.add(tf.mul(t, 1 - s), s / k), yPred));
    case "binaryCrossentropy":
      if (c.kind.fromLogits) return tf.losses.sigmoidCrossEntropy(t, yPred, undefined, s, mean) as tf.Scalar;
      return tf.mean(tfjsLayersLoss("binaryCrossentropy")(tf.add(tf.mul(t, 1 - s), s / 2), yPred));
  }
  return tf.mean(tfjsLayersLoss(c.kind.loss)(t, yPred));
}

describe("each loss's gradient w.r.t. the predictions equals central differences (float64)", () => {
  it.each(LOSS_CASES)("$name", (c) => {
    const { pred, t } = lossData(c, B, K, 3);
    const { grad } = ours(c, pred, t);
    const h = 1e-6;
    const numeric = new Float64Array(B * K);
    for (let i = 0; i < B * K; i++) {
      const p = Float64Array.from(pred);
      p[i] = pred[i]! + h;
      const up = ours(c, p, t).loss;
      p[i] = pred[i]! - h;
      numeric[i] = (up - ours(c, p, t).loss) / (2 * h);
    }
    expect(maxRelativeError(grad, numeric, 1e-6)).toBeLessThan(1e-7);
    expect(grad.some((g) => Math.abs(g) > 1e-3)).toBe(true);
  });
});

describe("each loss and its gradient w.r.t. the predictions equal TensorFlow.js (float32)", () => {
  it.each(LOSS_CASES)("$name", async (c) => {
    await tfReady();
    const { pred, t } = lossData(c, B, K, 4);
    const mine = ours(c, pred, t);
    const yTrue =
      c.target === "label" ? tf.tensor1d(Float32Array.from(t)) : tf.tensor2d(Float32Array.from(t), [B, K]);
    const { value, grad } = tf.valueAndGrad((p: tf.Tensor) => tfjsLoss(c, yTrue, p, K))(
      tf.tensor2d(Float32Array.from(pred), [B, K]),
    );
    const ref = value.dataSync()[0]!;
    expect(Math.abs(mine.loss - ref) / Math.max(Math.abs(ref), 1e-3)).toBeLessThan(1e-5);
    expect(maxRelativeError(mine.grad, grad.dataSync())).toBeLessThan(1e-4);
    tf.dispose([yTrue, value, grad]);
  });
});

/** The output activation a case's predictions call for (none when the loss takes logits). */
function outputActivation(c: LossCase): "linear" | "softmax" | "sigmoid" {
  return c.pred === "softmax"
    ? "softmax"
    : c.pred === "positive" || c.pred === "probability"
      ? "sigmoid"
      : "linear";
}

function modelFor(c: LossCase): ModelSpec {
  return {
    inputShape: [4],
    layers: [
      { type: "dense", units: 5, activation: "tanh" },
      { type: "dense", units: K, activation: outputActivation(c) },
    ],
    loss: c.spec,
  };
}

function modelData(c: LossCase, seed: number, n = B) {
  const { t } = lossData(c, n, K, seed);
  const x = Float64Array.from({ length: n * 4 }, (_, i) => Math.sin(i * 1.7 + seed));
  return { n, x, y: t };
}

describe("through a dense model: parameters' gradients equal central differences (< 1e-7)", () => {
  it.each(LOSS_CASES)("$name", (c) => {
    // 5 samples: the piecewise-linear losses then never sum their ±1 slopes to an exact 0 (where the
    // difference quotient's rounding, ~1e-11, would be all there is). MAPE's values are ~100, so its
    // step is larger for the same rounding.
    const h = c.kind.loss === "meanAbsolutePercentageError" ? 1e-4 : 1e-5;
    const r = expectGradientsMatch(modelFor(c), modelData(c, 5, 5), { seed: 2, tolerance: 1e-7, epsilon: h });
    expect(r.numerical!.maxAbsError).toBeLessThan(h === 1e-4 ? 1e-6 : 1e-8); // MAPE's gradients are ~100× larger
  });
});

describe("through a dense model: loss and gradients equal TensorFlow.js", () => {
  it.each(LOSS_CASES)("$name", async (c) => {
    await tfReady();
    const spec = modelFor(c);
    const data = modelData(c, 6);
    const mine = computeGradients({ model: spec, seed: 7, data });
    const keys = describeModel(spec).layers.flatMap((l) => l.params.map((p) => p.key));
    const ws = keys.map((key) =>
      tf.tensor(Float32Array.from(mine.weights[key]!.data), mine.weights[key]!.shape),
    );
    const xs = tf.tensor2d(Float32Array.from(data.x), [B, 4]);
    const yTrue =
      c.target === "label"
        ? tf.tensor1d(Float32Array.from(data.y))
        : tf.tensor2d(Float32Array.from(data.y), [B, K]);
    const f = (...w: tf.Tensor[]): tf.Scalar => {
      const h = tf.tanh(tf.add(tf.matMul(xs, w[0] as tf.Tensor2D), w[1]!));
      const z = tf.add(tf.matMul(h as tf.Tensor2D, w[2] as tf.Tensor2D), w[3]!);
      const act = outputActivation(c);
      const out = act === "softmax" ? tf.softmax(z) : act === "sigmoid" ? tf.sigmoid(z) : z;
      return tfjsLoss(c, yTrue, out, K);
    };
    const { value, grads } = tf.valueAndGrads(f)(ws);
    const ref = value.dataSync()[0]!;
    expect(Math.abs(mine.loss - ref) / Math.max(Math.abs(ref), 1e-3)).toBeLessThan(1e-5);
    keys.forEach((key, i) => {
      expect(maxRelativeError(mine.gradients[key]!.data, grads[i]!.dataSync()), key).toBeLessThan(1e-4);
    });
    tf.dispose([...ws, xs, yTrue, value, ...grads]);
  });
});

describe("hand-computed values", () => {
  const one = (spec: LossCase["kind"], pred: number[], t: number[]) => {
    const g = new Float64Array(pred.length);
    const loss = lossAndGrad(spec, Float64Array.from(pred), Float64Array.from(t), 1, pred.length, g, 1);
    return { loss, grad: [...g] };
  };
  it("huber: quadratic inside delta, linear outside", () => {
    // d = [0.5, 2], delta 1: (0.5·0.25 + (2 − 0.5)) / 2 = 0.8125; gradient [0.5, 1] / 2
    expect(one({ loss: "huber", fused: false }, [0.5, 2], [0, 0])).toEqual({
      loss: 0.8125,
      grad: [0.25, 0.5],
    });
    // delta 2: d = 2 is on the quadratic side: (0.125 + 2) / 2
    expect(one({ loss: "huber", fused: false, delta: 2 }, [0.5, 2], [0, 0]).loss).toBe(1.0625);
  });
  it("hinge reads 0/1 labels as −1/1 (Keras), and ±1 labels as they are", () => {
    // t = [0, 1] → [−1, 1]; y = 0.5: margins 1.5 and 0.5, mean 1
    expect(one({ loss: "hinge", fused: false }, [0.5, 0.5], [0, 1])).toEqual({ loss: 1, grad: [0.5, -0.5] });
    expect(one({ loss: "hinge", fused: false }, [0.5, 0.5], [-1, 1]).loss).toBe(1);
    expect(one({ loss: "squaredHinge", fused: false }, [0.5, 0.5], [0, 1]).loss).toBe((2.25 + 0.25) / 2);
    // A margin met exactly: the loss is 0 and so is the gradient (TensorFlow's side of the kink).
    expect(one({ loss: "hinge", fused: false }, [1, -1], [1, -1])).toEqual({ loss: 0, grad: [0, 0] });
  });
  it("categoricalHinge: 1 + best wrong score − right score", () => {
    // t = [0, 1, 0], y = [0.2, 0.5, 0.4]: 1 + 0.4 − 0.5 = 0.9; gradient +1 at index 2, −1 at 1
    const r = one({ loss: "categoricalHinge", fused: false }, [0.2, 0.5, 0.4], [0, 1, 0]);
    expect(r.loss).toBeCloseTo(0.9, 15);
    expect(r.grad).toEqual([0, -1, 1]);
  });
  it("mean absolute (percentage) error, logcosh, poisson, msle, kld, cosine", () => {
    expect(one({ loss: "meanAbsoluteError", fused: false }, [1, -1], [0, 1]).loss).toBe(1.5);
    expect(one({ loss: "meanAbsolutePercentageError", fused: false }, [1.5, 1], [2, -4]).loss).toBe(75);
    expect(one({ loss: "logcosh", fused: false }, [1, 0], [0, 0]).loss).toBeCloseTo(
      Math.log(Math.cosh(1)) / 2,
      15,
    );
    expect(one({ loss: "poisson", fused: false }, [2], [3]).loss).toBeCloseTo(2 - 3 * Math.log(2 + 1e-7), 14);
    expect(one({ loss: "meanSquaredLogarithmicError", fused: false }, [Math.E - 1], [0]).loss).toBeCloseTo(
      (1 - Math.log1p(1e-7)) ** 2,
      14,
    );
    expect(
      one({ loss: "kullbackLeiblerDivergence", fused: false }, [0.25, 0.75], [0.5, 0.5]).loss,
    ).toBeCloseTo(0.5 * Math.log(2) + 0.5 * Math.log(2 / 3), 15);
    expect(one({ loss: "cosineProximity", fused: false }, [2, 0], [3, 0]).loss).toBe(-1);
    expect(one({ loss: "cosineProximity", fused: false }, [0, 2], [3, 0])).toEqual({
      loss: 0,
      grad: [-0.5, 0],
    });
  });
  it("label smoothing mixes the targets with the uniform distribution", () => {
    // Binary on logit 0: −[t' log ½ + (1 − t') log ½] = log 2 whatever t'.
    expect(one({ loss: "binaryCrossentropy", fused: "sigmoid", labelSmoothing: 0.4 }, [0], [1])).toEqual({
      loss: Math.LN2,
      grad: [0.5 - 0.8],
    });
    // Sparse on logits [0, 0]: t' = [0.9, 0.1] with s = 0.2 over k = 2; y = [½, ½], gradient y − t'.
    const r = one(
      { loss: "sparseCategoricalCrossentropy", fused: "softmax", labelSmoothing: 0.2 },
      [0, 0],
      [0],
    );
    expect(r.loss).toBeCloseTo(Math.LN2, 15);
    // one label for the row: the sparse loss reads t[0] only
    expect(r.grad[0]).toBeCloseTo(-0.4, 15);
    expect(r.grad[1]).toBeCloseTo(0.4, 15);
  });
});

describe("extreme values give finite losses and gradients", () => {
  const cases: [LossCase["kind"], number[], number[]][] = [
    [{ loss: "categoricalCrossentropy", fused: "softmax", fromLogits: true }, [1000, -1000, 0], [0, 1, 0]],
    [
      { loss: "binaryCrossentropy", fused: "sigmoid", fromLogits: true, labelSmoothing: 1 },
      [1e6, -1e6],
      [1, 0],
    ],
    [{ loss: "logcosh", fused: false }, [1e300, -1e300], [0, 0]],
    [{ loss: "huber", fused: false, delta: 1e-300 }, [1e300, 0], [0, 0]],
    [{ loss: "meanAbsolutePercentageError", fused: false }, [1, 0], [0, 0]],
    [{ loss: "meanSquaredLogarithmicError", fused: false }, [-5, 1e300], [0, 0]],
    [{ loss: "kullbackLeiblerDivergence", fused: false }, [0, 1, 5], [0.5, 0.5, 0]],
    [{ loss: "cosineProximity", fused: false }, [0, 0], [0, 0]],
    [{ loss: "poisson", fused: false }, [0, 0], [1, 0]],
  ];
  it.each(cases)("%o", (kind, pred, t) => {
    const g = new Float64Array(pred.length);
    const loss = lossAndGrad(kind, Float64Array.from(pred), Float64Array.from(t), 1, pred.length, g, 1);
    expect(Number.isFinite(loss)).toBe(true);
    expect(g.every(Number.isFinite)).toBe(true);
  });
});

describe("spelling and options", () => {
  const base = (loss: ModelSpec["loss"], act: "linear" | "softmax" = "linear"): ModelSpec => ({
    inputShape: [2],
    layers: [{ type: "dense", units: 3, activation: act }],
    loss,
  });
  const data = {
    n: 2,
    x: Float64Array.from([0.1, -0.4, 0.7, 0.2]),
    y: Float64Array.from([1, 0, 0, 0, 0, 1]),
  };
  const run = (spec: ModelSpec) => computeGradients({ model: spec, seed: 3, data });
  it("the object form with default options is the string form, bit for bit", () => {
    for (const [name, obj, act] of [
      ["huber", { type: "huber", delta: 1 }, "linear"],
      ["hinge", { type: "hinge" }, "linear"],
      [
        "categoricalCrossentropy",
        { type: "categoricalCrossentropy", fromLogits: false, labelSmoothing: 0 },
        "softmax",
      ],
      ["meanSquaredError", { type: "meanSquaredError" }, "linear"],
    ] as const) {
      const a = run(base(name, act));
      const b = run(base(obj, act));
      expect(b.loss).toBe(a.loss);
      expect(b.gradients).toEqual(a.gradients);
    }
  });
  it("fromLogits on a linear output equals the fused softmax of the same logits", () => {
    const fused = run(base("categoricalCrossentropy", "softmax"));
    const logits = run(base({ type: "categoricalCrossentropy", fromLogits: true }));
    expect(logits.loss).toBe(fused.loss);
    expect(logits.gradients).toEqual(fused.gradients);
  });
  it("bad options and outputs are errors naming the field", () => {
    const err = (spec: ModelSpec) => {
      try {
        describeModel(spec);
      } catch (e) {
        return e as { path: unknown; message: string };
      }
      throw new Error("no error");
    };
    expect(err(base({ type: "huber", delta: 0 })).path).toEqual(["loss", "delta"]);
    expect(err(base({ type: "huber", delta: Number.NaN })).path).toEqual(["loss", "delta"]);
    expect(err(base({ type: "binaryCrossentropy", fromLogits: true, labelSmoothing: 1.5 })).path).toEqual([
      "loss",
      "labelSmoothing",
    ]);
    const poisson = err(base("poisson"));
    expect(poisson.path).toEqual(["loss"]);
    expect(poisson.message).toMatch(/poisson needs a non-negative output/);
    const logits = err(base("binaryCrossentropy"));
    expect(logits.message).toMatch(/needs probabilities.*or set fromLogits/);
    const vector: ModelSpec = {
      inputShape: [2, 2, 1],
      layers: [{ type: "conv2d", filters: 2, kernelSize: 1 }],
      loss: "cosineProximity",
    };
    expect(err(vector).message).toMatch(/cosineProximity needs a vector output/);
    // Element-wise losses take any output shape.
    expect(describeModel({ ...vector, loss: { type: "huber", delta: 2 } }).outputShape).toEqual([2, 2, 2]);
  });
});

describe("accuracy: the hinges and cross-entropies are classifiers, the regression losses are not", () => {
  const x = Float64Array.from([0.5, -1, 1, 0.2, -0.3, 0.8]);
  const opts = (loss: ModelSpec["loss"], y: number[]) =>
    train({
      model: { inputShape: [2], layers: [{ type: "dense", units: 1 }], loss },
      data: { n: 3, x, y: Float64Array.from(y) },
      optimizer: { type: "sgd", learningRate: 0.1 },
      epochs: 2,
      seed: 1,
    });
  it("hinge reports accuracy, huber does not", () => {
    expect(opts("hinge", [1, -1, 1]).history.accuracy).toHaveLength(2);
    expect(opts({ type: "huber", delta: 0.5 }, [1, -1, 1]).history).not.toHaveProperty("accuracy");
    expect(
      describeModel({ inputShape: [1], layers: [{ type: "dense", units: 1 }], loss: "logcosh" })
        .classification,
    ).toBe(false);
  });
  it("counts a hinge prediction by its sign, a binary logit at 0", () => {
    const out = Float64Array.from([0.3, -0.2, 0.1, -4]);
    const three = { correct: 3, counted: 4 };
    expect(countCorrect("hinge", [1], out, Float64Array.from([1, 0, -1, -1]), 4)).toEqual(three);
    expect(
      countCorrect(
        { type: "binaryCrossentropy", fromLogits: true },
        [1],
        out,
        Float64Array.from([1, 0, 0, 0]),
        4,
      ),
    ).toEqual(three);
    expect(countCorrect("binaryCrossentropy", [1], out, Float64Array.from([1, 0, 0, 0]), 4)).toEqual(three);
    expect(countCorrect("poisson", [1], out, Float64Array.from([1, 0, 0, 0]), 4)).toBeNull();
  });
  it("on several units a hinge's accuracy is categorical (Keras' and tfjs' choice), not per element", () => {
    // Two samples of 3 units, softmax-like outputs (all > 0) and one-hot targets: the argmax is
    // right for the first sample only. Per element (y > 0 against t > 0) it would be 1/3 + 1/3.
    const probs = Float64Array.from([0.7, 0.2, 0.1, 0.5, 0.3, 0.2]);
    const oneHot = Float64Array.from([1, 0, 0, 0, 1, 0]);
    for (const loss of ["hinge", "squaredHinge", "categoricalHinge"] as const)
      expect(countCorrect(loss, [3], probs, oneHot, 2)).toEqual({ correct: 1, counted: 2 });
  });
  it("the confusion matrix of a 3-unit hinge classifier is 3 × 3", () => {
    const r = train({
      model: { inputShape: [2], layers: [{ type: "dense", units: 3, activation: "softmax" }], loss: "hinge" },
      data: { n: 3, x, y: Float64Array.from([1, 0, 0, 0, 1, 0, 0, 0, 1]) },
      optimizer: { type: "sgd", learningRate: 0.1 },
      epochs: 1,
      seed: 1,
    });
    expect(r.confusionMatrix!.labels).toEqual([0, 1, 2]);
    const correct = r.confusionMatrix!.train.reduce((s, row, i) => s + row[i]!, 0);
    expect(r.metrics.accuracy).toBe(correct / 3);
  });
});
