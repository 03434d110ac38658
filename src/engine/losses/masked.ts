import type { Floats } from "../tensor.js";
import type { LossKind } from "./kind.js";
import { weightedLossAndGrad } from "./weighted.js";

/** Each (sample, step) row's weight, reused between calls. */
let rowWeights = new Float64Array(0);

/**
 * The batch loss when a time-step mask reaches the model's output (docs/backprop.md §21.1), Keras 3's
 * rule: the output `[batch, T, u]` is read as `batch·T` rows of u values, each row's loss `l_bt` is
 * the loss of that step alone (over its last axis), and the batch's loss is
 * `L_B = Σ_bt m_bt·w_b·l_bt / Σ_bt m_bt`: the masked steps do not count, and the mean is over the
 * batch's real steps (0 when it has none). Returns `b · L_B` (the model's losses return the batch
 * sum, which the caller divides by b) and, when `grad` is given, writes `gradScale ·` its gradient
 * (0 at the masked steps) into it.
 * @param pred `[batch, k]` with `k = T·u`; @param t `[batch, k]` targets.
 * @param mask `[batch, T]`, 1 for a real step and 0 for a masked one.
 * @param sampleWeight `[batch]`: `w_b`, 1 without (docs/backprop.md §20.1).
 * @param realPerSample when given, divide by `realPerSample · batch` instead of this batch's
 *   `Σ m_bt`: a range evaluated in chunks then has the loss of the range as one batch (`evaluate`,
 *   docs/backprop.md §21.6).
 */
export function maskedLossAndGrad(
  kind: LossKind,
  pred: Floats,
  t: Floats,
  batch: number,
  k: number,
  grad: Floats | null,
  gradScale: number,
  mask: Floats,
  sampleWeight?: Floats,
  realPerSample?: number,
): number {
  const rows = mask.length;
  const steps = rows / batch;
  let real = 0;
  for (let i = 0; i < rows; i++) if (mask[i] !== 0) real++;
  if (real === 0) {
    grad?.fill(0, 0, batch * k);
    return 0;
  }
  if (rowWeights.length < rows) rowWeights = new Float64Array(rows);
  const w = rowWeights.subarray(0, rows);
  const denominator = realPerSample === undefined ? real : realPerSample * batch;
  for (let i = 0; i < rows; i++) {
    const sw = sampleWeight ? sampleWeight[Math.floor(i / steps)]! : 1;
    w[i] = mask[i] === 0 ? 0 : (sw * batch) / denominator;
  }
  return weightedLossAndGrad(kind, pred, t, rows, k / steps, grad, gradScale, w);
}

/**
 * The batch loss of a loss over the last axis on a sequence output `[batch, T, C]` without a mask
 * (`kind.steps` = T; docs/backprop.md §21.6): each (sample, step) row's loss `l_bt` over its C
 * values, the sample's loss `(1/T) Σ_t l_bt`, times `w_b`. Returns the batch sum and, when `grad`
 * is given, writes `gradScale ·` its gradient into it.
 * @param pred `[batch, k]` with `k = T·C`; @param t `[batch, k]` targets, or `[batch, T]` labels.
 * @param sampleWeight `[batch]`: `w_b`, 1 without (docs/backprop.md §20.1).
 */
export function perStepLossAndGrad(
  kind: LossKind,
  pred: Floats,
  t: Floats,
  batch: number,
  k: number,
  grad: Floats | null,
  gradScale: number,
  sampleWeight?: Floats,
): number {
  const steps = kind.steps!;
  const rows = batch * steps;
  if (rowWeights.length < rows) rowWeights = new Float64Array(rows);
  const w = rowWeights.subarray(0, rows);
  for (let i = 0; i < rows; i++) w[i] = (sampleWeight ? sampleWeight[Math.floor(i / steps)]! : 1) / steps;
  return weightedLossAndGrad(kind, pred, t, rows, k / steps, grad, gradScale, w);
}
