import type { Param } from "../layers/layer.js";
import { leastSquaresShape, leastSquaresWeights } from "../least-squares.js";
import type { Model } from "../model.js";
import type { NamedTensors } from "../tensor.js";
import type { Dataset } from "../types.js";

/**
 * Largest `rows × columns²` (rows as `leastSquaresShape`, columns = its inputs + 1) for which a
 * gradient-descent run on a linear regression model also solves it in closed form for `optimum`:
 * about half a second with ml-matrix.
 */
export const OPTIMUM_BUDGET = 5e7;

/**
 * The distance to the optimum, first half: the least-squares weights W* of a linear regression
 * model on the first `nTrain` samples (docs/backprop.md §9), when the model is linear and the
 * solve fits in `OPTIMUM_BUDGET`; otherwise undefined.
 */
export function optimumFor(
  model: Model,
  data: Dataset,
  nTrain: number,
  linear: boolean,
): NamedTensors | undefined {
  if (!linear) return undefined;
  const { rows, p } = leastSquaresShape(model, nTrain);
  return rows * (p + 1) * (p + 1) <= OPTIMUM_BUDGET
    ? leastSquaresWeights(model, data.x, data.y, nTrain).weights
    : undefined;
}

/**
 * The distance to the optimum, second half: ‖W − W*‖, the Frobenius norm of the difference over
 * every parameter (kernel and bias together), `history.distanceToOptimum` (docs/backprop.md §9.4).
 */
export function distanceTo(params: Param[], target: NamedTensors): number {
  // Scaled by the largest difference, so finite weights of 1e300 give a finite distance
  // instead of an overflowed sum of squares.
  let scale = 0;
  for (const p of params) {
    const t = target[p.key]!.data;
    for (let i = 0; i < p.value.length; i++) scale = Math.max(scale, Math.abs(p.value[i]! - t[i]!));
  }
  if (scale === 0 || !Number.isFinite(scale)) return scale;
  let sum = 0;
  for (const p of params) {
    const t = target[p.key]!.data;
    for (let i = 0; i < p.value.length; i++) sum += ((p.value[i]! - t[i]!) / scale) ** 2;
  }
  return scale * Math.sqrt(sum);
}
