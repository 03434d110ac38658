import type { Floats } from "../tensor.js";
import { EPSILON, type LossFunction } from "./kind.js";

/**
 * The element-wise losses: per sample the mean over its k outputs of `f(y_j, t_j)`
 * (docs/backprop.md §6.1, §14.1, §14.2), d = y − t:
 * - meanSquaredError `d²`;
 * - meanAbsoluteError `|d|`;
 * - meanAbsolutePercentageError `100 |d| / max(|t|, ε)`;
 * - meanSquaredLogarithmicError `(log(1 + max(y, ε)) − log(1 + max(t, ε)))²`;
 * - huber `d²/2` where `|d| ≤ δ`, else `δ|d| − δ²/2`;
 * - logcosh `log cosh d`, computed as `|d| + log(1 + e^−2|d|) − log 2`;
 * - poisson `y − t log(y + ε)`;
 * - hinge `max(0, 1 − t y)`, squaredHinge its square, with t = 2t − 1 when every target of the
 *   batch is 0 or 1 (Keras' label conversion).
 * Derivatives at a kink (d = 0, a clip boundary, the hinge's corner) are TensorFlow's.
 * Returns the batch sum of per-sample losses; writes `gradScale ·` its gradient into `grad` when given.
 */
export const elementwiseLoss: LossFunction = (kind, pred, t, batch, k, grad, gradScale) => {
  const n = batch * k;
  const s = gradScale / k;
  let total = 0;
  switch (kind.loss) {
    case "meanSquaredError": {
      const s2 = (2 * gradScale) / k;
      for (let i = 0; i < n; i++) {
        const d = pred[i]! - t[i]!;
        total += (d * d) / k;
        if (grad) grad[i] = d * s2;
      }
      return total;
    }
    case "meanAbsoluteError":
      for (let i = 0; i < n; i++) {
        const d = pred[i]! - t[i]!;
        total += Math.abs(d);
        if (grad) grad[i] = sign(d) * s;
      }
      return total / k;
    case "meanAbsolutePercentageError":
      for (let i = 0; i < n; i++) {
        const d = pred[i]! - t[i]!;
        const c = Math.max(Math.abs(t[i]!), EPSILON);
        total += (100 * Math.abs(d)) / c;
        if (grad) grad[i] = ((100 * sign(d)) / c) * s;
      }
      return total / k;
    case "meanSquaredLogarithmicError":
      for (let i = 0; i < n; i++) {
        const y = pred[i]!;
        const e = Math.log1p(Math.max(y, EPSILON)) - Math.log1p(Math.max(t[i]!, EPSILON));
        total += e * e;
        // The clip passes the gradient at its bound (as tf.clipByValue), stops it below.
        if (grad) grad[i] = y >= EPSILON ? ((2 * e) / (1 + y)) * s : Number.isNaN(y) ? y : 0;
      }
      return total / k;
    case "huber": {
      const delta = kind.delta ?? 1;
      for (let i = 0; i < n; i++) {
        const d = pred[i]! - t[i]!;
        const a = Math.abs(d);
        if (a <= delta) {
          total += 0.5 * d * d;
          if (grad) grad[i] = d * s;
        } else {
          total += delta * a - 0.5 * delta * delta;
          if (grad) grad[i] = delta * sign(d) * s;
        }
      }
      return total / k;
    }
    case "logcosh":
      for (let i = 0; i < n; i++) {
        const d = pred[i]! - t[i]!;
        const a = Math.abs(d);
        total += a + Math.log1p(Math.exp(-2 * a)) - Math.LN2;
        if (grad) grad[i] = Math.tanh(d) * s;
      }
      return total / k;
    case "poisson":
      for (let i = 0; i < n; i++) {
        const y = pred[i]!;
        total += y - t[i]! * Math.log(y + EPSILON);
        if (grad) grad[i] = (1 - t[i]! / (y + EPSILON)) * s;
      }
      return total / k;
    case "hinge":
    case "squaredHinge": {
      const squared = kind.loss === "squaredHinge";
      const binary = isBinary(t, n);
      for (let i = 0; i < n; i++) {
        const ti = binary ? 2 * t[i]! - 1 : t[i]!;
        const m = 1 - ti * pred[i]!;
        if (m > 0) {
          total += squared ? m * m : m;
          if (grad) grad[i] = (squared ? -2 * m * ti : -ti) * s;
        } else if (grad) grad[i] = Number.isNaN(m) ? m : 0;
      }
      return total / k;
    }
    default:
      throw new Error(`not an element-wise loss: ${kind.loss}`);
  }
};

/** Whether every target is 0 or 1 (then the hinges read them as −1 and 1, as Keras). */
export function isBinary(t: Floats, n: number): boolean {
  for (let i = 0; i < n; i++) if (t[i] !== 0 && t[i] !== 1) return false;
  return true;
}

/** sign(x), 0 at 0, as TensorFlow's derivative of |x|. */
function sign(x: number): number {
  return x > 0 ? 1 : x < 0 ? -1 : x;
}
