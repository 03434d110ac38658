/**
 * Predictions and targets for every loss, drawn away from the kinks (|y − t| ≠ 0, hinge margins
 * ≠ 0, clip bounds) so central differences are exact to ~1e-10; shared by the loss tests.
 */
import type { LossKind } from "../../src/engine/losses.js";
import { Rng } from "../../src/engine/rng.js";
import type { LossName, LossSpec } from "../../src/engine/spec.js";

export interface LossCase {
  name: string;
  spec: LossSpec;
  kind: LossKind;
  /** What the predictions are: logits, probabilities (softmax rows), positive values, or any. */
  pred: "any" | "softmax" | "positive" | "probability";
  /** What the targets are. */
  target: "any" | "onehot" | "label" | "binary" | "sign" | "distribution" | "counts" | "nonzero";
}

const plain = (loss: LossName, pred: LossCase["pred"], target: LossCase["target"]): LossCase => ({
  name: loss,
  spec: loss,
  kind: { loss, fused: false },
  pred,
  target,
});

/** One case per loss and option the engine has (fused kinds take logits). */
export const LOSS_CASES: LossCase[] = [
  plain("meanAbsoluteError", "any", "any"),
  plain("meanAbsolutePercentageError", "any", "nonzero"),
  plain("meanSquaredLogarithmicError", "positive", "counts"),
  plain("huber", "any", "any"),
  {
    name: "huber delta 0.3",
    spec: { type: "huber", delta: 0.3 },
    kind: { loss: "huber", fused: false, delta: 0.3 },
    pred: "any",
    target: "any",
  },
  plain("logcosh", "any", "any"),
  plain("hinge", "any", "sign"),
  { ...plain("hinge", "any", "binary"), name: "hinge, 0/1 labels" },
  plain("squaredHinge", "any", "sign"),
  { ...plain("squaredHinge", "any", "binary"), name: "squaredHinge, 0/1 labels" },
  plain("categoricalHinge", "any", "onehot"),
  plain("kullbackLeiblerDivergence", "softmax", "distribution"),
  plain("poisson", "positive", "counts"),
  plain("cosineProximity", "any", "any"),
  {
    name: "categoricalCrossentropy fromLogits labelSmoothing 0.1",
    spec: { type: "categoricalCrossentropy", fromLogits: true, labelSmoothing: 0.1 },
    kind: { loss: "categoricalCrossentropy", fused: "softmax", fromLogits: true, labelSmoothing: 0.1 },
    pred: "any",
    target: "onehot",
  },
  {
    name: "sparseCategoricalCrossentropy fromLogits labelSmoothing 0.2",
    spec: { type: "sparseCategoricalCrossentropy", fromLogits: true, labelSmoothing: 0.2 },
    kind: { loss: "sparseCategoricalCrossentropy", fused: "softmax", fromLogits: true, labelSmoothing: 0.2 },
    pred: "any",
    target: "label",
  },
  {
    name: "binaryCrossentropy fromLogits labelSmoothing 0.3",
    spec: { type: "binaryCrossentropy", fromLogits: true, labelSmoothing: 0.3 },
    kind: { loss: "binaryCrossentropy", fused: "sigmoid", fromLogits: true, labelSmoothing: 0.3 },
    pred: "any",
    target: "binary",
  },
  {
    name: "categoricalCrossentropy on probabilities, labelSmoothing 0.1",
    spec: { type: "categoricalCrossentropy", labelSmoothing: 0.1 },
    kind: { loss: "categoricalCrossentropy", fused: false, labelSmoothing: 0.1 },
    pred: "softmax",
    target: "onehot",
  },
  {
    name: "sparseCategoricalCrossentropy on probabilities, labelSmoothing 0.1",
    spec: { type: "sparseCategoricalCrossentropy", labelSmoothing: 0.1 },
    kind: { loss: "sparseCategoricalCrossentropy", fused: false, labelSmoothing: 0.1 },
    pred: "softmax",
    target: "label",
  },
  {
    name: "binaryCrossentropy on probabilities, labelSmoothing 0.2",
    spec: { type: "binaryCrossentropy", labelSmoothing: 0.2 },
    kind: { loss: "binaryCrossentropy", fused: false, labelSmoothing: 0.2 },
    pred: "probability",
    target: "binary",
  },
];

/** Seeded predictions `[batch, k]` and targets (`[batch]` labels for the sparse loss) for a case. */
export function lossData(c: LossCase, batch: number, k: number, seed: number) {
  const rng = new Rng(seed);
  const pred = new Float64Array(batch * k);
  for (let r = 0; r < batch; r++) {
    let sum = 0;
    for (let j = 0; j < k; j++) {
      const z = rng.uniform(-2, 2);
      pred[r * k + j] =
        c.pred === "positive" ? rng.uniform(0.2, 3) : c.pred === "probability" ? rng.uniform(0.05, 0.95) : z;
      if (c.pred === "softmax") {
        pred[r * k + j] = Math.exp(z);
        sum += pred[r * k + j]!;
      }
    }
    if (c.pred === "softmax") for (let j = 0; j < k; j++) pred[r * k + j]! /= sum;
  }
  const t = new Float64Array(c.target === "label" ? batch : batch * k);
  for (let r = 0; r < batch; r++) {
    if (c.target === "label") {
      t[r] = rng.int(k);
      continue;
    }
    if (c.target === "onehot") t[r * k + rng.int(k)] = 1;
    let sum = 0;
    for (let j = 0; j < k; j++) {
      const i = r * k + j;
      if (c.target === "any") t[i] = rng.uniform(-2, 2);
      if (c.target === "nonzero") t[i] = (rng.int(2) * 2 - 1) * rng.uniform(0.3, 2);
      if (c.target === "binary") t[i] = rng.int(2);
      if (c.target === "sign") t[i] = rng.int(2) * 2 - 1;
      if (c.target === "counts") t[i] = rng.int(4);
      if (c.target === "distribution") {
        t[i] = rng.uniform(0.1, 1);
        sum += t[i]!;
      }
    }
    if (c.target === "distribution") for (let j = 0; j < k; j++) t[r * k + j]! /= sum;
  }
  return { pred, t };
}
