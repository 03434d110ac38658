import { JOB_WORK_FACTOR } from "../../config.js";
import { describeModel, EngineError, type ModelSpec, type ModelSummary } from "../../engine/index.js";
import type { Path } from "../convert.js";
import { fieldError, UnprocessableError } from "../errors.js";

/** The configured limits a request is checked against (src/config.ts names each variable). */
export interface EngineLimits {
  /** Largest model, in trainable parameters (MAX_PARAMS). */
  maxParams: number;
  /** Compute budget of one synchronous request, in multiply-adds (MAX_WORK; see `ModelSummary.forwardCost`). */
  maxWork: number;
  /** Compute budget of one job, in multiply-adds (MAX_JOB_WORK); default `JOB_WORK_FACTOR × maxWork`. */
  maxJobWork?: number;
}

/** Which budget a run is held to: a synchronous request's (MAX_WORK) or a job's (MAX_JOB_WORK). */
export type Budget = "request" | "job";

/** A backward pass costs about two forward passes: a training step is about three. */
export const TRAIN_PASSES = 3;

/**
 * The model's description (shapes, parameter keys, per-sample cost), checked against MAX_PARAMS.
 * Built once per request: everything else on the main thread reads it.
 * @throws UnprocessableError at `model.…` when the shapes do not fit or the model is too large.
 */
export function describe(model: ModelSpec, limits: EngineLimits): ModelSummary {
  try {
    // The engine counts parameters from the shapes before allocating any.
    return describeModel(model, { maxParams: limits.maxParams, maxParamsName: "MAX_PARAMS" });
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
