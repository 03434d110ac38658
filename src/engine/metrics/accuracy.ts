import { isClassifier, lossName, resolveLoss } from "../losses/options.js";
import type { LossSpec } from "../spec.js";
import type { Floats } from "../tensor.js";
import { argmax, decisionOf } from "./classes.js";

/** Decisions counted and those that were right, summed over batches: the accuracy is their ratio. */
export interface Tally {
  correct: number;
  counted: number;
}

/**
 * Adds a batch's decisions to `tally`.
 * @param out the model's output `[batch, k]` (probabilities, or logits with `fromLogits`).
 * @param t targets `[batch, k]`, or labels `[batch, k/u]` for the sparse loss (one per row).
 * @param mask `[batch, T]` time-step mask at the output (1 real, 0 masked), or null: a masked
 *   step's decisions are not counted (Keras 3, docs/backprop.md §21.6).
 */
export type AccuracyCounter = (
  out: Floats,
  t: Floats,
  batch: number,
  mask: Floats | null,
  tally: Tally,
) => void;

/** The accuracy of a tally: correct over counted, 0 when nothing was counted (Keras' `divide_no_nan`). */
export function accuracyOf(tally: Tally): number {
  return tally.counted === 0 ? 0 : tally.correct / tally.counted;
}

/**
 * Keras 3's `accuracy` for the model's loss and output (docs/backprop.md §14.4, §21.6), the rule
 * chosen once (a training loop counts every batch); null when the loss is not a classifier's.
 * The output is read as rows of its last axis (`u` values; one row for a vector output, T for a
 * sequence `[T, u]`), as Keras' accuracies reduce over the last axis:
 * - binaryCrossentropy, and hinge and squaredHinge with `u = 1`: every element is a decision,
 *   `y > 0.5` (logit `> 0` with `fromLogits`) against `t` = 1, or for the hinges `y > 0` against `t > 0`;
 * - the categorical losses, and hinge and squaredHinge with `u > 1`: every row is a decision, its
 *   argmax (the first on a tie) against the row's label or the target row's argmax.
 * Without a mask every decision counts: a sequence output scores correct rows over `batch·T`.
 * @param outputShape the model's output per sample.
 */
export function accuracyCounter(loss: LossSpec, outputShape: readonly number[]): AccuracyCounter | null {
  if (!isClassifier(loss)) return null;
  const u = outputShape[outputShape.length - 1]!;
  const k = outputShape.reduce((a, d) => a * d, 1);
  const decision = decisionOf(loss, u)!;
  if (decision.mode === "binary") {
    const hinge = lossName(loss) !== "binaryCrossentropy";
    const threshold = resolveLoss(loss).fromLogits ? 0 : 0.5;
    const right = hinge
      ? (y: number, target: number) => y > 0 === target > 0
      : (y: number, target: number) => (y > threshold ? 1 : 0) === target;
    return (out, t, batch, mask, tally) => {
      const steps = mask ? mask.length / batch : 1;
      const per = k / steps;
      for (let s = 0; s < batch * steps; s++) {
        if (mask && mask[s] === 0) continue;
        for (let i = s * per; i < (s + 1) * per; i++) if (right(out[i]!, t[i]!)) tally.correct++;
        tally.counted += per;
      }
    };
  }
  const { labels } = decision;
  /** Rows per sample (one for a vector output, T for a sequence). */
  const rows = k / u;
  return (out, t, batch, mask, tally) => {
    if (!mask) {
      // Every row counts: integer rows, no per-step bookkeeping (a batch of one sample is the
      // tiny networks' every step, docs/performance.md "Tiny networks").
      const n = batch * rows;
      for (let r = 0; r < n; r++) {
        const actual = labels ? t[r] : argmax(t, r * u, u);
        if (argmax(out, r * u, u) === actual) tally.correct++;
      }
      tally.counted += n;
      return;
    }
    const steps = mask ? mask.length / batch : 1;
    const rowsPerStep = k / steps / u;
    for (let s = 0; s < batch * steps; s++) {
      if (mask && mask[s] === 0) continue;
      for (let r = s * rowsPerStep; r < (s + 1) * rowsPerStep; r++) {
        const actual = labels ? t[r] : argmax(t, r * u, u);
        if (argmax(out, r * u, u) === actual) tally.correct++;
        tally.counted++;
      }
    }
  };
}

/**
 * One batch's `accuracyCounter` tally, or null for a loss that is not a classifier's.
 * @param out `[batch, size(outputShape)]`; @param t its targets (labels for the sparse loss).
 */
export function countCorrect(
  loss: LossSpec,
  outputShape: readonly number[],
  out: Floats,
  t: Floats,
  batch: number,
  mask: Floats | null = null,
): Tally | null {
  const counter = accuracyCounter(loss, outputShape);
  if (!counter) return null;
  const tally = { correct: 0, counted: 0 };
  counter(out, t, batch, mask, tally);
  return tally;
}
