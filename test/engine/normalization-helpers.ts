/**
 * Central-difference checks for models with batch or layer normalisation in a given mode
 * (docs/backprop.md §10, §19): the numerical loss runs the model's own forward and loss in that
 * mode, with the moving statistics left alone, so a training-mode check sees the batch
 * statistics move with every perturbed weight.
 */
import { expect } from "vitest";
import type { ModelSpec, NamedTensors } from "../../src/engine/index.js";
import type { Layer, LayerMode } from "../../src/engine/layers/layer.js";
import { Model } from "../../src/engine/model.js";
import { Rng } from "../../src/engine/rng.js";
import { inputGradientError } from "./helpers.js";

/** A training pass that only inspects: batch statistics, no moving-statistics update. */
export const TRAINING_CHECK: LayerMode = { training: true, updateStats: false, reuseMasks: true };

/**
 * A model of `spec` with seeded weights, every one then replaced by a draw in [-1, 1] (moving
 * variances in [0.5, 1.5]) so that gamma ≠ 1 and beta ≠ 0 are exercised.
 */
export function seededModel(spec: ModelSpec, seed: number): Model {
  const model = new Model(spec);
  model.initialise(seed);
  const rng = new Rng(seed + 100);
  for (const p of model.weights())
    for (let i = 0; i < p.value.length; i++)
      p.value[i] = p.key.endsWith("/moving_variance") ? rng.uniform(0.5, 1.5) : rng.uniform(-1, 1);
  return model;
}

/**
 * Back-propagated gradients of the mean loss in `mode` against central differences of the same
 * loss (step `h`), every trainable parameter element; returns the worst relative error
 * `|a − n| / max(|a|, |n|, 1e-8)` (docs/backprop.md §10.3) and where.
 */
export function paramGradientError(
  model: Model,
  x: Float64Array,
  y: Float64Array,
  n: number,
  mode: LayerMode,
  h = 1e-5,
): { worst: number; at: string; analytic: NamedTensors } {
  model.setMode(mode);
  const stateBefore = model.weights().map((p) => Float64Array.from(p.value));
  model.zeroGrads();
  model.forward(x, n);
  model.loss(y, n, true, 1 / n);
  const analytic = model.getGrads();
  const lossAt = () => {
    model.forward(x, n);
    return model.loss(y, n, false, 0) / n;
  };
  let worst = 0;
  let at = "";
  for (const p of model.params()) {
    const a = analytic[p.key]!.data;
    for (let i = 0; i < p.value.length; i++) {
      const w = p.value[i]!;
      p.value[i] = w + h;
      const plus = lossAt();
      p.value[i] = w - h;
      const minus = lossAt();
      p.value[i] = w;
      const num = (plus - minus) / (2 * h);
      const e = Math.abs(a[i]! - num) / Math.max(Math.abs(a[i]!), Math.abs(num), 1e-8);
      if (e > worst) {
        worst = e;
        at = `${p.key}[${i}]: analytic ${a[i]}, numerical ${num}`;
      }
    }
  }
  // The check itself must not have moved any weight or moving statistic.
  model.weights().forEach((p, k) => {
    expect(Array.from(p.value), p.key).toEqual(Array.from(stateBefore[k]!));
  });
  return { worst, at, analytic };
}

/** `inputGradientError` of one layer run in `mode` (it keeps its moving statistics). */
export function layerInputError(layer: Layer, mode: LayerMode, x: Float64Array, batch: number, seed: number) {
  layer.setMode?.(mode);
  return inputGradientError(layer, x, batch, new Rng(seed));
}

/** `n` seeded samples of `size` values, uniform in [lo, hi). */
export function uniformBatch(n: number, size: number, seed: number, lo = -1, hi = 1): Float64Array {
  const rng = new Rng(seed);
  return Float64Array.from({ length: n * size }, () => rng.uniform(lo, hi));
}
