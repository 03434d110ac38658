import { JOB_WORK_FACTOR } from "../../config.js";
import {
  DEFAULT_BATCH_SIZE,
  type Dtype,
  describeModel,
  EngineError,
  EVAL_CHUNK,
  type ModelSpec,
  type ModelSummary,
} from "../../engine/index.js";
import type { Path } from "../convert.js";
import { fieldError, UnprocessableError } from "../errors.js";
import { SummaryCache } from "./summary-cache.js";

/** The configured limits a request is checked against (src/config.ts names each variable). */
export interface EngineLimits {
  /** Largest model, in trainable parameters (MAX_PARAMS). */
  maxParams: number;
  /** Compute budget of one synchronous request, in multiply-adds (MAX_WORK; see `ModelSummary.forwardCost`). */
  maxWork: number;
  /** Compute budget of one job, in multiply-adds (MAX_JOB_WORK); default `JOB_WORK_FACTOR × maxWork`. */
  maxJobWork?: number;
  /**
   * Largest memory one batch's activations and gradients may take, in bytes (MAX_BATCH_BYTES);
   * default `DEFAULT_MAX_BATCH_BYTES`. See `checkBatchBytes`.
   */
  maxBatchBytes?: number;
}

/** MAX_BATCH_BYTES' default: 512 MiB of activations and gradients per batch. */
export const DEFAULT_MAX_BATCH_BYTES = 512 * 2 ** 20;

/** Which budget a run is held to: a synchronous request's (MAX_WORK) or a job's (MAX_JOB_WORK). */
export type Budget = "request" | "job";

/** A backward pass costs about two forward passes: a training step is about three. */
export const TRAIN_PASSES = 3;

/** Summaries of the specs described lately (see `SummaryCache`): a few per client is plenty. */
const summaries = new SummaryCache(256);

/**
 * The model's description (shapes, parameter keys, per-sample cost), checked against MAX_PARAMS.
 * Built once per request, or taken from the recent specs' (`SummaryCache`; frozen, so read-only):
 * everything else on the main thread reads it.
 * @throws UnprocessableError at `model.…` when the shapes do not fit or the model is too large.
 */
export function describe(model: ModelSpec, limits: EngineLimits): ModelSummary {
  try {
    // The engine counts parameters from the shapes before allocating any.
    return summaries.get(model, limits.maxParams, () =>
      describeModel(model, { maxParams: limits.maxParams, maxParamsName: "MAX_PARAMS" }),
    );
  } catch (err) {
    throw asUnprocessable(err, (p) => ["model", ...p]);
  }
}

/**
 * Refuses a run whose estimated work is over its budget, naming the variable that raises it.
 * @param work estimated multiply-adds
 * @param what the run, for the message ("training")
 * @param field the request field the error names
 * @param remedy what the client can change
 * @param jobsTake the same body runs as a job (a training body): a request's message points
 *   there when the job's budget is large enough. By default, when `field` is `epochs`.
 * @throws UnprocessableError at `field` when `work` exceeds the budget.
 */
export function checkWork(
  work: number,
  limits: EngineLimits,
  budget: Budget,
  what: string,
  field: Path,
  remedy: string,
  jobsTake = field[0] === "epochs",
): void {
  const jobLimit = maxJobWork(limits);
  const limit = budget === "job" ? jobLimit : limits.maxWork;
  if (work <= limit) return;
  const asJob =
    budget === "request" && jobsTake && work <= jobLimit
      ? `, or run it as a job (POST /jobs takes the same body; its limit is ${jobLimit.toExponential(2)}, MAX_JOB_WORK)`
      : "";
  const message =
    `${what} would take about ${work.toExponential(2)} multiply-adds; the limit per ${budget === "job" ? "job" : "request"} is ` +
    `${limit.toExponential(2)} (${budget === "job" ? "MAX_JOB_WORK" : "MAX_WORK"}): ${remedy}${asJob}`;
  throw new UnprocessableError(message, [fieldError(field, message)]);
}

/** A job's compute budget: MAX_JOB_WORK, or its default. */
export function maxJobWork(limits: EngineLimits): number {
  return limits.maxJobWork ?? limits.maxWork * JOB_WORK_FACTOR;
}

/** An engine error as a 422 naming the request field (`toRequest` maps the engine's path); others unchanged. */
export function asUnprocessable(err: unknown, toRequest: (p: Path) => Path): unknown {
  if (!(err instanceof EngineError)) return err;
  return new UnprocessableError(err.message, [fieldError(toRequest(err.path), err.message)]);
}

/**
 * Runs an engine check on the main thread, turning its EngineError into a 422 at the request field.
 * @throws UnprocessableError naming the field; whatever else `check` throws.
 */
export function checked<T>(check: () => T, toRequest: (p: Path) => Path): T {
  try {
    return check();
  } catch (err) {
    throw asUnprocessable(err, toRequest);
  }
}

/** Which pass a batch-memory check is for: a training run, a /gradients sample, a /predict. */
export type MemoryUse =
  | { kind: "training"; n: number; batchSize: number | undefined; closedForm: boolean }
  | { kind: "gradients"; n: number }
  | { kind: "predict"; n: number };

/**
 * Refuses a run whose largest batch would keep more than MAX_BATCH_BYTES of activations and
 * gradients: `rows × values × bytes per value` (8 in float64, 4 in float32: docs/precision.md §1),
 * `values` from the model's own accounting
 * (`ModelSummary.sampleValues`), before anything is allocated. The typed arrays live outside
 * V8's heap, so WORKER_MAX_HEAP_MB does not bound them. Rows: training runs
 * `min(batchSize, n)` samples at once (none for the normal equation, which takes no batches)
 * and evaluates `min(n, EVAL_CHUNK)` at once, back-propagating too (the final gradient, the
 * validation pass); /predict runs `min(n, EVAL_CHUNK)` forward; /gradients its samples.
 * @throws UnprocessableError at `batchSize` when the training batch is the larger, at `x` for
 *   /predict, and at `model` otherwise (the evaluation chunk, one /gradients sample).
 */
export function checkBatchBytes(
  summary: ModelSummary,
  use: MemoryUse,
  limits: EngineLimits,
  dtype: Dtype = "float64",
): void {
  const limit = limits.maxBatchBytes ?? DEFAULT_MAX_BATCH_BYTES;
  const evalRows = Math.min(use.n, EVAL_CHUNK);
  let rows: number;
  let values = summary.sampleValues.training;
  let field: Path;
  let what: string;
  let remedy: string;
  if (use.kind === "training") {
    const batchRows = use.closedForm ? 0 : Math.min(use.batchSize ?? DEFAULT_BATCH_SIZE, use.n);
    rows = Math.max(batchRows, evalRows);
    if (batchRows >= evalRows) {
      field = ["batchSize"];
      what = `a batch of ${rows} samples`;
      remedy = "a smaller batchSize, or a smaller model";
    } else {
      field = ["model"];
      what = `evaluating ${rows} samples at once (the data set is evaluated ${EVAL_CHUNK} samples at a time)`;
      remedy = "a smaller model";
    }
  } else if (use.kind === "predict") {
    rows = evalRows;
    values = summary.sampleValues.forward;
    field = ["x"];
    what = `predicting ${rows} samples at once (x is run ${EVAL_CHUNK} samples at a time)`;
    remedy = "fewer samples per request, or a smaller model";
  } else {
    rows = use.n;
    field = ["model"];
    what = `back-propagating ${rows === 1 ? "one sample" : `${rows} samples`}`;
    remedy = "a smaller model";
  }
  const perValue = dtype === "float32" ? 4 : 8;
  const bytes = rows * values * perValue;
  if (bytes <= limit) return;
  const message =
    `${what} would keep about ${formatBytes(bytes)} of activations and gradients ` +
    `(${values} values per sample × ${perValue} bytes${dtype === "float32" ? " in float32" : ""}); the limit is ${formatBytes(limit)} (MAX_BATCH_BYTES): ${remedy}`;
  throw new UnprocessableError(message, [fieldError(field, message)]);
}

/**
 * Most numbers a result's `telemetry.stateGradientNorm` may hold, `epochs × ModelSummary.stateSteps`:
 * up to about 23 MiB of JSON, on top of the other telemetry's few numbers per parameter and epoch.
 */
export const MAX_STATE_GRADIENT_VALUES = 1_000_000;

/** Longest a number takes in JSON, with its comma: 17 significant digits, sign, point, exponent. */
const JSON_NUMBER_BYTES = 24;

/**
 * Refuses telemetry whose per-timestep state-gradient norms (docs/backprop.md §22.5) would pass
 * `MAX_STATE_GRADIENT_VALUES`: they grow with epochs × timesteps, unlike the rest of telemetry.
 * @throws UnprocessableError at `telemetry` naming the size and the limit.
 */
export function checkTelemetrySize(
  summary: ModelSummary,
  epochs: number,
  telemetry: boolean | undefined,
): void {
  const values = epochs * summary.stateSteps;
  if (!telemetry || values <= MAX_STATE_GRADIENT_VALUES) return;
  const message =
    `telemetry would hold ${values.toLocaleString("en-US")} state-gradient norms (stateGradientNorm: ` +
    `${epochs.toLocaleString("en-US")} epochs × ${summary.stateSteps.toLocaleString("en-US")} timesteps of recurrent layers, ` +
    `up to about ${formatBytes(values * JSON_NUMBER_BYTES)} of JSON); the limit is ${MAX_STATE_GRADIENT_VALUES.toLocaleString("en-US")}: ` +
    "fewer epochs or timesteps, or no telemetry";
  throw new UnprocessableError(message, [fieldError(["telemetry"], message)]);
}

/** Bytes in MiB or GiB, three significant digits. */
function formatBytes(bytes: number): string {
  return bytes >= 2 ** 30
    ? `${(bytes / 2 ** 30).toPrecision(3)} GiB`
    : `${(bytes / 2 ** 20).toPrecision(3)} MiB`;
}
