/** Fuzz generators: the losses, their groups (classifiers, vector losses) and the loss as a request writes it. */

import { LOSS_NAMES } from "../../src/schemas/model.js";
import type { Tree, TreeObject } from "./json-text.js";
import type { Rand } from "./rand.js";

/** Every loss the schema takes: a loss added there is fuzzed without another list to keep. */
export const LOSSES = LOSS_NAMES;
export type Loss = (typeof LOSSES)[number];

export const CROSSENTROPIES: readonly Loss[] = [
  "categoricalCrossentropy",
  "sparseCategoricalCrossentropy",
  "binaryCrossentropy",
];
/** The classifiers' losses: classWeight and the classification metrics apply to them. */
export const CLASSIFIER_LOSSES: readonly Loss[] = [
  ...CROSSENTROPIES,
  "hinge",
  "squaredHinge",
  "categoricalHinge",
];
/** `metrics` for a classifier's loss and for the others (docs/backprop.md §20.3). */
export const CLASSIFICATION_METRICS = ["accuracy", "precision", "recall", "auc"] as const;
export const REGRESSION_METRICS = [
  "meanAbsoluteError",
  "meanSquaredError",
  "rootMeanSquaredError",
  "r2",
] as const;

/** Losses that read a sample's output as one vector (the model must end on a vector). */
export const VECTOR_LOSSES: readonly Loss[] = [
  "categoricalCrossentropy",
  "sparseCategoricalCrossentropy",
  "categoricalHinge",
  "kullbackLeiblerDivergence",
  "cosineProximity",
];

/**
 * The loss as the request writes it: its name, or the object form with options, sometimes at
 * their extremes (labelSmoothing 0 or 1, a delta of 1e-300 or 1e300).
 */
export function genLoss(r: Rand, loss: Loss): { tree: Tree; fromLogits: boolean } {
  if (r.bool(0.5)) return { tree: loss, fromLogits: false };
  const o: TreeObject = { type: loss };
  let fromLogits = false;
  if (CROSSENTROPIES.includes(loss)) {
    if (r.bool(0.5)) {
      fromLogits = r.bool(0.6);
      o.fromLogits = fromLogits;
    }
    if (r.bool(0.5)) o.labelSmoothing = r.bool(0.2) ? r.pick([0, 1]) : r.num(0, 1);
  }
  if (loss === "huber" && r.bool(0.7)) o.delta = r.bool(0.2) ? r.pick([1e-300, 1e300]) : r.num(0.01, 5);
  return { tree: o, fromLogits };
}
