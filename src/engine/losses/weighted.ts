import { lossAndGrad } from "../losses.js";
import type { Floats } from "../tensor.js";
import type { LossKind } from "./kind.js";

/** One sample's prediction, target and gradient, copied in and out (views would cost an allocation each). */
const rows = { pred: new Float64Array(0), t: new Float64Array(0), grad: new Float64Array(0) };

/**
 * The sample-weighted batch loss (docs/backprop.md §20.1): `Σᵢ wᵢ · lᵢ`, the sum of each sample's
 * loss times its weight, and (when `grad` is given) `gradScale ·` its gradient with respect to
 * `pred`, which is each sample's own gradient times `wᵢ`. Keras' "sum over batch size" reduction
 * is this with `gradScale = 1/b` (the weights are not renormalised). One call of `lossAndGrad` per
 * sample, with the scale `gradScale · wᵢ`, so every loss gets its weights without a change of its
 * own; a sample of weight 0 is skipped (its gradient is 0, and its loss adds nothing even where it
 * overflowed).
 * @param pred `[batch, k]` as `lossAndGrad` takes it; @param t `[batch, k]` targets or `[batch]` labels.
 * @param w `[batch]` the samples' weights (finite, ≥ 0).
 */
export function weightedLossAndGrad(
  kind: LossKind,
  pred: Floats,
  t: Floats,
  batch: number,
  k: number,
  grad: Floats | null,
  gradScale: number,
  w: Floats,
): number {
  const ts = t.length / batch;
  if (rows.pred.length < k) {
    rows.pred = new Float64Array(k);
    rows.grad = new Float64Array(k);
  }
  if (rows.t.length < ts) rows.t = new Float64Array(ts);
  const { pred: p, t: tr, grad: g } = rows;
  let total = 0;
  for (let r = 0; r < batch; r++) {
    const wr = w[r]!;
    if (wr === 0) {
      if (grad) for (let j = 0; j < k; j++) grad[r * k + j] = 0;
      continue;
    }
    for (let j = 0; j < k; j++) p[j] = pred[r * k + j]!;
    for (let j = 0; j < ts; j++) tr[j] = t[r * ts + j]!;
    total += wr * lossAndGrad(kind, p, tr, 1, k, grad ? g : null, gradScale * wr);
    if (grad) for (let j = 0; j < k; j++) grad[r * k + j] = g[j]!;
  }
  return total;
}
