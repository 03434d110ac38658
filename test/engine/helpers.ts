import { expect } from "vitest";
import { computeGradients, type ModelSpec, type NamedTensors } from "../../src/engine/index.js";
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
 * must equal central-difference numerical gradients to relative error < `tolerance`.
 * Returns the report for further assertions.
 */
export function expectGradientsMatch(
  spec: ModelSpec,
  batch: { n: number; x: Float64Array; y: Float64Array },
  options: { seed?: number; weights?: NamedTensors; tolerance?: number; epsilon?: number } = {},
) {
  const result = computeGradients({
    model: spec,
    seed: options.seed ?? 1,
    data: batch,
    numericalCheck: { method: "central", epsilon: options.epsilon ?? 1e-5 },
    ...(options.weights ? { weights: options.weights } : {}),
  });
  const report = result.numerical!;
  expect(report.maxRelError, `worst: ${JSON.stringify(report.worst)}`).toBeLessThan(
    options.tolerance ?? 1e-6,
  );
  // Sanity: the check must have looked at something non-trivial.
  const norm = Object.values(result.gradients).reduce((s, t) => s + t.data.reduce((a, v) => a + v * v, 0), 0);
  expect(norm).toBeGreaterThan(0);
  return result;
}
