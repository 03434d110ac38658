/**
 * What the ONNX export tests share: seeded weights from the engine with every parameter and
 * moving statistic away from its initial value, the export run by onnxruntime-node, and the
 * comparison with the engine's `predict` on the same samples.
 */
import * as ort from "onnxruntime-node";
import { expect } from "vitest";
import {
  initWeights,
  type ModelSpec,
  type NamedTensors,
  predict,
  sizeOf,
} from "../../../src/engine/index.js";
import { toOnnx } from "../../../src/service/models/formats/onnx.js";

/** mulberry32: a small seeded generator of floats in [0, 1). */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * The engine's seeded weights, then every parameter that starts constant (biases, prelu's alpha,
 * gamma, beta, the moving statistics) drawn so it matters: a bias or beta in [−0.5, 0.5], alpha in
 * [0, 0.5], gamma in [0.5, 1.5], moving_mean in [−1, 1], moving_variance in [0.2, 2.2].
 */
export function engineWeights(spec: ModelSpec, seed: number): NamedTensors {
  const w = initWeights(spec, seed);
  const r = rng(seed + 1);
  for (const [key, t] of Object.entries(w)) {
    const param = key.slice(key.lastIndexOf("/") + 1);
    const draw: Record<string, () => number> = {
      bias: () => r() - 0.5,
      beta: () => r() - 0.5,
      alpha: () => 0.5 * r(),
      gamma: () => 0.5 + r(),
      moving_mean: () => 2 * r() - 1,
      moving_variance: () => 0.2 + 2 * r(),
    };
    const f = draw[param];
    if (f) for (let i = 0; i < t.data.length; i++) t.data[i] = f();
  }
  return w;
}

/** `n` samples of `shape` in [−scale, scale], already float32 (so both sides read the same inputs). */
export function samples(shape: number[], n: number, seed: number, scale = 2): Float64Array {
  const r = rng(seed);
  const x = new Float32Array(n * sizeOf(shape));
  for (let i = 0; i < x.length; i++) x[i] = scale * (2 * r() - 1);
  return Float64Array.from(x);
}

/** Runs the ONNX bytes on `x` `[n, ...inputShape]` and returns the `output` tensor. */
export async function runOnnx(bytes: Uint8Array, x: Float64Array, shape: number[]): Promise<ort.Tensor> {
  const session = await ort.InferenceSession.create(bytes);
  const input = new ort.Tensor("float32", Float32Array.from(x), shape);
  const out = await session.run({ input });
  await session.release();
  return out.output!;
}

/**
 * The largest error of `actual` against `expected` in units of the tolerance
 * `1e-5·|expected| + 1e-6` (≤ 1 passes), with the index where it is.
 */
export function worstError(
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
): { ratio: number; at: number } {
  let worst = { ratio: 0, at: -1 };
  for (let i = 0; i < expected.length; i++) {
    const e = expected[i]!;
    const ratio = Math.abs(actual[i]! - e) / (1e-5 * Math.abs(e) + 1e-6);
    if (!(ratio <= worst.ratio)) worst = { ratio, at: i };
  }
  return worst;
}

/**
 * Exports `spec` with seeded engine weights and checks that onnxruntime-node predicts what the
 * engine does on batches of 1 and 5: the same output shape, each value within relative 1e-5
 * (absolute 1e-6 near 0). Returns the worst error ratio seen.
 */
export async function expectOnnxMatchesEngine(spec: ModelSpec, seed = 1, scale = 2): Promise<number> {
  const weights = engineWeights(spec, seed);
  const bytes = toOnnx(spec, weights);
  let worst = 0;
  for (const n of [1, 5]) {
    const x = samples(spec.inputShape, n, seed + n, scale);
    const expected = predict(spec, weights, x, n);
    const out = await runOnnx(bytes, x, [n, ...spec.inputShape]);
    expect(out.dims).toEqual(expected.shape);
    const { ratio, at } = worstError(out.data as Float32Array, expected.data);
    expect(
      ratio,
      `output ${at}: onnx ${(out.data as Float32Array)[at]}, engine ${expected.data[at]}`,
    ).toBeLessThanOrEqual(1);
    worst = Math.max(worst, ratio);
  }
  return worst;
}
