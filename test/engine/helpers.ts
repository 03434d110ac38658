import { expect } from "vitest";
import {
  computeGradients,
  type ModelSpec,
  type NamedTensors,
  type TrainOptions,
  type TrainResult,
  train,
} from "../../src/engine/index.js";
import type { Layer } from "../../src/engine/layers/layer.js";
import { Rng } from "../../src/engine/rng.js";

/** A seeded batch of `n` samples for `spec`: x uniform in [-1, 1), targets fitting the loss. */
export function randomBatch(
  spec: ModelSpec,
  n: number,
  outputSize: number,
  seed: number,
): { n: number; x: Float64Array; y: Float64Array } {
  const rng = new Rng(seed);
  const inSize = spec.inputShape.reduce((a, b) => a * b, 1);
  const x = Float64Array.from({ length: n * inSize }, () => rng.uniform(-1, 1));
  let y: Float64Array;
  switch (spec.loss) {
    case "sparseCategoricalCrossentropy":
      y = Float64Array.from({ length: n }, () => rng.int(outputSize));
      break;
    case "categoricalCrossentropy":
      y = new Float64Array(n * outputSize);
      for (let r = 0; r < n; r++) y[r * outputSize + rng.int(outputSize)] = 1;
      break;
    case "binaryCrossentropy":
      y = Float64Array.from({ length: n * outputSize }, () => rng.int(2));
      break;
    default:
      y = Float64Array.from({ length: n * outputSize }, () => rng.uniform(-1, 1));
  }
  return { n, x, y };
}

/**
 * The one gradient-check helper (docs/backprop.md §10): back-propagated gradients of `spec` on `batch`
 * must equal numerical gradients (central differences, or Ridders' extrapolation of them, §10.4) to
 * relative error < `tolerance`.
 * Returns the report for further assertions.
 */
export function expectGradientsMatch(
  spec: ModelSpec,
  batch: { n: number; x: Float64Array; y: Float64Array },
  options: {
    seed?: number;
    weights?: NamedTensors;
    tolerance?: number;
    epsilon?: number;
    method?: "central" | "ridders";
  } = {},
) {
  const result = computeGradients({
    model: spec,
    seed: options.seed ?? 1,
    data: batch,
    numericalCheck: { method: options.method ?? "central", epsilon: options.epsilon ?? 1e-5 },
    ...(options.weights ? { weights: options.weights } : {}),
  });
  const report = result.numerical!;
  expect(report.maxRelError, `worst: ${JSON.stringify(report.worst)}`).toBeLessThan(
    options.tolerance ?? 1e-6,
  );
  // Sanity: the check must have looked at something non-trivial.
  const norm = Object.values(result.gradients).reduce(
    (s, t) => s + (t.data as Float64Array).reduce((a, v) => a + v * v, 0),
    0,
  );
  expect(norm).toBeGreaterThan(0);
  return result;
}

/**
 * Central differences of a layer's input gradient: with `L = Σ dy·y`,
 * `∂L/∂x_i ≈ Σ_j dy_j (y_j(x + εe_i) − y_j(x − εe_i)) / 2ε` against `backward(dy)`; returns the
 * worst relative error.
 */
export function inputGradientError(layer: Layer, x: Float64Array, batch: number, rng: Rng): number {
  const outSize = layer.outputShape.reduce((a, b) => a * b, 1);
  const dy = Float64Array.from({ length: batch * outSize }, () => rng.uniform(-1, 1));
  layer.forward(x, batch);
  const analytic = Float64Array.from(layer.backward(dy, batch));
  let worst = 0;
  const eps = 1e-5;
  for (let i = 0; i < x.length; i++) {
    const p = Float64Array.from(x);
    p[i] = x[i]! + eps;
    const m = Float64Array.from(x);
    m[i] = x[i]! - eps;
    const yp = Float64Array.from(layer.forward(p, batch));
    const ym = layer.forward(m, batch);
    let numerical = 0;
    for (let j = 0; j < yp.length; j++) numerical += (dy[j]! * (yp[j]! - ym[j]!)) / (2 * eps);
    const e =
      Math.abs(numerical - analytic[i]!) / Math.max(Math.abs(numerical), Math.abs(analytic[i]!), 1e-8);
    worst = Math.max(worst, e);
  }
  return worst;
}

/**
 * Five-point central differences (error O(h⁴)) of `L()` in each entry of `values`, against
 * `analytic`: the worst relative error. A larger `h` suits an entry far smaller than L (the
 * rounding of L, about 1e-16·L/h, is then a larger share of it).
 */
export function worstError(
  values: Float64Array | Float32Array,
  analytic: ArrayLike<number>,
  L: () => number,
  h = 1e-3,
): number {
  // Differences from L at the point: exactly 0 where a value changes nothing (a masked step's input).
  const base = L();
  let e = 0;
  for (let i = 0; i < values.length; i++) {
    const w = values[i]!;
    const at = (d: number) => {
      values[i] = w + d;
      return L() - base;
    };
    const n = (-at(2 * h) + 8 * at(h) - 8 * at(-h) + at(-2 * h)) / (12 * h);
    values[i] = w;
    const a = analytic[i]!;
    e = Math.max(e, Math.abs(a - n) / Math.max(Math.abs(a), Math.abs(n), 1e-8));
  }
  return e;
}

/**
 * Exact resume with dropout streams (docs/backprop.md §18.3): 10 epochs, then 10 more from the
 * returned weights and optimizerState, equal 20 at once (weights' digest, losses, final state), and
 * the state carries exactly `streams`. Returns the first half and the whole run, for further checks.
 */
export function expectTenPlusTenIsTwenty(
  base: Omit<TrainOptions, "epochs">,
  streams: string[],
): { first: TrainResult; whole: TrainResult } {
  const whole = train({ ...base, epochs: 20, returnOptimizerState: true });
  const first = train({ ...base, epochs: 10, returnOptimizerState: true });
  expect(Object.keys(first.optimizerState!.dropoutRng!)).toEqual(streams);
  const second = train({
    ...base,
    epochs: 10,
    initialWeights: first.weights,
    optimizerState: first.optimizerState!,
    returnOptimizerState: true,
  });
  expect(second.weightsSha256).toBe(whole.weightsSha256);
  expect(second.history.loss).toEqual(whole.history.loss.slice(10));
  expect(second.optimizerState).toEqual(whole.optimizerState);
  return { first, whole };
}
