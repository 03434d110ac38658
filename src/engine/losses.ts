import {
  binaryCrossentropy,
  categoricalCrossentropy,
  sigmoidCrossentropy,
  softmaxCrossentropy,
} from "./losses/crossentropy.js";
import { elementwiseLoss } from "./losses/elementwise.js";
import type { LossFunction } from "./losses/kind.js";
import { vectorLoss } from "./losses/vector.js";

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
