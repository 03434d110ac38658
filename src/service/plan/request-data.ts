import { randomInt } from "node:crypto";
import {
  type Dataset,
  type Dtype,
  labelShape,
  type ModelSpec,
  type ModelSummary,
  type NamedTensors,
  takesLabels,
} from "../../engine/index.js";
import type { NestedNumbers } from "../../schemas/common.js";
import type { TrainRequest } from "../../schemas/requests.js";
import {
  beyondFloat32,
  beyondFloat32Range,
  checkFloat32Range,
  labelsToArray,
  type Path,
  samplesToArray,
} from "../convert.js";
import { loadBuiltIn, prepareBuiltIn } from "../datasets.js";
import { fieldError, UnprocessableError } from "../errors.js";
import { type MaybePromise, type StoredDataset, unknownDataset } from "../store/dataset-store.js";
import { storedTrainingData } from "../store/training-data.js";

/** Looks up a stored data set by id alone (SQLite or PostgreSQL, hence maybe async). */
export type StoredDatasets = (id: string) => MaybePromise<StoredDataset | undefined>;

/**
 * The seed of a request that sends none: a uint32 from the OS's CSPRNG, returned to the client
 * (and stored with a job) so the run can be repeated. The only place a seed is drawn.
 */
export function drawSeed(): number {
  return randomInt(0, 2 ** 32);
}

/**
 * A training request's data set in the engine's form: a built-in one, a stored one, or the inline
 * samples (`dataset.x`, `dataset.y`).
 * @throws UnprocessableError / InvalidRequestError naming the field; NotFoundError at `dataset.id`
 *   for a stored data set that does not exist (or when `stored` is not given).
 */
export async function trainingData(
  dataset: TrainRequest["dataset"],
  summary: ModelSummary,
  loss: ModelSpec["loss"],
  stored: StoredDatasets | undefined,
): Promise<Dataset> {
  if ("name" in dataset) {
    await prepareBuiltIn(dataset.name);
    return loadBuiltIn(dataset, summary, loss);
  }
  if ("id" in dataset) {
    const found = await stored?.(dataset.id);
    if (!found) throw unknownDataset(dataset.id);
    return storedTrainingData(found, summary, loss);
  }
  return inlineDataset(dataset.x, dataset.y, summary, loss, ["dataset"]);
}

/**
 * Maps a path of the engine's into a training request: the samples (`["y", 3]`) are
 * `["dataset", "y", 3]` inline; a built-in or stored data set's are not in the request, so the
 * data set itself is named (`["dataset", "name"]`, `["dataset", "id"]`). Other paths are the request's.
 */
export function trainingPaths(dataset: TrainRequest["dataset"]): (p: Path) => Path {
  const where: Path | undefined =
    "name" in dataset ? ["dataset", "name"] : "id" in dataset ? ["dataset", "id"] : undefined;
  return (p) => (p[0] === "x" || p[0] === "y" ? (where ?? ["dataset", ...p]) : p);
}

/**
 * Inline samples and targets in the engine's form. `y` is integer labels for the sparse loss (of
 * `labelShape`: one per sample, or one per step on a sequence output `[T, C]`), otherwise one target per sample of the output's shape (a number when it has one unit).
 * @param prefix where the samples sit in the request; `[]` for /gradients' single sample at the
 *   body's root (`x`, `y` then name one sample, not a list).
 * @throws InvalidRequestError / UnprocessableError naming the sample.
 */
export function inlineDataset(
  x: readonly NestedNumbers[],
  y: readonly NestedNumbers[],
  summary: ModelSummary,
  loss: ModelSpec["loss"],
  prefix: Path,
): Dataset {
  // Where sample i sits: `x` itself for /gradients' single sample. (No named closure here: tsx
  // names each one created, an Object.defineProperty per request.)
  const single = prefix.length === 0;
  const xAt = single ? () => ["x"] : (i: number) => [...prefix, "x", i];
  const yAt = single ? () => ["y"] : (i: number) => [...prefix, "y", i];
  const xs = samplesToArray(x, summary.inputShape, xAt);
  // A sequence output [T, C] takes one label per step (labelShape [T]).
  const labels = takesLabels(loss) ? labelShape(summary.outputShape) : undefined;
  const ys = !labels
    ? samplesToArray(y, summary.outputShape, yAt)
    : labels.length > 0
      ? samplesToArray(y, labels, yAt)
      : labelsToArray(y, yAt);
  return { n: x.length, x: xs, y: ys };
}

/**
 * Refuses, in a float32 run, samples or targets beyond float32's range (docs/precision.md §1),
 * which would otherwise round to ±Infinity in the first batch holding them. Inline data is named
 * element by element (`dataset.x[0][1]`, or `x[1]` for /gradients' single sample); a built-in or
 * stored data set by `toRequest`'s name for it, with the sample's index.
 * @param inline the request's own samples and targets, and where they sit (`["dataset"]`, or `[]`
 *   at the body's root), when the data was sent inline.
 * @throws UnprocessableError at the first value out of range, x before y.
 */
export function checkDataRange(
  dtype: Dtype | undefined,
  data: Dataset,
  inline:
    | {
        x: readonly NestedNumbers[] | NestedNumbers;
        y: readonly NestedNumbers[] | NestedNumbers;
        prefix: Path;
      }
    | undefined,
  toRequest: (p: Path) => Path,
): void {
  if (dtype !== "float32") return;
  if (inline) {
    checkFloat32Range(inline.x, [...inline.prefix, "x"]);
    checkFloat32Range(inline.y, [...inline.prefix, "y"]);
    return;
  }
  for (const field of ["x", "y"] as const) {
    const values = data[field];
    const size = values.length / data.n;
    for (let k = 0; k < values.length; k++) {
      const v = values[k]!;
      if (!beyondFloat32Range(v)) continue;
      const message = `${field} of sample ${Math.floor(k / size)}: ${beyondFloat32(v)}`;
      throw new UnprocessableError(message, [fieldError(toRequest([field, Math.floor(k / size)]), message)]);
    }
  }
}

/** The buffers of some tensors, to move them to a worker thread. */
export function buffersOf(tensors: NamedTensors | undefined): ArrayBuffer[] {
  return tensors ? Object.values(tensors).map((t) => t.data.buffer as ArrayBuffer) : [];
}
