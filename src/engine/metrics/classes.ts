import { lossName, resolveLoss } from "../losses/options.js";
import type { LossSpec } from "../spec.js";
import type { Floats } from "../tensor.js";

/**
 * How a classifier's output is read as decisions (docs/backprop.md §20.3):
 * - `multiclass` (categorical and sparse categorical cross-entropy, categorical hinge, and hinge
 *   and squared hinge on several units): one class per sample, the output's argmax, against the
 *   label (or the target's argmax);
 * - `binary` (binary cross-entropy; hinge and squared hinge on one unit): every output element is
 *   its own yes/no decision (one unit: a binary classifier; more: multi-label, pooled over the
 *   elements).
 * Keras' and tfjs' `accuracy` choose the same way: binary for one unit or binary cross-entropy,
 * categorical otherwise.
 */
export type ClassMode = "multiclass" | "binary";

/** The decision rule of a classifier's loss (`ClassMode`), its threshold and the target's. */
export interface Decision {
  mode: ClassMode;
  /** binary: an output element is "positive" when above this: 0.5, or 0 for logits and hinges. */
  threshold: number;
  /** binary: a target element is positive when above this: 0.5 (cross-entropy), 0 (hinges' −1/1 or 0/1). */
  targetThreshold: number;
  /** multiclass: the targets are integer labels (sparse), not vectors. */
  labels: boolean;
  /** The output is logits (`fromLogits`): AUC's multi-class scores are their softmax. */
  fromLogits: boolean;
}

/**
 * The decision rule of a classifier's loss on `k` output units; `undefined` for a regression loss.
 */
export function decisionOf(loss: LossSpec, k: number): Decision | undefined {
  const name = lossName(loss);
  const { fromLogits } = resolveLoss(loss);
  switch (name) {
    case "categoricalCrossentropy":
    case "sparseCategoricalCrossentropy":
    case "categoricalHinge":
      return {
        mode: "multiclass",
        threshold: 0,
        targetThreshold: 0,
        labels: name === "sparseCategoricalCrossentropy",
        fromLogits,
      };
    case "binaryCrossentropy":
      return {
        mode: "binary",
        threshold: fromLogits ? 0 : 0.5,
        targetThreshold: 0.5,
        labels: false,
        fromLogits,
      };
    case "hinge":
    case "squaredHinge":
      return {
        mode: k === 1 ? "binary" : "multiclass",
        threshold: 0,
        targetThreshold: 0,
        labels: false,
        fromLogits: false,
      };
    default:
      return undefined;
  }
}

/** Index of the largest of `a[offset … offset + k)`, the first on a tie. */
export function argmax(a: Floats, offset: number, k: number): number {
  let best = 0;
  for (let j = 1; j < k; j++) if (a[offset + j]! > a[offset + best]!) best = j;
  return best;
}

/**
 * The class of sample `r`'s target, as Keras' `class_weight` reads it: the label (sparse), the
 * argmax of a target vector of several units (one-hot, and multi-label ones alike), and for one
 * unit 1 when the target is above `targetThreshold` (0.5; 0 for the hinges' −1/1), else 0.
 * @param t targets `[batch, k]`, or labels `[batch]` when `decision.labels`.
 */
export function targetClass(decision: Decision, t: Floats, r: number, k: number): number {
  if (decision.labels) return t[r]!;
  if (k === 1) return t[r]! > decision.targetThreshold ? 1 : 0;
  return argmax(t, r * k, k);
}

/** Classes a classifier's confusion matrix has: `k` (multiclass), else 2 (each element's yes/no). */
export function classCount(decision: Decision, k: number): number {
  return decision.mode === "multiclass" ? k : 2;
}

/**
 * Classes `class_weight` may name, those `targetClass` returns: `k`, or 2 (0 and 1) for a binary
 * classifier of one unit (a multi-label output's class is its target's argmax, as Keras reads it).
 */
export function weightClassCount(decision: Decision, k: number): number {
  return decision.mode === "binary" && k === 1 ? 2 : k;
}
