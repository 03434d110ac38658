import { type SoftmaxRows, sigmoid } from "../layers/activation.js";
import type { Floats } from "../tensor.js";
import { EPSILON, type LossFunction, type LossKind } from "./kind.js";

/**
 * The categorical cross-entropies on logits `pred` `[batch, k]` (softmax fused into the loss,
 * docs/backprop.md §6.4): per sample `Σ_j t_j (lse − z_j)`, gradient `y Σt − t`. Targets are
 * smoothed to `t(1 − s) + s/k` first when `kind.labelSmoothing` is s > 0 (docs/backprop.md §14.3).
 * Returns the batch sum; writes `gradScale ·` its gradient into `grad` when given.
 */
export const softmaxCrossentropy: LossFunction = (kind, pred, t, batch, k, grad, gradScale) => {
  const sparse = kind.loss === "sparseCategoricalCrossentropy";
  const s = kind.labelSmoothing ?? 0;
  let total = 0;
  for (let r = 0; r < batch; r++) {
    const o = r * k;
    let max = Number.NEGATIVE_INFINITY;
    for (let j = 0; j < k; j++) if (pred[o + j]! > max) max = pred[o + j]!;
    let sum = 0;
    // e_j = exp(z_j − max), kept in grad for the gradient (softmax y_j = e_j / Σe): one exp per logit.
    if (grad)
      for (let j = 0; j < k; j++) {
        const e = Math.exp(pred[o + j]! - max);
        grad[o + j] = e;
        sum += e;
      }
    else for (let j = 0; j < k; j++) sum += Math.exp(pred[o + j]! - max);
    const lse = max + Math.log(sum);
    if (sparse && s === 0) {
      const label = t[r]!;
      total += lse - pred[o + label]!;
      if (grad)
        for (let j = 0; j < k; j++) grad[o + j] = (grad[o + j]! / sum - (j === label ? 1 : 0)) * gradScale;
    } else {
      // L = Σ_j t_j (lse − z_j);  ∂L/∂z_j = y_j Σt − t_j  (= y − t for targets summing to 1)
      let tsum = 0;
      for (let j = 0; j < k; j++) {
        const tj = target(sparse, t, r, o, j, k, s);
        tsum += tj;
        if (tj !== 0) total += tj * (lse - pred[o + j]!);
      }
      if (grad)
        for (let j = 0; j < k; j++)
          grad[o + j] = ((grad[o + j]! / sum) * tsum - target(sparse, t, r, o, j, k, s)) * gradScale;
    }
  }
  return total;
};

/**
 * `softmaxCrossentropy` with a gradient, from the rows' maxima, exponentials and sums that the
 * softmax output took already (`softmaxKeepingRows` on the same logits `pred`): the operations
 * after those, in the same order, so the same loss and gradient bits, without a second exponential
 * per logit.
 */
export function softmaxCrossentropyFromRows(
  kind: LossKind,
  pred: Floats,
  t: Floats,
  batch: number,
  k: number,
  grad: Floats,
  gradScale: number,
  rows: SoftmaxRows,
): number {
  const sparse = kind.loss === "sparseCategoricalCrossentropy";
  const s = kind.labelSmoothing ?? 0;
  const { e, max, sum: sums } = rows;
  // The exponentials as the loss reads them back from `grad` (`softmaxCrossentropy`): rounded to
  // float32 in a float32 run; a float64 run reads them from `e` and skips the copy.
  const g32 = grad instanceof Float32Array;
  let total = 0;
  for (let r = 0; r < batch; r++) {
    const o = r * k;
    const sum = sums[r]!;
    if (g32) for (let j = 0; j < k; j++) grad[o + j] = e[o + j]!;
    const ex = g32 ? grad : e;
    const lse = max[r]! + Math.log(sum);
    if (sparse && s === 0) {
      const label = t[r]!;
      total += lse - pred[o + label]!;
      for (let j = 0; j < k; j++) grad[o + j] = (ex[o + j]! / sum - (j === label ? 1 : 0)) * gradScale;
    } else {
      let tsum = 0;
      for (let j = 0; j < k; j++) {
        const tj = target(sparse, t, r, o, j, k, s);
        tsum += tj;
        if (tj !== 0) total += tj * (lse - pred[o + j]!);
      }
      for (let j = 0; j < k; j++)
        grad[o + j] = ((ex[o + j]! / sum) * tsum - target(sparse, t, r, o, j, k, s)) * gradScale;
    }
  }
  return total;
}

/** Target j of sample r: one-hot of the label when sparse, smoothed when s > 0. */
function target(sparse: boolean, t: Floats, r: number, o: number, j: number, k: number, s: number): number {
  const tj = sparse ? (j === t[r] ? 1 : 0) : t[o + j]!;
  return s === 0 ? tj : tj * (1 - s) + s / k;
}

/**
 * Binary cross-entropy on logits (sigmoid fused into the loss, docs/backprop.md §6.5): per element
 * `max(z, 0) − z·t + log(1 + e^−|z|)` (tf.nn.sigmoid_cross_entropy_with_logits), averaged over the
 * k outputs; targets smoothed to `t(1 − s) + s/2` when s > 0.
 */
export const sigmoidCrossentropy: LossFunction = (kind, pred, t, batch, k, grad, gradScale) => {
  const ls = kind.labelSmoothing ?? 0;
  const s = gradScale / k;
  let total = 0;
  for (let i = 0; i < batch * k; i++) {
    const z = pred[i]!;
    const ti = ls === 0 ? t[i]! : t[i]! * (1 - ls) + ls / 2;
    total += (Math.max(z, 0) - z * ti + Math.log1p(Math.exp(-Math.abs(z)))) / k;
    if (grad) grad[i] = (sigmoid(z) - ti) * s;
  }
  return total;
};

/**
 * Binary cross-entropy on probabilities (docs/backprop.md §6.2): y clipped to [ε, 1 − ε], per
 * element `−[t log y + (1 − t) log(1 − y)]` averaged over the k outputs; zero gradient where clipped.
 */
export const binaryCrossentropy: LossFunction = (kind, pred, t, batch, k, grad, gradScale) => {
  const ls = kind.labelSmoothing ?? 0;
  const s = gradScale / k;
  let total = 0;
  for (let i = 0; i < batch * k; i++) {
    const y = pred[i]!;
    const ti = ls === 0 ? t[i]! : t[i]! * (1 - ls) + ls / 2;
    const clipped = !(y > EPSILON && y < 1 - EPSILON);
    const yc = clipped ? (y >= 1 - EPSILON ? 1 - EPSILON : EPSILON) : y;
    total += -(ti * Math.log(yc) + (1 - ti) * Math.log(1 - yc)) / k;
    if (grad)
      grad[i] = clipped || Number.isNaN(y) ? (Number.isNaN(y) ? y : 0) : (-ti / y + (1 - ti) / (1 - y)) * s;
  }
  return total;
};

/**
 * Categorical cross-entropy on probabilities (docs/backprop.md §6.3): y renormalised to sum 1,
 * clipped to [ε, 1 − ε], `−Σ t log c`; the sparse loss with t one-hot of the label; smoothed
 * targets as in `softmaxCrossentropy`.
 */
export const categoricalCrossentropy: LossFunction = (kind, pred, t, batch, k, grad, gradScale) => {
  const sparse = kind.loss === "sparseCategoricalCrossentropy";
  const s = kind.labelSmoothing ?? 0;
  let total = 0;
  for (let r = 0; r < batch; r++) {
    const o = r * k;
    let ysum = 0;
    for (let j = 0; j < k; j++) ysum += pred[o + j]!;
    // q = y / Σy, c = clip(q), L = −Σ t log c; ∂L/∂q_j = −t_j/q_j where unclipped, then
    // through the normalisation ∂L/∂y_u = (g_u − Σ_j g_j q_j) / Σy.
    let gq = 0;
    for (let j = 0; j < k; j++) {
      const tj = target(sparse, t, r, o, j, k, s);
      const q = pred[o + j]! / ysum;
      const clipped = !(q > EPSILON && q < 1 - EPSILON);
      const c = clipped ? (q >= 1 - EPSILON ? 1 - EPSILON : EPSILON) : q;
      if (tj !== 0) total -= tj * Math.log(c);
      const g = clipped ? 0 : -tj / q;
      if (grad) grad[o + j] = g;
      gq += g * q;
    }
    if (grad) for (let j = 0; j < k; j++) grad[o + j] = ((grad[o + j]! - gq) / ysum) * gradScale;
  }
  return total;
};
