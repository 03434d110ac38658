import { randomInt } from "node:crypto";
import {
  type Dataset,
  describeModel,
  EngineError,
  type ModelSpec,
  type ModelSummary,
  type NamedTensors,
  type NumericalCheckOptions,
  type TrainOptions,
  validateData,
} from "../engine/index.js";
import type { NestedNumbers } from "../schemas/common.js";
import type {
  GradientsRequest,
  GradientsResponse,
  PredictRequest,
  PredictResponse,
  TrainRequest,
  TrainResponse,
} from "../schemas/index.js";
import { labelsToArray, nestedToNamedTensors, type Path, samplesToArray } from "./convert.js";
import { type DatasetInfo, listDatasets, loadBuiltIn } from "./datasets.js";
import type { EngineOutcome, JsonText } from "./engine-task.js";
import { fieldError, UnprocessableError } from "./errors.js";
import type { EnginePool } from "./pool.js";
import { type MaybePromise, type StoredDataset, unknownDataset } from "./store/dataset-store.js";
import { storedTrainingData } from "./store/training-data.js";

export interface EngineLimits {
  /** Largest model, in trainable parameters. */
  maxParams: number;
  /** Compute budget of one request, in multiply-adds (see `ModelSummary.forwardCost`). */
  maxWork: number;
}

/** A checked training request in the engine's form (see `EngineService.prepareTrain`). */
export interface PreparedTraining {
  options: Omit<TrainOptions, "onEpochEnd">;
  /** The buffers of `options` that may be moved to a worker. */
  transfer: ArrayBuffer[];
  /** Maps a path of the engine's (`["y", 3]`) to the request field (`["dataset", "y", 3]`). */
  toRequest: (p: Path) => Path;
  /** Estimated multiply-adds of the whole run (the MAX_WORK budget's measure). */
  work: number;
}

/** A backward pass costs about two forward passes. */
const TRAIN_PASSES = 3;

/**
 * Between the HTTP routes and the engine: checks the model and the limits, converts JSON
 * samples and weights to Float64Arrays (naming the bad field), and runs the engine in the
 * worker pool, which answers with the response's JSON text (`responses.ts` shapes it). Every
 * engine fault becomes a 422 naming the request field.
 */
export class EngineService {
  constructor(
    private readonly pool: EnginePool,
    private readonly limits: EngineLimits,
    /**
     * Looks up a stored data set (`{ "dataset": { "id" } }`) by id alone, in SQLite or PostgreSQL
     * (hence maybe async); without it, none exist.
     */
    private readonly storedDatasets?: (id: string) => MaybePromise<StoredDataset | undefined>,
  ) {}

  /** The built-in data sets. */
  datasets(): DatasetInfo[] {
    return listDatasets();
  }

  async train(req: TrainRequest, signal?: AbortSignal): Promise<JsonText<TrainResponse>> {
    const { options, transfer, toRequest, work } = await this.prepareTrain(req);
    const outcome = await this.pool.run({ kind: "train", options }, { signal, transfer, work });
    return unwrap(outcome, toRequest);
  }

  /**
   * Checks a training request and converts it to the engine's options (fresh arrays, listed in
   * `transfer`); `toRequest` maps an engine error's path to the request field. A job checks its
   * body with this when it is created, and runs it in chunks. Async only for the stored data
   * set's lookup; the checks are synchronous.
   * @throws (rejects with) UnprocessableError / InvalidRequestError naming the field;
   *   NotFoundError at `dataset.id` for an unknown stored data set.
   */
  async prepareTrain(req: TrainRequest): Promise<PreparedTraining> {
    const summary = this.describe(req.model);
    const data =
      "name" in req.dataset
        ? loadBuiltIn(req.dataset.name, summary, req.model.loss)
        : "id" in req.dataset
          ? await this.storedDataset(req.dataset.id, summary, req.model.loss)
          : this.inlineDataset(req.dataset.x, req.dataset.y, summary, req.model.loss, ["dataset"]);
    // normalEquation: one least-squares solve, O(n · columns²), then one pass for the metrics.
    const columns = summary.inputSize + 1;
    const work =
      req.optimizer.type === "normalEquation"
        ? data.n * (columns * columns * summary.outputSize + summary.forwardCost * TRAIN_PASSES)
        : summary.forwardCost * data.n * (req.epochs ?? 1) * TRAIN_PASSES;
    this.checkWork(work, "training", ["epochs"], "fewer epochs, samples or parameters");
    // A built-in data set's samples are not in the request: name the data set itself.
    const builtIn = "name" in req.dataset;
    const stored = "id" in req.dataset;
    const toRequest = (p: Path): Path =>
      p[0] === "x" || p[0] === "y"
        ? builtIn
          ? ["dataset", "name"]
          : stored
            ? ["dataset", "id"]
            : ["dataset", ...p]
        : p;
    this.validate(req.model, data, toRequest);
    const initialWeights = req.initialWeights && nestedToNamedTensors(req.initialWeights, ["initialWeights"]);
    const state = req.optimizerState;
    const moments = (key: "velocity" | "m" | "v") =>
      state?.[key] && nestedToNamedTensors(state[key], ["optimizerState", key]);
    const optimizerState = state && {
      ...state,
      velocity: moments("velocity"),
      m: moments("m"),
      v: moments("v"),
    };
    const seed = req.seed ?? drawSeed();
    return {
      options: {
        model: req.model,
        data,
        optimizer: req.optimizer,
        epochs: req.epochs ?? 1, // only normalEquation may omit it; it makes one pass
        batchSize: req.batchSize,
        shuffle: req.shuffle,
        seed,
        validationSplit: req.validationSplit,
        initialWeights,
        telemetry: req.telemetry,
        earlyStopping: req.earlyStopping,
        returnOptimizerState: req.returnOptimizerState,
        optimizerState,
      },
      transfer: [
        data.x.buffer,
        data.y.buffer,
        ...buffersOf(initialWeights),
        ...buffersOf(optimizerState?.velocity),
        ...buffersOf(optimizerState?.m),
        ...buffersOf(optimizerState?.v),
      ] as ArrayBuffer[],
      toRequest,
      work,
    };
  }

  /**
   * A stored data set in the engine's form for this model.
   * @throws NotFoundError at `dataset.id` when there is none; UnprocessableError when it does not fit.
   */
  private async storedDataset(id: string, summary: ModelSummary, loss: ModelSpec["loss"]): Promise<Dataset> {
    const stored = await this.storedDatasets?.(id);
    if (!stored) throw unknownDataset(id);
    return storedTrainingData(stored, summary, loss);
  }

  async gradients(req: GradientsRequest, signal?: AbortSignal): Promise<JsonText<GradientsResponse>> {
    const summary = this.describe(req.model);
    const data = this.inlineDataset([req.x], [req.y], summary, req.model.loss, []);
    const check: NumericalCheckOptions | undefined =
      req.numericalCheck === true
        ? {}
        : req.numericalCheck === false || req.numericalCheck === undefined
          ? undefined
          : req.numericalCheck;
    const numericalEvaluations = check ? summary.paramCount * (check.method === "forward" ? 1 : 2) : 0;
    const work = summary.forwardCost * (TRAIN_PASSES + numericalEvaluations);
    this.checkWork(
      work,
      check ? "the numerical check" : "back-propagation",
      check ? ["numericalCheck"] : ["model"],
      check ? "a smaller model, or no numericalCheck" : "a smaller model",
    );
    // One sample: the engine's ["x", 0] is the request's "x".
    const toRequest = (p: Path): Path => (p[0] === "x" || p[0] === "y" ? [p[0]] : p);
    this.validate(req.model, data, toRequest);
    const weights = req.weights && nestedToNamedTensors(req.weights, ["weights"]);
    const seed = req.seed ?? drawSeed();
    const outcome = await this.pool.run(
      { kind: "gradients", options: { model: req.model, weights, seed, data, numericalCheck: check } },
      { signal, transfer: [data.x.buffer, data.y.buffer, ...buffersOf(weights)] as ArrayBuffer[], work },
    );
    return unwrap(outcome, toRequest);
  }

  async predict(req: PredictRequest, signal?: AbortSignal): Promise<JsonText<PredictResponse>> {
    const summary = this.describe(req.model);
    const n = req.x.length;
    const work = summary.forwardCost * n;
    this.checkWork(work, "prediction", ["x"], "fewer samples per request, or a smaller model");
    const x = samplesToArray(req.x, summary.inputShape, (i) => ["x", i]);
    const weights = nestedToNamedTensors(req.weights, ["weights"]);
    const outcome = await this.pool.run(
      { kind: "predict", model: req.model, weights, x, n },
      { signal, transfer: [x.buffer, ...buffersOf(weights)] as ArrayBuffer[], work },
    );
    return unwrap(outcome, (p) => p);
  }

  /**
   * The model's shapes, checked against the parameter limit.
   * @throws UnprocessableError at `model.…` when shapes do not fit or the model is too large.
   */
  private describe(model: ModelSpec): ModelSummary {
    let summary: ModelSummary;
    try {
      // The engine counts parameters from the shapes before allocating any (MAX_PARAMS).
      summary = describeModel(model, { maxParams: this.limits.maxParams });
    } catch (err) {
      throw asUnprocessable(err, (p) => ["model", ...p]);
    }
    return summary;
  }

  /**
   * Inline samples and targets in the engine's form. `y` is integer labels for the sparse loss,
   * otherwise one target per sample of the output's shape (a number when it has one unit).
   */
  private inlineDataset(
    x: readonly NestedNumbers[],
    y: readonly NestedNumbers[],
    summary: ModelSummary,
    loss: ModelSpec["loss"],
    prefix: Path,
  ): Dataset {
    const single = prefix.length === 0; // /gradients: one sample at the body's root
    const n = x.length;
    const xs = samplesToArray(x, summary.inputShape, (i) => samplePath(prefix, "x", i, single));
    const ys =
      loss === "sparseCategoricalCrossentropy"
        ? labelsToArray(y, (i) => samplePath(prefix, "y", i, single))
        : samplesToArray(y, summary.outputShape, (i) => samplePath(prefix, "y", i, single));
    return { n, x: xs, y: ys };
  }

  private validate(model: ModelSpec, data: Dataset, toRequest: (p: Path) => Path): void {
    try {
      validateData(model, data);
    } catch (err) {
      throw asUnprocessable(err, toRequest);
    }
  }

  /**
   * @param work estimated multiply-adds
   * @throws UnprocessableError naming `field` when `work` exceeds the per-request budget.
   */
  private checkWork(work: number, what: string, field: Path, remedy: string): void {
    if (work > this.limits.maxWork) {
      const message =
        `${what} would take about ${work.toExponential(2)} multiply-adds; the limit per request is ` +
        `${this.limits.maxWork.toExponential(2)} (MAX_WORK): ${remedy}`;
      throw new UnprocessableError(message, [fieldError(field, message)]);
    }
  }
}

function samplePath(prefix: Path, field: "x" | "y", i: number, single: boolean): Path {
  return single ? [field] : [...prefix, field, i];
}

/** A uint32 seed from the OS's CSPRNG, returned to the client so the run can be repeated. */
function drawSeed(): number {
  return randomInt(0, 2 ** 32);
}

function buffersOf(tensors: NamedTensors | undefined): ArrayBufferLike[] {
  return tensors ? Object.values(tensors).map((t) => t.data.buffer) : [];
}

/** The answer's JSON text, or the engine's error as a 422 naming the request field. */
function unwrap<T>(outcome: EngineOutcome<T>, toRequest: (p: Path) => Path): JsonText<T> {
  if (!outcome.ok) throw engineFault(outcome.error, toRequest);
  return outcome.json;
}

/** An engine error that crossed from a worker as data, as a 422 naming the request field. */
export function engineFault(
  error: { message: string; path: (string | number)[] },
  toRequest: (p: Path) => Path,
): UnprocessableError {
  return new UnprocessableError(error.message, [fieldError(toRequest(error.path), error.message)]);
}

function asUnprocessable(err: unknown, toRequest: (p: Path) => Path): unknown {
  if (!(err instanceof EngineError)) return err;
  return new UnprocessableError(err.message, [fieldError(toRequest(err.path), err.message)]);
}
