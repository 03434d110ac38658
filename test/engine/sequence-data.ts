import type { ModelSpec } from "../../src/engine/index.js";
import { Rng } from "../../src/engine/rng.js";
import { randomBatch } from "./helpers.js";

/**
 * A seeded batch for `spec`: token ids in `[0, inputDim)` (a third of them 0, the padding id, and
 * never a whole sample of padding) when the model starts with an embedding, otherwise
 * `randomBatch`'s uniform values; targets fitting the loss as `randomBatch` draws them.
 */
export function idBatch(
  spec: ModelSpec,
  n: number,
  outputSize: number,
  seed: number,
): { n: number; x: Float64Array; y: Float64Array } {
  const batch = randomBatch(spec, n, outputSize, seed);
  const first = spec.layers[0]!;
  if (first.type !== "embedding") return batch;
  const rng = new Rng(seed + 1);
  const T = spec.inputShape[0]!;
  for (let s = 0; s < n; s++)
    for (let t = 0; t < T; t++)
      batch.x[s * T + t] = t === 0 || rng.int(3) > 0 ? 1 + rng.int(first.inputDim - 1) : 0;
  return batch;
}
