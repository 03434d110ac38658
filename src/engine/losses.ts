import { sigmoid } from "./layers/activation.js";
import type { LossName } from "./spec.js";

/**
 * How the loss meets the model's output. `fused` losses take the LOGITS (the input of the
 * final softmax/sigmoid) and are computed with log-sum-exp, so logits of ±1000 give a finite
 * loss and gradient; their gradient is `∂L/∂x = y − t` (docs/backprop.md §6.4, §6.5).
 */
export type LossKind =
  | { loss: LossName; fused: false }
  | { loss: "categoricalCrossentropy" | "sparseCategoricalCrossentropy"; fused: "softmax" }
  | { loss: "binaryCrossentropy"; fused: "sigmoid" };

/** Probabilities are clipped to [EPSILON, 1 − EPSILON] in the unfused cross-entropies (Keras' epsilon). */
export const EPSILON = 1e-7;

/**
 * Sum over the batch of the per-sample losses, and (when `grad` is given) the gradient of
 * `gradScale ·` that sum with respect to `pred`, written into `grad`.
 *
 * Per-sample losses, as Keras defines them:
 * - meanSquaredError `(1/k) Σ_j (y_j − t_j)²`;
 * - categoricalCrossentropy `−Σ_j t_j log y_j` (unfused: y renormalised to sum 1, then clipped);
 * - sparseCategoricalCrossentropy the same with t one-hot of the integer label;
 * - binaryCrossentropy `(1/k) Σ_j −[t_j log y_j + (1 − t_j) log(1 − y_j)]`.
 *
 * @param pred `[batch, k]`: logits when `kind.fused`, else the model output.
 * @param t `[batch, k]` targets, or `[batch]` labels for the sparse loss.
 * @param grad `[batch, k]` out, or null to compute the loss only.
 */
export function lossAndGrad(
  kind: LossKind,
  pred: Float64Array,
  t: Float64Array,
  batch: number,
  k: number,
  grad: Float64Array | null,
  gradScale: number,
): number {
  let total = 0;
  if (kind.fused === "softmax") {
    const sparse = kind.loss === "sparseCategoricalCrossentropy";
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
      if (sparse) {
        const label = t[r]!;
        total += lse - pred[o + label]!;
        if (grad)
          for (let j = 0; j < k; j++) grad[o + j] = (grad[o + j]! / sum - (j === label ? 1 : 0)) * gradScale;
      } else {
        // L = Σ_j t_j (lse − z_j);  ∂L/∂z_j = y_j Σt − t_j  (= y − t for targets summing to 1)
        let tsum = 0;
        for (let j = 0; j < k; j++) {
          const tj = t[o + j]!;
          tsum += tj;
          if (tj !== 0) total += tj * (lse - pred[o + j]!);
        }
        if (grad)
          for (let j = 0; j < k; j++) grad[o + j] = ((grad[o + j]! / sum) * tsum - t[o + j]!) * gradScale;
      }
    }
    return total;
  }
  if (kind.fused === "sigmoid") {
    // Per element: max(z, 0) − z·t + log(1 + e^−|z|)  (tf.nn.sigmoid_cross_entropy_with_logits)
    const s = gradScale / k;
    for (let i = 0; i < batch * k; i++) {
      const z = pred[i]!;
      const ti = t[i]!;
      total += (Math.max(z, 0) - z * ti + Math.log1p(Math.exp(-Math.abs(z)))) / k;
      if (grad) grad[i] = (sigmoid(z) - ti) * s;
    }
    return total;
  }
  switch (kind.loss) {
    case "meanSquaredError": {
      const s = (2 * gradScale) / k;
      for (let i = 0; i < batch * k; i++) {
        const d = pred[i]! - t[i]!;
        total += (d * d) / k;
        if (grad) grad[i] = d * s;
      }
      return total;
    }
    case "binaryCrossentropy": {
      const s = gradScale / k;
      for (let i = 0; i < batch * k; i++) {
        const y = pred[i]!;
        const ti = t[i]!;
        const clipped = !(y > EPSILON && y < 1 - EPSILON);
        const yc = clipped ? (y >= 1 - EPSILON ? 1 - EPSILON : EPSILON) : y;
        total += -(ti * Math.log(yc) + (1 - ti) * Math.log(1 - yc)) / k;
        if (grad)
          grad[i] =
            clipped || Number.isNaN(y) ? (Number.isNaN(y) ? y : 0) : (-ti / y + (1 - ti) / (1 - y)) * s;
      }
      return total;
    }
    case "categoricalCrossentropy":
    case "sparseCategoricalCrossentropy": {
      const sparse = kind.loss === "sparseCategoricalCrossentropy";
      for (let r = 0; r < batch; r++) {
        const o = r * k;
        let ysum = 0;
        for (let j = 0; j < k; j++) ysum += pred[o + j]!;
        // q = y / Σy, c = clip(q), L = −Σ t log c; ∂L/∂q_j = −t_j/q_j where unclipped, then
        // through the normalisation ∂L/∂y_u = (g_u − Σ_j g_j q_j) / Σy.
        let gq = 0;
        for (let j = 0; j < k; j++) {
          const tj = sparse ? (j === t[r] ? 1 : 0) : t[o + j]!;
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
    }
  }
}

/**
 * Number of correct predictions in the batch, for classification losses (null otherwise):
 * argmax of output against argmax of target (or the label) for the categorical losses,
 * `output > 0.5` against the target per element for binaryCrossentropy (counted as the
 * fraction of a sample's elements, as Keras' binary accuracy).
 * @param out model output `[batch, k]` (probabilities).
 */
export function countCorrect(
  loss: LossName,
  out: Float64Array,
  t: Float64Array,
  batch: number,
  k: number,
): number | null {
  if (loss === "meanSquaredError") return null;
  let correct = 0;
  if (loss === "binaryCrossentropy") {
    for (let i = 0; i < batch * k; i++) if ((out[i]! > 0.5 ? 1 : 0) === t[i]) correct += 1 / k;
    return correct;
  }
  for (let r = 0; r < batch; r++) {
    const o = r * k;
    const predicted = argmax(out, o, k);
    const actual = loss === "sparseCategoricalCrossentropy" ? t[r] : argmax(t, o, k);
    if (predicted === actual) correct++;
  }
  return correct;
}

function argmax(a: Float64Array, offset: number, k: number): number {
  let best = 0;
  for (let j = 1; j < k; j++) if (a[offset + j]! > a[offset + best]!) best = j;
  return best;
}
