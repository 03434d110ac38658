import { EPSILON, type LossFunction } from "./kind.js";

/**
 * The losses that read each sample's k outputs as one vector (docs/backprop.md §14.2):
 * - categoricalHinge `max(0, 1 + max_j (1 − t_j) y_j − Σ_j t_j y_j)`;
 * - kullbackLeiblerDivergence `Σ_j t_j log(clip(t_j, ε, 1) / clip(y_j, ε, 1))` (tfjs-layers' form);
 * - cosineProximity `−Σ_j (t_j / ‖t‖)(y_j / ‖y‖)`, each norm `√max(Σx², ε)`.
 * Derivatives at a kink are TensorFlow's; at a tie of the maximum, the first index takes it.
 * Returns the batch sum; writes `gradScale ·` its gradient into `grad` when given.
 */
export const vectorLoss: LossFunction = (kind, pred, t, batch, k, grad, gradScale) => {
  let total = 0;
  for (let r = 0; r < batch; r++) {
    const o = r * k;
    switch (kind.loss) {
      case "categoricalHinge": {
        let pos = 0;
        let best = 0;
        let neg = Number.NEGATIVE_INFINITY;
        for (let j = 0; j < k; j++) {
          pos += t[o + j]! * pred[o + j]!;
          const v = (1 - t[o + j]!) * pred[o + j]!;
          if (v > neg || (j === 0 && Number.isNaN(v))) {
            neg = v;
            best = j;
          }
        }
        const m = 1 + neg - pos;
        if (m > 0) total += m;
        if (grad)
          for (let j = 0; j < k; j++)
            grad[o + j] =
              m > 0 ? (-t[o + j]! + (j === best ? 1 - t[o + j]! : 0)) * gradScale : Number.isNaN(m) ? m : 0;
        break;
      }
      case "kullbackLeiblerDivergence":
        for (let j = 0; j < k; j++) {
          const tj = t[o + j]!;
          const y = pred[o + j]!;
          const ct = Math.min(Math.max(tj, EPSILON), 1);
          const cy = Math.min(Math.max(y, EPSILON), 1);
          total += tj * Math.log(ct / cy);
          // The clip passes the gradient inside [ε, 1] including its bounds (as tf.clipByValue).
          if (grad) grad[o + j] = y >= EPSILON && y <= 1 ? (-tj / y) * gradScale : Number.isNaN(y) ? y : 0;
        }
        break;
      case "cosineProximity": {
        let tt = 0;
        let yy = 0;
        let ty = 0;
        for (let j = 0; j < k; j++) {
          tt += t[o + j]! * t[o + j]!;
          yy += pred[o + j]! * pred[o + j]!;
          ty += t[o + j]! * pred[o + j]!;
        }
        const nt = Math.sqrt(Math.max(tt, EPSILON));
        const ny = Math.sqrt(Math.max(yy, EPSILON));
        total -= ty / (nt * ny);
        if (grad) {
          // ∂/∂y_j of −(t·y)/(‖t‖‖y‖) = −t_j/(‖t‖‖y‖) + (t·y) y_j/(‖t‖‖y‖³); ‖y‖ is constant below ε.
          const c = yy >= EPSILON ? ty / (nt * ny * ny * ny) : 0;
          for (let j = 0; j < k; j++) grad[o + j] = (-t[o + j]! / (nt * ny) + c * pred[o + j]!) * gradScale;
        }
        break;
      }
      default:
        throw new Error(`not a vector loss: ${kind.loss}`);
    }
  }
  return total;
};
