/**
 * Per-step categorical losses against TensorFlow.js (cpu, float32) on the same weights: a tfjs-layers
 * model lstm (returnSequences) → timeDistributed dense softmax (or a Dense on the lstm's 3-D output,
 * which tfjs-layers applies to the last axis), compiled with
 * categoricalCrossentropy or sparseCategoricalCrossentropy. Without a mask its own training loss
 * (the loss function `compile` chose, then `tf.mean` over batch and steps, as
 * tfjs-layers/dist/engine/training.js computes it) and its gradients must match ours to float32
 * precision (relative error < 1e-4), and `model.evaluate` gives the same loss.
 *
 * With a mask tfjs-layers 4.22 does not mask the loss: training.js takes
 * `tfc.mean(lossFunction(targets, outputs))` over every step ("TODO(cais): Add logic for output
 * masks", "Add weightedLoss, sampleWeight and mask"). So the masked case runs tfjs' own
 * embedding(maskZero) → lstm → timeDistributed model (its layers carry the mask into the lstm),
 * takes tfjs' per-step loss `[batch, T]` and applies Keras 3's rule `Σ m·l / Σ m` in tf ops
 * (docs/backprop.md §21.1).
 */
import * as tf from "@tensorflow/tfjs";
import { describe, expect, it } from "vitest";
import { computeGradients, type ModelSpec, type NamedTensors } from "../../src/engine/index.js";
import { Rng } from "../../src/engine/rng.js";
import { C, liveWeights, oneHot, paddedSamples, T, tagger } from "./step-data.js";
import { maxRelativeError, tfReady } from "./tfjs-reference.js";

type StepLoss = "categoricalCrossentropy" | "sparseCategoricalCrossentropy";
type Head = "timeDistributed" | "dense";
const LOSSES: StepLoss[] = ["categoricalCrossentropy", "sparseCategoricalCrossentropy"];
const CASES = LOSSES.flatMap((loss) =>
  (["timeDistributed", "dense"] as const).map((head) => ({ loss, head })),
);
const F = 2;

/** lstm (returnSequences) → timeDistributed dense C softmax (or `head` dense) on `[T, F]` inputs (no mask). */
function unmaskedTagger(loss: StepLoss, head: Head): ModelSpec {
  const dense = { type: "dense", units: C, activation: "softmax" } as const;
  return {
    inputShape: [T, F],
    layers: [
      { type: "lstm", name: "r", units: 3, returnSequences: true, recurrentActivation: "sigmoid" },
      head === "dense" ? { ...dense, name: "d" } : { type: "timeDistributed", name: "d", layer: dense },
    ],
    loss,
  };
}

/**
 * The same model in tfjs-layers, compiled with `loss`, loaded with `weights` (our order is
 * Keras', tfjs' too): the loss and the gradient of every weight, tfjs differentiating its own
 * training loss; `masked`: the ids' mask applied to tfjs' per-step loss instead of its mean.
 */
async function tfjsLoss(
  spec: ModelSpec,
  weights: NamedTensors,
  x: Float64Array,
  y: Float64Array,
  n: number,
  masked: boolean,
  head: Head,
) {
  await tfReady();
  const loss = spec.loss as StepLoss;
  const dense = tf.layers.dense({ units: C, activation: "softmax" });
  const model = tf.sequential({
    layers: [
      ...(masked
        ? [
            tf.layers.embedding({
              inputDim: 6,
              outputDim: 2,
              maskZero: true,
              inputLength: T,
              inputShape: [T],
            }),
          ]
        : []),
      tf.layers.lstm({
        units: 3,
        returnSequences: true,
        recurrentActivation: "sigmoid",
        ...(masked ? {} : { inputShape: [T, F] }),
      }),
      head === "dense" ? dense : tf.layers.timeDistributed({ layer: dense }),
    ],
  });
  model.compile({ optimizer: "sgd", loss });
  const keys = Object.keys(weights);
  model.setWeights(keys.map((k) => tf.tensor(Float32Array.from(weights[k]!.data), weights[k]!.shape)));
  const xs = masked
    ? tf.tensor2d(Float32Array.from(x), [n, T])
    : tf.tensor3d(Float32Array.from(x), [n, T, F]);
  const ys =
    loss === "sparseCategoricalCrossentropy"
      ? tf.tensor3d(Float32Array.from(y), [n, T, 1])
      : tf.tensor3d(Float32Array.from(y), [n, T, C]);
  // A Sequential compiles its inner LayersModel: the loss function its training applies.
  const inner = (
    model as unknown as { model: { lossFunctions: ((t: tf.Tensor, p: tf.Tensor) => tf.Tensor)[] } }
  ).model;
  const lossFn = inner.lossFunctions[0]!;
  const vars = model.trainableWeights.map((w) => w.read() as tf.Variable);
  const { value, grads } = tf.variableGrads(() => {
    const perStep = lossFn(ys, model.apply(xs) as tf.Tensor);
    if (!masked) return tf.mean(perStep) as tf.Scalar;
    const m = tf.cast(tf.notEqual(xs, 0), "float32");
    return tf.div(tf.sum(tf.mul(perStep, m)), tf.sum(m)) as tf.Scalar;
  }, vars);
  const gradients = Object.fromEntries(
    keys.map((k, i) => [k, grads[vars[i]!.name]!.dataSync() as Float32Array]),
  );
  const evaluated = masked
    ? undefined
    : (await (model.evaluate(xs, ys, { batchSize: n }) as tf.Scalar).data())[0];
  const result = { loss: value.dataSync()[0]!, gradients, evaluated };
  tf.dispose([xs, ys, value, ...Object.values(grads)]);
  model.dispose();
  return result;
}

/** Our loss and gradients next to tfjs': every gradient within float32 tolerance. */
function expectAgreement(
  ours: { loss: number; gradients: NamedTensors },
  theirs: { loss: number; gradients: Record<string, Float32Array> },
) {
  expect(Math.abs(ours.loss - theirs.loss) / ours.loss).toBeLessThan(1e-5);
  for (const [key, g] of Object.entries(ours.gradients)) {
    expect(maxRelativeError(g.data, theirs.gradients[key]!), key).toBeLessThan(1e-4);
    expect(Math.max(...[...g.data].map(Math.abs)), key).toBeGreaterThan(1e-3);
  }
}

describe("per-step losses equal to TensorFlow.js (cpu, float32)", () => {
  it.each(CASES)(
    "$loss after $head, no mask: tfjs' own training loss (the mean over batch and steps) and its gradients",
    async ({ loss, head }) => {
      const spec = unmaskedTagger(loss, head);
      const n = 4;
      const rng = new Rng(12);
      const x = Float64Array.from({ length: n * T * F }, () => rng.uniform(-1.5, 1.5));
      const labels = Float64Array.from({ length: n * T }, () => rng.int(C));
      const y = loss === "sparseCategoricalCrossentropy" ? labels : oneHot(labels);
      const weights = liveWeights(spec, 5);
      const ours = computeGradients({ model: spec, seed: 1, weights, data: { n, x, y } });
      const theirs = await tfjsLoss(spec, weights, x, y, n, false, head);
      expectAgreement(ours, theirs);
      expect(Math.abs(ours.loss - theirs.evaluated!) / ours.loss).toBeLessThan(1e-5);
    },
  );

  it.each(CASES)(
    "$loss after $head with a mask: tfjs' per-step loss under Σ m·l / Σ m in tf ops",
    async ({ loss, head }) => {
      const spec = tagger(loss, "lstm", true, head);
      for (const l of spec.layers) if (l.type === "lstm") l.recurrentActivation = "sigmoid";
      const n = 6;
      // The padding before the real steps: the lstm's state must pass over it unchanged (tfjs'
      // Sequential hands the embedding's mask to the lstm), or every real step differs.
      const { x, labels } = paddedSamples(n, 31, true);
      const y = loss === "sparseCategoricalCrossentropy" ? labels : oneHot(labels);
      const weights = liveWeights(spec, 8);
      const ours = computeGradients({ model: spec, seed: 1, weights, data: { n, x, y } });
      const theirs = await tfjsLoss(spec, weights, x, y, n, true, head);
      expectAgreement(ours, theirs);
    },
  );
});
