import {
  checkSamples,
  checkTrainOptions,
  type Dataset,
  type ModelSummary,
  type NamedTensors,
  OPTIMIZER_SLOTS,
  type SlotName,
  type TrainOptions,
} from "../../engine/index.js";
import type { TrainRequest } from "../../schemas/requests.js";
import { nestedToNamedTensors, type Path } from "../convert.js";
import type { ResolvedTrainRequest } from "../models/resolve.js";
import { wantsGradients } from "../models/saved-model.js";
import {
  type Budget,
  checkBatchBytes,
  checked,
  checkTelemetrySize,
  checkWork,
  describe,
  type EngineLimits,
  TRAIN_PASSES,
} from "./limits.js";
import {
  buffersOf,
  checkDataRange,
  drawSeed,
  type StoredDatasets,
  trainingData,
  trainingPaths,
} from "./request-data.js";

/**
 * A training request checked in full and converted to the engine's form: everything POST /train
 * would reject has been rejected, so a job made from it can only fail by what happens while it
 * runs (a worker lost, a least-squares fit that overflows). Carries what was computed on the way.
 */
export interface TrainPlan {
  /** The request as it runs: the client's, with its seed fixed (drawn here when absent). What a job stores. */
  request: ResolvedTrainRequest & { seed: number };
  /** The model's description, built once for the whole check. */
  summary: ModelSummary;
  /** The training data, of which the last `nVal` samples are held out. */
  data: Dataset;
  nVal: number;
  seed: number;
  /** Passes over the training set the run makes: `normalEquation` makes one, whatever `epochs` says. */
  epochs: number;
  /**
   * The run must be one engine call, not a series of checkpointed chunks: the normal equation's
   * single solve, or early stopping (its counters are not part of a checkpoint).
   */
  whole: boolean;
  /** Estimated multiply-adds of the whole run (the measure of MAX_WORK and MAX_JOB_WORK). */
  work: number;
  /** The engine's options (fresh arrays, safe to move to a worker). */
  options: Omit<TrainOptions, "onEpochEnd">;
  /** The buffers of `options` that may be moved to a worker. */
  transfer: ArrayBuffer[];
  /** Maps a path of the engine's (`["y", 3]`) to the request field (`["dataset", "y", 3]`). */
  toRequest: (p: Path) => Path;
}

/**
 * The one check of a training body, for POST /train and POST /jobs alike (and for a job's run,
 * which plans its stored request again). In order, the first fault answering: the model and
 * MAX_PARAMS; the data set (its samples converted, or the built-in or stored one loaded); the
 * samples against the model; the weights and optimiser state converted; every option `train`
 * checks (`checkTrainOptions`: `sampleWeight` against the data set's length, built-in, stored or
 * inline, `classWeight` against the model's classes, `metrics` against the loss); and only then the compute budget, so that a wrong body gets the
 * same answer from every route whatever its budget. Only the stored data set's lookup is
 * asynchronous.
 * @param budget `request` for POST /train (MAX_WORK), `job` for a job (MAX_JOB_WORK).
 * @throws (rejects with) UnprocessableError / InvalidRequestError naming the field; NotFoundError
 *   at `dataset.id` for an unknown stored data set.
 */
export async function planTraining(
  req: ResolvedTrainRequest,
  limits: EngineLimits,
  stored: StoredDatasets | undefined,
  budget: Budget,
): Promise<TrainPlan> {
  const summary = describe(req.model, limits);
  const data = await trainingData(req.dataset, summary, req.model.loss, stored);
  const closedForm = req.optimizer.type === "normalEquation";
  // The normal equation is one solve, reported as one epoch; the schema requires `epochs` otherwise.
  const epochs = closedForm ? 1 : (req.epochs ?? 1);
  const toRequest = trainingPaths(req.dataset);
  // A built-in data set's samples are finite and in float32's range (decoded once per process,
  // datasets.ts): no pass over them here.
  const builtIn = "name" in req.dataset;
  checked(() => checkSamples(summary, req.model.loss, data, builtIn), toRequest);
  const inline = "x" in req.dataset ? { x: req.dataset.x, y: req.dataset.y, prefix: ["dataset"] } : undefined;
  if (!builtIn) checkDataRange(req.dtype, data, inline, toRequest);
  const initialWeights = req.initialWeights && nestedToNamedTensors(req.initialWeights, ["initialWeights"]);
  const optimizerState = optimizerStateOf(req.optimizerState);
  // Checked against the data set's length (a stored one's too) by checkTrainOptions.
  const sampleWeight = req.sampleWeight && Float64Array.from(req.sampleWeight);
  const seed = req.seed ?? drawSeed();
  const options: Omit<TrainOptions, "onEpochEnd"> = {
    model: req.model,
    data,
    optimizer: req.optimizer,
    epochs,
    batchSize: req.batchSize,
    shuffle: req.shuffle,
    seed,
    dtype: req.dtype,
    validationSplit: req.validationSplit,
    initialWeights,
    telemetry: req.telemetry,
    earlyStopping: req.earlyStopping,
    returnOptimizerState: req.returnOptimizerState,
    // A lean answer without gradients skips the final backward pass over every sample.
    finalGradients: wantsGradients(req.return),
    optimizerState,
    sampleWeight,
    classWeight: req.classWeight,
    metrics: req.metrics,
  };
  const { nVal } = checked(() => checkTrainOptions(options, summary, { samplesChecked: true }), toRequest);
  // Last: a body that is wrong is answered as wrong whatever its size, on every route alike.
  const work = trainingWork(summary, data.n, epochs, closedForm);
  if (closedForm)
    checkWork(work, limits, budget, "the normal equation", ["optimizer", "type"], CLOSED_FORM_REMEDY, true);
  // One epoch cannot shrink: then the model (or the data set) is what is too big.
  else if (epochs > 1)
    checkWork(work, limits, budget, "training", ["epochs"], "fewer epochs, samples or parameters");
  else
    checkWork(
      work,
      limits,
      budget,
      "one epoch of training",
      ["model"],
      "a smaller model (fewer units, filters or layers) or fewer samples",
      true,
    );
  checkBatchBytes(
    summary,
    { kind: "training", n: data.n, batchSize: req.batchSize, closedForm },
    limits,
    req.dtype,
  );
  checkTelemetrySize(summary, epochs, req.telemetry);
  return {
    request: { ...req, seed },
    summary,
    data,
    nVal,
    seed,
    epochs,
    whole: closedForm || req.earlyStopping !== undefined,
    work,
    options,
    transfer: [
      data.x.buffer as ArrayBuffer,
      data.y.buffer as ArrayBuffer,
      ...(sampleWeight ? [sampleWeight.buffer as ArrayBuffer] : []),
      ...buffersOf(initialWeights),
      ...OPTIMIZER_SLOTS.flatMap((slot) => buffersOf(optimizerState?.[slot])),
    ],
    toRequest,
  };
}

/** What a client can change when the normal equation is over its budget (it takes no epochs). */
const CLOSED_FORM_REMEDY = "fewer samples or input features, or a gradient optimiser";

/**
 * Estimated multiply-adds of a run: `n · forwardCost · epochs · TRAIN_PASSES` by gradient; the
 * normal equation is one least-squares solve, O(n · columns² · outputs), then one pass for the metrics.
 */
function trainingWork(summary: ModelSummary, n: number, epochs: number, closedForm: boolean): number {
  if (!closedForm) return summary.forwardCost * n * epochs * TRAIN_PASSES;
  const columns = summary.inputSize + 1;
  return n * (columns * columns * summary.outputSize + summary.forwardCost * TRAIN_PASSES);
}

type StateIn = NonNullable<TrainRequest["optimizerState"]>;
type StateOut = Omit<StateIn, SlotName> & Partial<Record<SlotName, NamedTensors>>;

/** An optimiser state sent back, its per-parameter arrays converted to tensors (naming the bad field). */
function optimizerStateOf(state: StateIn | undefined): StateOut | undefined {
  if (!state) return undefined;
  const out = { ...state } as unknown as StateOut;
  for (const slot of OPTIMIZER_SLOTS) {
    const nested = state[slot];
    if (nested) out[slot] = nestedToNamedTensors(nested, ["optimizerState", slot]);
  }
  return out;
}
