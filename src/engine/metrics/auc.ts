/**
 * The exact area under the ROC curve of `count` scores (docs/backprop.md §18.3): the trapezoid
 * rule over every distinct threshold, which equals the Mann–Whitney rank statistic
 * `AUC = (Σ_{pos} rank − P(P + 1)/2) / (P · N)` with tied scores given their mean rank (a tie
 * between a positive and a negative counts ½). Keras' `AUC` approximates this with 200 buckets;
 * this sorts instead, O(count · log count).
 * @param scores `[count]`, read at `scores[offset + i · stride]`; larger means "more positive".
 * @param positive `[count]`, 1 for a positive sample, 0 for a negative one.
 * @returns the AUC in [0, 1], or `null` when there are no positives or no negatives (undefined).
 */
export function exactAuc(
  scores: Float64Array,
  positive: Uint8Array,
  count: number,
  offset = 0,
  stride = 1,
): number | null {
  const idx = new Uint32Array(count);
  for (let i = 0; i < count; i++) idx[i] = i;
  const score = (i: number) => scores[offset + i * stride]!;
  idx.sort((a, b) => score(a) - score(b));
  let negativesBelow = 0;
  let pairs = 0; // Σ over positives of (negatives scored lower + ½ · negatives tied)
  let p = 0;
  for (let i = 0; i < count; ) {
    const s = score(idx[i]!);
    let pos = 0;
    let neg = 0;
    for (; i < count && score(idx[i]!) === s; i++) {
      if (positive[idx[i]!] === 1) pos++;
      else neg++;
    }
    pairs += pos * negativesBelow + 0.5 * pos * neg;
    negativesBelow += neg;
    p += pos;
  }
  const n = count - p;
  return p === 0 || n === 0 ? null : pairs / (p * n);
}
