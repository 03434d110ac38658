import type { Floats } from "../tensor.js";
/**
 * The exact area under the ROC curve of `count` scores (docs/backprop.md §20.3): the trapezoid
 * rule over every distinct threshold, which equals the Mann–Whitney rank statistic
 * `AUC = (Σ_{pos} rank − P(P + 1)/2) / (P · N)` with tied scores given their mean rank (a tie
 * between a positive and a negative counts ½). Keras' `AUC` approximates this with 200 buckets;
 * this sorts the positives' and the negatives' scores (natively) and counts, for each positive, the
 * negatives below it and tied with it in one merge: O(count · log count).
 * @param scores `[count]`, read at `scores[offset + i · stride]`; larger means "more positive".
 * @param positive `[count]`, 1 for a positive sample, 0 for a negative one.
 * @returns the AUC in [0, 1], or `null` when there are no positives or no negatives (undefined).
 */
export function exactAuc(
  scores: Floats,
  positive: ArrayLike<number>,
  count: number,
  offset = 0,
  stride = 1,
): number | null {
  let p = 0;
  for (let i = 0; i < count; i++) p += positive[i] === 1 ? 1 : 0;
  const n = count - p;
  if (p === 0 || n === 0) return null;
  const pos = new Float64Array(p);
  const neg = new Float64Array(n);
  for (let i = 0, a = 0, b = 0; i < count; i++) {
    const s = scores[offset + i * stride]!;
    if (positive[i] === 1) pos[a++] = s;
    else neg[b++] = s;
  }
  pos.sort();
  neg.sort();
  // below: negatives scored lower than the current positive; upTo: lower or equal. Both only grow.
  let below = 0;
  let upTo = 0;
  let pairs = 0;
  for (let i = 0; i < p; i++) {
    const s = pos[i]!;
    while (below < n && neg[below]! < s) below++;
    if (upTo < below) upTo = below;
    while (upTo < n && neg[upTo]! === s) upTo++;
    pairs += below + 0.5 * (upTo - below);
  }
  return pairs / (p * n);
}
