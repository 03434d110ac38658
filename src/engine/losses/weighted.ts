import { lossAndGrad } from "../losses.js";
import type { LossKind } from "./kind.js";

/**
 * The sample-weighted batch loss (docs/backprop.md §18.1): `Σᵢ wᵢ · lᵢ`, the sum of each sample's
 * loss times its weight, and (when `grad` is given) `gradScale ·` its gradient with respect to
 * `pred`, which is each sample's own gradient times `wᵢ`. Keras' "sum over batch size" reduction
 * is this with `gradScale = 1/b` (the weights are not renormalised). One call of `lossAndGrad` per
 * sample, so every loss gets its weights without a change of its own.
 * @param pred `[batch, k]` as `lossAndGrad` takes it; @param t `[batch, k]` targets or `[batch]` labels.
 * @param w `[batch]` the samples' weights (finite, ≥ 0).
 */
export function weightedLossAndGrad(
  kind: LossKind,
  pred: Float64Array,
  t: Float64Array,
  batch: number,
  k: number,
  grad: Float64Array | null,
  gradScale: number,
  w: Float64Array,
): number {
  const ts = t.length / batch;
  let total = 0;
  for (let r = 0; r < batch; r++) {
    const wr = w[r]!;
    const loss = lossAndGrad(
      kind,
      pred.subarray(r * k, (r + 1) * k),
      t.subarray(r * ts, (r + 1) * ts),
      1,
      k,
      grad ? grad.subarray(r * k, (r + 1) * k) : null,
      gradScale * wr,
    );
    // A weight of 0 drops the sample, also when its loss overflowed (0 · ∞ would be NaN).
    if (wr !== 0) total += wr * loss;
  }
  return total;
}
