import {
  binaryCrossentropy,
  categoricalCrossentropy,
  sigmoidCrossentropy,
  softmaxCrossentropy,
} from "./losses/crossentropy.js";
import { elementwiseLoss } from "./losses/elementwise.js";
import type { LossFunction } from "./losses/kind.js";
import { isClassifier, lossName, resolveLoss } from "./losses/options.js";
import { vectorLoss } from "./losses/vector.js";
import type { LossSpec } from "./spec.js";
import type { Floats } from "./tensor.js";

export { EPSILON, type LossKind, lossKindOf, type TrailingLayer } from "./losses/kind.js";
export { isClassifier, lossName, type ResolvedLoss, resolveLoss, takesLabels } from "./losses/options.js";

/**
 * Sum over the batch of the per-sample losses, and (when `grad` is given) the gradient of
 * `gradScale ·` that sum with respect to `pred`, written into `grad`. The mean over a batch of
 * b samples is this with `gradScale = 1/b`; a penalty (a regularisation term) is added on top by
 * the caller, as its gradient goes to the parameters rather than to `pred`.
 *
 * Per-sample losses, as Keras defines them (docs/backprop.md §6, §14):
 * - meanSquaredError `(1/k) Σ_j (y_j − t_j)²`;
 * - categoricalCrossentropy `−Σ_j t_j log y_j` (unfused: y renormalised to sum 1, then clipped);
 * - sparseCategoricalCrossentropy the same with t one-hot of the integer label;
 * - binaryCrossentropy `(1/k) Σ_j −[t_j log y_j + (1 − t_j) log(1 − y_j)]`;
 * - the others in `elementwiseLoss` and `vectorLoss`.
 *
 * @param pred `[batch, k]`: logits when `kind.fused`, else the model output.
 * @param t `[batch, k]` targets, or `[batch]` labels for the sparse loss.
 * @param grad `[batch, k]` out, or null to compute the loss only.
 */
export const lossAndGrad: LossFunction = (kind, pred, t, batch, k, grad, gradScale) => {
  if (kind.fused === "softmax") return softmaxCrossentropy(kind, pred, t, batch, k, grad, gradScale);
  if (kind.fused === "sigmoid") return sigmoidCrossentropy(kind, pred, t, batch, k, grad, gradScale);
  switch (kind.loss) {
    case "binaryCrossentropy":
      return binaryCrossentropy(kind, pred, t, batch, k, grad, gradScale);
    case "categoricalCrossentropy":
    case "sparseCategoricalCrossentropy":
      return categoricalCrossentropy(kind, pred, t, batch, k, grad, gradScale);
    case "categoricalHinge":
    case "kullbackLeiblerDivergence":
    case "cosineProximity":
      return vectorLoss(kind, pred, t, batch, k, grad, gradScale);
    default:
      return elementwiseLoss(kind, pred, t, batch, k, grad, gradScale);
  }
};

/**
 * Number of correct predictions in the batch, for classification losses (`isClassifier`; null
 * otherwise): argmax of output against argmax of target (or the label) for the categorical
 * losses and for hinge and squaredHinge on several units (Keras' and tfjs' categorical accuracy);
 * per element for binaryCrossentropy (`output > 0.5`, or logit `> 0` with `fromLogits`), counted as
 * the fraction of a sample's elements (binary accuracy), and for the hinges on one unit
 * (`output > 0` against `target > 0`; docs/backprop.md §14.4).
 * @param out model output `[batch, k]` (probabilities, or logits with `fromLogits`).
 * @param steps T for a categorical loss on a sequence output `[T, k/T]` (`LossKind.steps`): each
 *   step's argmax is compared, a sample counting the fraction of its steps that are right.
 */
export function countCorrect(
  loss: LossSpec,
  out: Floats,
  t: Floats,
  batch: number,
  k: number,
  steps = 1,
): number | null {
  return correctCounter(loss, k, steps)?.(out, t, batch) ?? null;
}

/** `countCorrect` for one loss and output size, its rule chosen once: `(out, t, batch) => correct`. */
export type CorrectCounter = (out: Floats, t: Floats, batch: number) => number;

/**
 * The `countCorrect` of `loss` with `k` outputs, the rule looked up once (a training loop counts
 * every batch), or null when the loss is not a classifier's.
 */
export function correctCounter(loss: LossSpec, k: number, steps = 1): CorrectCounter | null {
  if (!isClassifier(loss)) return null;
  const name = lossName(loss);
  if (name === "binaryCrossentropy") {
    const threshold = resolveLoss(loss).fromLogits ? 0 : 0.5;
    return (out, t, batch) => {
      let correct = 0;
      for (let i = 0; i < batch * k; i++) if ((out[i]! > threshold ? 1 : 0) === t[i]) correct += 1 / k;
      return correct;
    };
  }
  if ((name === "hinge" || name === "squaredHinge") && k === 1)
    return (out, t, batch) => {
      let correct = 0;
      for (let i = 0; i < batch * k; i++) if (out[i]! > 0 === t[i]! > 0) correct += 1 / k;
      return correct;
    };
  const sparse = name === "sparseCategoricalCrossentropy";
  const c = k / steps;
  return (out, t, batch) => {
    let correct = 0;
    for (let r = 0; r < batch * steps; r++) {
      const o = r * c;
      const predicted = argmax(out, o, c);
      const actual = sparse ? t[r] : argmax(t, o, c);
      if (predicted === actual) correct += 1 / steps;
    }
    return correct;
  };
}

function argmax(a: Floats, offset: number, k: number): number {
  let best = 0;
  for (let j = 1; j < k; j++) if (a[offset + j]! > a[offset + best]!) best = j;
  return best;
}
