import { targetSize } from "./data.js";
import { allFinite } from "./forensics.js";
import { INFERENCE } from "./layers/layer.js";
import { countCorrect } from "./losses.js";
import type { MetricAccumulator } from "./metrics/accumulator.js";
import type { Model } from "./model.js";
import type { Floats } from "./tensor.js";

/** Rows evaluated at once when a whole data set is evaluated (bounds the buffers, not the result). */
export const EVAL_CHUNK = 256;

/**
 * Mean loss and accuracy of `model`, in inference mode (dropout off, batch normalisation on its
 * moving statistics), over samples `[start, start + count)` of `x`/`y`; with
 * `accumulateGrads` also adds the gradient of that mean loss into every `Param.grad`.
 * @param x `[n, inputSize]`, y `[n, targetSize]`.
 * @param sampleWeight `[n]` loss weights indexed as the samples: the loss is `Σ wᵢ·lᵢ / count`
 *   (docs/backprop.md §20.1).
 * @param metrics given every chunk's outputs and targets (`MetricAccumulator.add`).
 * @returns also `finiteOutputs`: whether every output was finite (when not, the accuracy and the
 *   metrics describe NaN predictions; a loss that overflows on finite outputs leaves them valid).
 */
export function evaluate(
  model: Model,
  x: Floats,
  y: Floats,
  start: number,
  count: number,
  accumulateGrads = false,
  sampleWeight?: Floats,
  metrics?: MetricAccumulator,
): { loss: number; accuracy: number | null; finiteOutputs: boolean } {
  const inSize = model.inputSize;
  const ts = targetSize(model);
  let total = 0;
  let correct: number | null = 0;
  let finiteOutputs = true;
  model.setMode(INFERENCE);
  for (let s = start; s < start + count; s += EVAL_CHUNK) {
    const b = Math.min(EVAL_CHUNK, start + count - s);
    const xb = x.subarray(s * inSize, (s + b) * inSize);
    const yb = y.subarray(s * ts, (s + b) * ts);
    const out = model.forward(xb, b);
    total += sampleWeight
      ? model.loss(yb, b, accumulateGrads, 1 / count, sampleWeight.subarray(s, s + b))
      : model.loss(yb, b, accumulateGrads, 1 / count);
    if (finiteOutputs && !allFinite(out)) finiteOutputs = false;
    metrics?.add(out, yb, b);
    const c = countCorrect(model.spec.loss, out, yb, b, model.outputSize, model.lossKind.steps);
    correct = c === null || correct === null ? null : correct + c;
  }
  return { loss: total / count, accuracy: correct === null ? null : correct / count, finiteOutputs };
}
