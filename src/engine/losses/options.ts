import type { LossName, LossSpec } from "../spec.js";

/** A loss spec with every option filled in with Keras' default (docs/backprop.md §14). */
export interface ResolvedLoss {
  loss: LossName;
  /** Cross-entropies: the model output is read as logits. */
  fromLogits: boolean;
  /** Cross-entropies: the label-smoothing factor in [0, 1]. */
  labelSmoothing: number;
  /** Huber: the threshold between the quadratic and the linear part. */
  delta: number;
}

/** The loss's name, in either form (`"huber"` or `{ type: "huber", delta: 2 }`). */
export function lossName(loss: LossSpec): LossName {
  return typeof loss === "string" ? loss : loss.type;
}

/** The loss with its options resolved to their defaults (`fromLogits` false, `labelSmoothing` 0, `delta` 1). */
export function resolveLoss(loss: LossSpec): ResolvedLoss {
  const o = typeof loss === "string" ? { type: loss } : loss;
  return {
    loss: o.type,
    fromLogits: ("fromLogits" in o && o.fromLogits) || false,
    labelSmoothing: ("labelSmoothing" in o && o.labelSmoothing) || 0,
    delta: "delta" in o && o.delta !== undefined ? o.delta : 1,
  };
}

/** Whether the loss takes one integer class label per sample instead of a target vector. */
export function takesLabels(loss: LossSpec): boolean {
  return lossName(loss) === "sparseCategoricalCrossentropy";
}

/**
 * Whether the loss trains a classifier, for which the history reports an accuracy
 * (docs/backprop.md §14.4): the three cross-entropies and the three hinges. The regression losses (squared, absolute, percentage,
 * logarithmic, Huber, log-cosh, Poisson) and the distribution or direction losses
 * (Kullback-Leibler, cosine proximity) report none.
 */
export function isClassifier(loss: LossSpec): boolean {
  switch (lossName(loss)) {
    case "categoricalCrossentropy":
    case "sparseCategoricalCrossentropy":
    case "binaryCrossentropy":
    case "hinge":
    case "squaredHinge":
    case "categoricalHinge":
      return true;
    default:
      return false;
  }
}
