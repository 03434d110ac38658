import type { LayerSpec, ModelSpec, NamedTensors } from "../../src/engine/index.js";
import { initWeights } from "../../src/engine/index.js";
import { Rng } from "../../src/engine/rng.js";

/** Steps and classes of the sequence taggers below. */
export const T = 5;
export const C = 3;

/**
 * A tagger of `T` token ids: embedding(maskZero) → `recurrent` (returnSequences) →
 * timeDistributed dense C softmax (with `head` "dense": a dense layer on `[T, units]` instead, the
 * same weights), `[T, C]` per sample.
 */
export function tagger(
  loss: "categoricalCrossentropy" | "sparseCategoricalCrossentropy",
  recurrent: "lstm" | "gru" = "lstm",
  maskZero = true,
  head: "timeDistributed" | "dense" = "timeDistributed",
): ModelSpec {
  const dense = { type: "dense", units: C, activation: "softmax" } as const;
  const cell = { type: recurrent, name: "r", units: 3, returnSequences: true } as LayerSpec;
  return {
    inputShape: [T],
    layers: [
      { type: "embedding", name: "e", inputDim: 6, outputDim: 2, maskZero },
      recurrent === "gru" ? ({ ...cell, resetAfter: true } as LayerSpec) : cell,
      head === "dense" ? { ...dense, name: "d" } : { type: "timeDistributed", name: "d", layer: dense },
    ],
    loss,
  };
}

/**
 * Seeded weights scaled up and biases set, so that the outputs differ clearly from step to step
 * and the gradients stand far above rounding noise.
 */
export function liveWeights(spec: ModelSpec, seed: number): NamedTensors {
  const weights = initWeights(spec, seed);
  for (const [key, t] of Object.entries(weights))
    for (let j = 0; j < t.data.length; j++)
      t.data[j] = key.endsWith("/bias") ? 0.5 * Math.sin(3 * j + 1) : 2.5 * t.data[j]!;
  return weights;
}

/**
 * `n` padded samples of 1 … T real steps (ids 1–5; 0 the padding, after the real steps, or
 * before them with `before`) and a label per step, the same labels on the real steps whichever
 * side the padding is.
 * @param lengthOf sample b's real steps; seeded at random in [1, T] when absent.
 */
export function paddedSamples(
  n: number,
  seed: number,
  before = false,
  lengthOf?: (b: number) => number,
): { x: Float64Array; labels: Float64Array; real: number[] } {
  const rng = new Rng(seed);
  const x = new Float64Array(n * T);
  const labels = new Float64Array(n * T);
  const real: number[] = [];
  for (let b = 0; b < n; b++) {
    const drawn = 1 + rng.int(T);
    const len = lengthOf ? lengthOf(b) : drawn;
    real.push(len);
    const ids = Array.from({ length: len }, () => 1 + rng.int(5));
    const tags = Array.from({ length: len }, () => rng.int(C));
    const pad = T - len;
    for (let t = 0; t < T; t++) {
      const i = before ? t - pad : t;
      const inside = i >= 0 && i < len;
      x[b * T + t] = inside ? ids[i]! : 0;
      // Labels at padded steps are arbitrary: they must not count.
      labels[b * T + t] = inside ? tags[i]! : (b + t) % C;
    }
  }
  return { x, labels, real };
}

/** One-hot targets `[n, T, C]` of per-step labels. */
export function oneHot(labels: Float64Array): Float64Array {
  return Float64Array.from(
    [...labels].flatMap((l) => Array.from({ length: C }, (_, j) => (j === l ? 1 : 0))),
  );
}

/**
 * Keras 3's masked loss by hand from the per-step probabilities `out` `[n, T, C]`:
 * `Σ m·w·l / Σ m` over samples `[from, to)`, `l = −log p[label]` (docs/backprop.md §21.1).
 */
export function maskedByHand(
  out: ArrayLike<number>,
  x: Float64Array,
  labels: Float64Array,
  from: number,
  to: number,
  w?: ArrayLike<number>,
): number {
  let sum = 0;
  let real = 0;
  for (let b = from; b < to; b++)
    for (let t = 0; t < T; t++) {
      const row = b * T + t;
      if (x[row] === 0) continue;
      sum -= (w ? w[b]! : 1) * Math.log(out[row * C + labels[row]!]!);
      real++;
    }
  return real === 0 ? 0 : sum / real;
}
