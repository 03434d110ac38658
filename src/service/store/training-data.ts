import {
  type Dataset,
  formatShape,
  type LossSpec,
  labelShape,
  type ModelSummary,
  sizeOf,
  takesLabels,
} from "../../engine/index.js";
import { fieldError, UnprocessableError } from "../errors.js";
import type { StoredDataset } from "./dataset-store.js";

/**
 * A stored data set in the engine's form for a model, like a built-in one. For
 * `sparseCategoricalCrossentropy` the targets are class labels of `labelShape`, as inline: one per
 * sample, or one per step on a sequence output `[T, C]`. Otherwise a number per sample is the
 * target itself for a one-unit output, and one-hot vectors for a k-unit output (labels 0 … k − 1);
 * vector targets are used as they are when they have the output's size. Fresh arrays (they are
 * sent to a worker).
 * @throws UnprocessableError at `dataset.id` when the samples or targets do not fit the model.
 */
export function storedTrainingData(ds: StoredDataset, summary: ModelSummary, loss: LossSpec): Dataset {
  const n = ds.samples;
  const inputSize = sizeOf(ds.inputShape);
  if (inputSize !== summary.inputSize)
    throw unfit(
      `data set ${ds.id} has ${inputSize} values per sample (inputShape ${formatShape(ds.inputShape)}); the ` +
        `model's inputShape ${formatShape(summary.inputShape)} holds ${summary.inputSize}`,
    );
  const x = Float64Array.from(ds.x);
  const targetSize = sizeOf(ds.targetShape);
  const k = summary.outputSize;
  if (takesLabels(loss)) {
    // The inline path's shape of labels (request-data.ts): one per sample, or one per step.
    const labels = labelShape(summary.outputShape);
    if (targetSize !== sizeOf(labels))
      throw unfit(
        (labels.length === 0
          ? "sparseCategoricalCrossentropy needs one class label per sample"
          : `sparseCategoricalCrossentropy needs one class label per step (shape ${formatShape(labels)}) for ` +
            `the model's sequence output ${formatShape(summary.outputShape)}`) +
          `; data set ${ds.id} has targets of shape ${formatShape(ds.targetShape)}`,
      );
    return { n, x, y: Float64Array.from(ds.y) };
  }
  if (targetSize !== 1) {
    if (targetSize !== k)
      throw unfit(
        `data set ${ds.id} has targets of ${targetSize} values (shape ${formatShape(ds.targetShape)}); the model ` +
          `has ${k} outputs`,
      );
    return { n, x, y: Float64Array.from(ds.y) };
  }
  if (k === 1) return { n, x, y: Float64Array.from(ds.y) };
  // One number per sample, k outputs: one-hot encode class labels.
  const classes = ds.classes?.length;
  if (classes !== undefined && classes !== k)
    throw unfit(
      `data set ${ds.id} has ${classes} classes; with ${loss} the model needs ${classes} output units, not ${k}`,
    );
  const y = new Float64Array(n * k);
  for (let i = 0; i < n; i++) {
    const label = ds.y[i]!;
    if (!Number.isInteger(label) || label < 0 || label >= k)
      throw unfit(
        `data set ${ds.id} has one target per sample; to one-hot encode them for the model's ${k} outputs each ` +
          `must be a class label in [0, ${k}), but sample ${i} (0-based) has ${label}`,
      );
    y[i * k + label] = 1;
  }
  return { n, x, y };
}

function unfit(message: string): UnprocessableError {
  return new UnprocessableError(message, [fieldError(["dataset", "id"], message)]);
}
