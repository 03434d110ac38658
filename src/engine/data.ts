import { EngineError } from "./errors.js";
import { lossName, takesLabels } from "./losses.js";
import { Model } from "./model.js";
import type { LossSpec, ModelSpec } from "./spec.js";
import type { Dataset } from "./types.js";

/** Values per sample in `y`: 1 (a label) for the sparse loss, else the model's output size. */
export function targetSize(model: Model): number {
  return takesLabels(model.spec.loss) ? labelsPerSample(model.outputShape) : model.outputSize;
}

/**
 * The shape of one sample's labels for the sparse loss on a model of `outputShape`: `[T]`, one
 * class label per step, for a sequence output `[T, C]` (docs/backprop.md §21.6); else `[]`, one
 * label per sample. Inline, stored and built-in data sets are all held to it.
 */
export function labelShape(outputShape: readonly number[] | undefined): number[] {
  return outputShape?.length === 2 ? [outputShape[0]!] : [];
}

/** Labels per sample for the sparse loss: one per step on a sequence output `[T, C]`, else 1. */
function labelsPerSample(outputShape: readonly number[] | undefined): number {
  return labelShape(outputShape)[0] ?? 1;
}

/**
 * Checks a data set against a built model: sizes, finiteness, labels and targets.
 * @throws EngineError with a path into the data set (`["x"]`, `["y", 5]`).
 */
export function checkData(model: Model, data: Dataset): void {
  checkSamples(model, model.spec.loss, data);
}

/**
 * Checks a data set against a model's sizes (a built `Model` or its `ModelSummary`) and loss:
 * `n ≥ 1` samples of `inputSize` values in `x`; in `y`, one integer label in [0, outputSize)
 * per sample for the sparse loss, else `outputSize` targets per sample, in [0, 1] for the other
 * cross-entropies; every value finite; for a model starting with an embedding, every `x` a token
 * id (`checkTokenIds`). `xFinite`: the caller knows every `x` is finite (a built-in data set,
 * decoded once), which skips the one pass over all of `x` for finiteness.
 * @throws EngineError with a path into the data set (`["x"]`, `["y", 5]`).
 */
export function checkSamples(
  model: {
    readonly inputSize: number;
    readonly outputSize: number;
    readonly outputShape?: readonly number[];
    readonly tokenIds?: number;
  },
  spec: LossSpec,
  data: Dataset,
  xFinite = false,
): void {
  const loss = lossName(spec);
  const { n, x, y } = data;
  if (!Number.isInteger(n) || n < 1) throw new EngineError("the data set is empty", ["x"]);
  if (x.length !== n * model.inputSize)
    throw new EngineError(
      `x has ${x.length} values, expected ${n} samples × ${model.inputSize} = ${n * model.inputSize}`,
      ["x"],
    );
  const sparse = loss === "sparseCategoricalCrossentropy";
  const ts = sparse ? labelsPerSample(model.outputShape) : model.outputSize;
  if (y.length !== n * ts)
    throw new EngineError(`y has ${y.length} values, expected ${n} samples × ${ts} = ${n * ts}`, ["y"]);
  if (!xFinite)
    for (let i = 0; i < x.length; i++)
      if (!Number.isFinite(x[i]!))
        throw new EngineError(`x has a non-finite value (${x[i]})`, ["x", Math.floor(i / model.inputSize)]);
  checkTokenIds(model, x);
  // Classes: the last axis (a sequence output's per-step classes).
  const k = sparse && ts > 1 ? model.outputSize / ts : model.outputSize;
  const shape = sparse ? [ts] : (model.outputShape ?? [k]);
  for (let i = 0; i < y.length; i++) {
    const v = y[i]!;
    if (!Number.isFinite(v))
      throw new EngineError(`y has a non-finite value (${v})`, targetPath(i, ts, shape));
    if (sparse && !(Number.isInteger(v) && v >= 0 && v < k))
      throw new EngineError(
        `label ${v} is not an integer class index in [0, ${k}) (the model has ${k} output units${ts > 1 ? " per step" : ""})`,
        targetPath(i, ts, shape),
      );
    if ((loss === "categoricalCrossentropy" || loss === "binaryCrossentropy") && !(v >= 0 && v <= 1))
      throw new EngineError(
        `target ${v} is outside [0, 1], which ${loss} needs (probabilities)`,
        targetPath(i, ts, shape),
      );
  }
}

/**
 * The path of target value `i` (`["y", sample]`, or the element's own `["y", 0, 2]` when a sample
 * has `ts` > 1 targets of `shape`). A function of its own, not a closure made per value: tsx names
 * every closure it sees created (an `Object.defineProperty` each), which cost a tenth of planning
 * a small POST /gradients (docs/performance.md, "/gradients").
 */
function targetPath(i: number, ts: number, shape: readonly number[]): (string | number)[] {
  const sample = Math.floor(i / ts);
  return ts > 1 ? ["y", sample, ...unravel(i % ts, shape)] : ["y", sample];
}

/** The indices of flat offset `j` in a row-major array of `shape` (`5` in `[2, 3]` → `[1, 2]`). */
function unravel(j: number, shape: readonly number[]): number[] {
  const out = new Array<number>(shape.length);
  for (let a = shape.length - 1; a >= 0; a--) {
    out[a] = j % shape[a]!;
    j = Math.floor(j / shape[a]!);
  }
  return out;
}

/**
 * Checks `data` against the model `spec` describes.
 * @throws EngineError for the model (path into the spec) or the data (`["x"]`, `["y", i]`).
 */
export function validateData(spec: ModelSpec, data: Dataset): void {
  checkData(new Model(spec), data);
}

/**
 * For a model starting with an embedding (`tokenIds` = its `inputDim`), every value of `x`
 * `[n, ...inputShape]` must be an integer token id in `[0, tokenIds)` (docs/backprop.md §21.2);
 * nothing to check otherwise.
 * @throws EngineError at `["x", sample, step]` naming the value and the range.
 */
export function checkTokenIds(
  model: { readonly inputSize: number; readonly tokenIds?: number },
  x: ArrayLike<number>,
): void {
  const v = model.tokenIds;
  if (v === undefined) return;
  for (let i = 0; i < x.length; i++) {
    const id = x[i]!;
    if (Number.isInteger(id) && id >= 0 && id < v) continue;
    const sample = Math.floor(i / model.inputSize);
    const step = i % model.inputSize;
    throw new EngineError(
      `x[${sample}][${step}] = ${id} is not a token id: the model starts with an embedding of inputDim ${v}, so its inputs are integers in [0, ${v})`,
      ["x", sample, step],
    );
  }
}
