import { targetSize } from "./data.js";
import { allFinite } from "./forensics.js";
import { INFERENCE } from "./layers/layer.js";
import type { MetricAccumulator } from "./metrics/accumulator.js";
import { accuracyCounter, accuracyOf } from "./metrics/accuracy.js";
import type { Model } from "./model.js";
import type { Floats } from "./tensor.js";

/** Rows evaluated at once when a whole data set is evaluated (bounds the buffers, not the result). */
export const EVAL_CHUNK = 256;

/**
 * Mean loss and accuracy of `model`, in inference mode (dropout off, batch normalisation on its
 * moving statistics), over samples `[start, start + count)` of `x`/`y`; with
 * `accumulateGrads` also adds the gradient of that mean loss into every `Param.grad`.
 * The range is one batch whatever `EVAL_CHUNK` is: a time-step mask at the output gives
 * `Σ m·w·l / Σ m` over the range's real steps (docs/backprop.md §21.6), and the accuracy counts
 * the range's real steps only.
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
  const counter = accuracyCounter(model.spec.loss, model.outputShape);
  const tally = { correct: 0, counted: 0 };
  let finiteOutputs = true;
  model.setMode(INFERENCE);
  // Several chunks and a mask at the output: each chunk's loss divides by the range's real steps.
  // With gradients they are counted first (one more forward pass); without, afterwards (`Masked`).
  const chunked = count > EVAL_CHUNK;
  const real = chunked && accumulateGrads ? realSteps(model, x, start, count) : undefined;
  if (real) model.realStepsPerSample = real / count;
  const masked = new Masked(model);
  try {
    for (let s = start; s < start + count; s += EVAL_CHUNK) {
      const b = Math.min(EVAL_CHUNK, start + count - s);
      const xb = x.subarray(s * inSize, (s + b) * inSize);
      const yb = y.subarray(s * ts, (s + b) * ts);
      const out = model.forward(xb, b);
      const sum = sampleWeight
        ? model.loss(yb, b, accumulateGrads, 1 / count, sampleWeight.subarray(s, s + b))
        : model.loss(yb, b, accumulateGrads, 1 / count);
      masked.add(sum, b, chunked && !real);
      if (finiteOutputs && !allFinite(out)) finiteOutputs = false;
      metrics?.add(out, yb, b, model.outMask);
      counter?.(out, yb, b, model.outMask, tally);
    }
  } finally {
    model.realStepsPerSample = undefined;
  }
  return { loss: masked.loss(count), accuracy: counter ? accuracyOf(tally) : null, finiteOutputs };
}

/** The real steps at the output over the range, by a forward pass (undefined without a mask there). */
function realSteps(model: Model, x: Floats, start: number, count: number): number | undefined {
  let real = 0;
  for (let s = start; s < start + count; s += EVAL_CHUNK) {
    const b = Math.min(EVAL_CHUNK, start + count - s);
    model.forward(x.subarray(s * model.inputSize, (s + b) * model.inputSize), b);
    const mask = model.outMask;
    if (!mask) return undefined;
    for (let i = 0; i < mask.length; i++) if (mask[i] !== 0) real++;
  }
  return real;
}

/**
 * The sum of the chunks' losses; a chunk of a masked output, when asked, as its masked sum
 * `Σ m·w·l` (the batch loss `b·Σ m·w·l / Σ m` times `Σ m / b`) and its real steps apart, so
 * that the range's loss is their ratio.
 */
class Masked {
  private total = 0;
  private sum = 0;
  private real = 0;
  private penalty = 0;
  private apart = false;
  constructor(private readonly model: Model) {}

  /** @param batchSum what `Model.loss` returned for a chunk of `b`; @param apart read a mask apart. */
  add(batchSum: number, b: number, apart: boolean): void {
    const mask = this.model.outMask;
    if (!apart || !mask) {
      this.total += batchSum;
      return;
    }
    this.apart = true;
    let r = 0;
    for (let i = 0; i < mask.length; i++) if (mask[i] !== 0) r++;
    const reg = this.model.regularization;
    const penalty = reg?.penalized ? reg.last : 0;
    this.penalty += penalty;
    this.real += r;
    if (r > 0) this.sum += ((batchSum - penalty) * r) / b;
  }

  /** The mean loss over `count` samples. */
  loss(count: number): number {
    if (!this.apart) return this.total / count;
    return (this.real > 0 ? this.sum / this.real : 0) + this.penalty / count;
  }
}
