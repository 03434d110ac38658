/**
 * batchNormalization and layerNormalization against tfjs-layers' own layers (cpu, float32) on the
 * same weights and inputs (docs/backprop.md §19): forward in training and inference, the gradients
 * of gamma, beta and the input, the moving statistics after one call and after a few `model.fit`
 * SGD steps; and the two facts of tfjs' moving update (the biased variance, `momentum` weighting
 * the old value).
 */
import * as tf from "@tensorflow/tfjs";
import { describe, expect, it } from "vitest";
import { initWeights, type ModelSpec, train } from "../../src/engine/index.js";
import type { BatchNormalization } from "../../src/engine/layers/batch-normalization.js";
import { INFERENCE, type Layer, type LayerMode, TRAINING_STEP } from "../../src/engine/layers/layer.js";
import { LayerNormalization } from "../../src/engine/layers/layer-normalization.js";
import type { Model } from "../../src/engine/model.js";
import { seededModel, uniformBatch } from "./normalization-helpers.js";
import { maxRelativeError, tfReady } from "./tfjs-reference.js";

const TOLERANCE = 1e-4;
const f32 = (a: ArrayLike<number>) => Float32Array.from(a);

/** Our single normalisation layer of `spec` (its only layer), weights drawn by `seededModel`. */
function ours(
  spec: ModelSpec,
  seed: number,
): { model: Model; layer: Layer & { params(): { value: Float64Array }[] } } {
  const model = seededModel(spec, seed);
  return { model, layer: model.layers[0] as Layer & { params(): { value: Float64Array }[] } };
}

/**
 * tfjs' pass of `layer` on `x` in `training` mode: the output, and the gradients of `Σ dy ⊙ y`
 * with respect to the input and the layer's trainable weights (in its order: gamma, beta).
 * Every `apply` in training mode also updates tfjs' moving statistics, so it applies once.
 */
function tfjsPass(
  layer: tf.layers.Layer,
  x: Float64Array,
  shape: number[],
  n: number,
  dy: Float64Array,
  training: boolean,
): { output: Float32Array; dx: Float32Array; grads: Float32Array[] } {
  return tf.tidy(() => {
    const xs = tf.tensor(f32(x), [n, ...shape]);
    const dyt = tf.tensor(f32(dy), [n, ...shape]);
    const vars = layer.trainableWeights.map((w) => w.read() as tf.Variable);
    let output: Float32Array = new Float32Array(0);
    const xv = tf.variable(xs);
    const { grads } = tf.variableGrads(() => {
      const y = layer.apply(xv, { training }) as tf.Tensor;
      output = y.dataSync() as Float32Array;
      return tf.sum(tf.mul(y, dyt)) as tf.Scalar;
    }, [xv, ...vars]);
    const out = {
      output,
      dx: grads[xv.name]!.dataSync() as Float32Array,
      grads: vars.map((v) => grads[v.name]!.dataSync() as Float32Array),
    };
    xv.dispose();
    return out;
  });
}

/** Our output and `backward(dy)` of `layer` in `mode`, with the gamma and beta gradients. */
function ourPass(model: Model, layer: Layer, x: Float64Array, n: number, dy: Float64Array, mode: LayerMode) {
  model.setMode(mode);
  model.zeroGrads();
  const output = Float64Array.from(layer.forward(x, n));
  const dx = Float64Array.from(layer.backward(dy, n));
  return {
    output,
    dx,
    grads: layer.params().map((p) => Float64Array.from((p as { grad: Float64Array }).grad)),
  };
}

/**
 * `broadcast`: the channel axis is not the last. There tfjs' batchNorm kernels have no gradient
 * (tfjs issue 2120: "Size(48) must match the product of shape 1,3,1,1"), and the cpu kernel reads
 * the [1, c, 1, 1] statistics by flat index modulo c, as if the channels were last, so the layer's
 * output is wrong. The output is compared with the formula in broadcasting tfjs ops instead (and
 * the moving statistics, which tfjs computes with `tf.moments`, with the layer's); central
 * differences check our gradients there.
 */
const bnCases: {
  title: string;
  inputShape: number[];
  axis?: number;
  momentum?: number;
  broadcast?: boolean;
}[] = [
  { title: "[b, f], axis -1", inputShape: [5] },
  { title: "[b, h, w, c], axis -1", inputShape: [3, 3, 2], momentum: 0.7 },
  { title: "[b, h, w, c], axis 1", inputShape: [3, 2, 2], axis: 1, momentum: 0.5, broadcast: true },
  { title: "[b, s, f], axis 2", inputShape: [3, 4], axis: 2 },
];

/**
 * Batch normalisation over channel axis `axis` (of `[n, ...shape]`) in broadcasting tfjs ops:
 * `γ·(x − μ)/√(σ² + ε) + β` with the batch's moments (training) or the given moving ones.
 */
function tfjsBroadcastForward(
  weights: Float64Array[],
  x: Float64Array,
  shape: number[],
  n: number,
  axis: number,
  training: boolean,
): Float32Array {
  return tf.tidy(() => {
    const xs = tf.tensor(f32(x), [n, ...shape]);
    const rank = shape.length + 1;
    const bshape = Array.from({ length: rank }, (_, k) => (k === axis ? shape[axis - 1]! : 1));
    const [gamma, beta, mm, mv] = weights.map((w) => tf.tensor(f32(w), bshape));
    const reduce = Array.from({ length: rank }, (_, k) => k).filter((k) => k !== axis);
    const { mean, variance } = training ? tf.moments(xs, reduce, true) : { mean: mm!, variance: mv! };
    const normed = tf.div(tf.sub(xs, mean), tf.sqrt(tf.add(variance, 1e-3)));
    return tf.add(tf.mul(normed, gamma!), beta!).dataSync() as Float32Array;
  });
}

describe("batchNormalization equals tfjs-layers' (relative error < 1e-4)", () => {
  for (const c of bnCases)
    for (const training of [true, false])
      it(`${c.title}, ${training ? "training" : "inference"}: output, gradients of gamma, beta, input, moving statistics`, async () => {
        await tfReady();
        const spec: ModelSpec = {
          inputShape: c.inputShape,
          layers: [
            {
              type: "batchNormalization",
              ...(c.axis !== undefined ? { axis: c.axis } : {}),
              ...(c.momentum !== undefined ? { momentum: c.momentum } : {}),
            },
          ],
          loss: "meanSquaredError",
        };
        const { model, layer } = ours(spec, 3);
        const n = 4;
        const size = model.inputSize;
        const x = uniformBatch(n, size, 5, -2, 3);
        const dy = uniformBatch(n, size, 6);
        const bn = tf.layers.batchNormalization({
          ...(c.axis !== undefined ? { axis: c.axis } : {}),
          ...(c.momentum !== undefined ? { momentum: c.momentum } : {}),
        });
        bn.build([null, ...c.inputShape]);
        bn.setWeights(model.weights().map((p) => tf.tensor(f32(p.value), p.shape)));
        const mine = ourPass(model, layer, x, n, dy, training ? TRAINING_STEP : INFERENCE);
        if (c.broadcast) {
          const weights = model.weights().map((p) => Float64Array.from(p.value));
          // Training reads the batch's moments; inference our moving statistics, which it left unchanged.
          const output = tfjsBroadcastForward(weights, x, c.inputShape, n, c.axis!, training);
          tf.tidy(() => {
            bn.apply(tf.tensor(f32(x), [n, ...c.inputShape]), { training });
          });
          expect(maxRelativeError(mine.output, output), "output").toBeLessThan(TOLERANCE);
        } else {
          const theirs = tfjsPass(bn, x, c.inputShape, n, dy, training);
          expect(maxRelativeError(mine.output, theirs.output), "output").toBeLessThan(TOLERANCE);
          expect(maxRelativeError(mine.dx, theirs.dx), "dx").toBeLessThan(TOLERANCE);
          expect(maxRelativeError(mine.grads[0]!, theirs.grads[0]!), "gamma").toBeLessThan(TOLERANCE);
          expect(maxRelativeError(mine.grads[1]!, theirs.grads[1]!), "beta").toBeLessThan(TOLERANCE);
        }
        // Moving statistics after the one call (updated in training, unchanged in inference).
        const [, , mm, mv] = bn.getWeights().map((w) => w.dataSync() as Float32Array);
        const b = layer as unknown as BatchNormalization;
        expect(maxRelativeError(b.movingMean.value, mm!), "moving_mean").toBeLessThan(TOLERANCE);
        expect(maxRelativeError(b.movingVariance.value, mv!), "moving_variance").toBeLessThan(TOLERANCE);
      });

  it("tfjs' moving update: biased variance (no m/(m − 1)), momentum weighting the old value", async () => {
    await tfReady();
    const x = [1, 2, 3, 6]; // feature 0: 1, 3 (mean 2, variance 1); feature 1: 2, 6 (mean 4, variance 4)
    for (const momentum of [0, 0.9]) {
      const bn = tf.layers.batchNormalization({ momentum });
      bn.build([null, 2]);
      tf.tidy(() => {
        bn.apply(tf.tensor2d(x, [2, 2]), { training: true });
      });
      const [, , mm, mv] = bn.getWeights().map((w) => Array.from(w.dataSync()));
      // From zeros and ones: momentum·old + (1 − momentum)·batch.
      expect(mm![0]).toBeCloseTo((1 - momentum) * 2, 6);
      expect(mm![1]).toBeCloseTo((1 - momentum) * 4, 6);
      // Biased: 1 and 4, not the unbiased 2 and 8.
      expect(mv![0]).toBeCloseTo(momentum + (1 - momentum) * 1, 6);
      expect(mv![1]).toBeCloseTo(momentum + (1 - momentum) * 4, 6);
    }
  });

  it("moving statistics and every weight after a few model.fit SGD steps equal train()'s", async () => {
    await tfReady();
    const spec: ModelSpec = {
      inputShape: [3],
      layers: [
        { type: "dense", units: 4, activation: "tanh" },
        { type: "batchNormalization", momentum: 0.6 },
        { type: "dense", units: 2 },
      ],
      loss: "meanSquaredError",
    };
    const n = 12;
    const x = uniformBatch(n, 3, 31, -2, 2);
    const y = uniformBatch(n, 2, 32);
    const initial = initWeights(spec, 9);
    const result = train({
      model: spec,
      data: { n, x, y },
      optimizer: { type: "sgd", learningRate: 0.1 },
      epochs: 2,
      batchSize: 4,
      shuffle: false,
      seed: 9,
      initialWeights: initial,
    });
    const tfModel = tf.sequential({
      layers: [
        tf.layers.dense({ units: 4, activation: "tanh", inputShape: [3] }),
        tf.layers.batchNormalization({ momentum: 0.6 }),
        tf.layers.dense({ units: 2 }),
      ],
    });
    const keys = Object.keys(initial);
    // Layer by layer: tfjs' model-level order lists every trainable weight before the others.
    const tensor = (k: string) => tf.tensor(f32(initial[k]!.data), initial[k]!.shape);
    tfModel.layers.forEach((l, i) => {
      l.setWeights(keys.filter((k) => k.startsWith(`${spec.layers[i]!.type}_${i}/`)).map(tensor));
    });
    tfModel.compile({ optimizer: tf.train.sgd(0.1), loss: "meanSquaredError" });
    const xs = tf.tensor2d(f32(x), [n, 3]);
    const ys = tf.tensor2d(f32(y), [n, 2]);
    await tfModel.fit(xs, ys, { batchSize: 4, epochs: 2, shuffle: false, verbose: 0 });
    const after = tfModel.layers.flatMap((l) => l.getWeights().map((w) => w.dataSync() as Float32Array));
    keys.forEach((k, i) => {
      expect(maxRelativeError(result.weights[k]!.data, after[i]!), k).toBeLessThan(TOLERANCE);
    });
    // The moving statistics did move, so the comparison means something.
    expect(
      Array.from(result.weights["batchNormalization_1/moving_mean"]!.data).some((v) => Math.abs(v) > 0.01),
    ).toBe(true);
    tf.dispose([xs, ys]);
    tfModel.dispose();
  });
});

const lnCases: { title: string; inputShape: number[]; axis?: number | number[] }[] = [
  { title: "[b, f], axis -1", inputShape: [5] },
  { title: "[b, h, w, c], axis [1, 2]", inputShape: [3, 2, 2], axis: [1, 2] },
  { title: "[b, s, f], axes listed out of order [2, 1]", inputShape: [2, 3], axis: [2, 1] },
  { title: "[b, h, w, c], axis -1", inputShape: [2, 2, 3] },
];

describe("layerNormalization equals tfjs-layers' (relative error < 1e-4)", () => {
  for (const c of lnCases)
    it(`${c.title}: output, gradients of gamma, beta, input`, async () => {
      await tfReady();
      const spec: ModelSpec = {
        inputShape: c.inputShape,
        layers: [{ type: "layerNormalization", ...(c.axis !== undefined ? { axis: c.axis } : {}) }],
        loss: "meanSquaredError",
      };
      const { model, layer } = ours(spec, 4);
      const n = 3;
      const size = model.inputSize;
      const x = uniformBatch(n, size, 7, -2, 3);
      const dy = uniformBatch(n, size, 8);
      const ln = tf.layers.layerNormalization(c.axis !== undefined ? { axis: c.axis } : {});
      ln.build([null, ...c.inputShape]);
      ln.setWeights(model.weights().map((p) => tf.tensor(f32(p.value), p.shape)));
      const theirs = tfjsPass(ln, x, c.inputShape, n, dy, true);
      const mine = ourPass(model, layer, x, n, dy, TRAINING_STEP);
      expect(layer).toBeInstanceOf(LayerNormalization);
      expect(maxRelativeError(mine.output, theirs.output), "output").toBeLessThan(TOLERANCE);
      expect(maxRelativeError(mine.dx, theirs.dx), "dx").toBeLessThan(TOLERANCE);
      expect(maxRelativeError(mine.grads[0]!, theirs.grads[0]!), "gamma").toBeLessThan(TOLERANCE);
      expect(maxRelativeError(mine.grads[1]!, theirs.grads[1]!), "beta").toBeLessThan(TOLERANCE);
    });
});
