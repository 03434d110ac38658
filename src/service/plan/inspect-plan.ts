import {
  checkSamples,
  checkTokenIds,
  type GradientsOptions,
  type NumericalCheckOptions,
  type NumericalMethod,
  RIDDERS_STEPS,
} from "../../engine/index.js";
import { checkFloat32Range, nestedToNamedTensors, type Path, samplesToArray } from "../convert.js";
import type { EngineTask } from "../engine-task.js";
import type { ResolvedGradientsRequest, ResolvedPredictRequest } from "../models/resolve.js";
import { checkBatchBytes, checked, checkWork, describe, type EngineLimits, TRAIN_PASSES } from "./limits.js";
import { buffersOf, checkDataRange, drawSeed, inlineDataset } from "./request-data.js";

/** A checked /gradients or /predict request: the worker's task, what it may move, its work. */
export interface InspectPlan<T extends EngineTask> {
  task: T;
  transfer: ArrayBuffer[];
  /** Estimated multiply-adds (MAX_WORK's measure). */
  work: number;
  /** Maps a path of the engine's to the request field. */
  toRequest: (p: Path) => Path;
}

/** Loss evaluations per parameter element of each numerical-check rule (docs/backprop.md §10). */
const EVALUATIONS_PER_ELEMENT: Record<NumericalMethod, number> = {
  forward: 1,
  central: 2,
  ridders: 2 * RIDDERS_STEPS,
};

/** A /predict path: the engine's paths are the request's. */
const samePath = (p: Path): Path => p;

/**
 * Maps a path of the engine's to the /gradients request's field. One sample: the engine's
 * `["x", 0]` is the request's `x`. Weights the body did not send (a stored model's) are not where
 * an overflow came from: the sample is.
 */
function gradientsPath(weightsStored: boolean): (p: Path) => Path {
  // Returned directly, not held in a named const: tsx names every such closure when it is created.
  return (p) =>
    p[0] === "x" || p[0] === "y" ? [p[0], ...p.slice(2)] : p[0] === "weights" && weightsStored ? ["x"] : p;
}

/**
 * The check of a POST /gradients body: the model and MAX_PARAMS, the sample, the sample against
 * the model, the weights, then the compute budget (back-propagation, plus two passes per
 * parameter for a central numerical check, one forward, up to 2·RIDDERS_STEPS Ridders'); the seed is fixed here when absent.
 * @throws UnprocessableError / InvalidRequestError naming the field.
 */
export function planGradients(
  req: ResolvedGradientsRequest,
  limits: EngineLimits,
): InspectPlan<Extract<EngineTask, { kind: "gradients" }>> {
  const summary = describe(req.model, limits);
  const data = inlineDataset([req.x], [req.y], summary, req.model.loss, []);
  const check: NumericalCheckOptions | undefined =
    req.numericalCheck === true
      ? {}
      : req.numericalCheck === false || req.numericalCheck === undefined
        ? undefined
        : req.numericalCheck;
  // One sample: the engine's ["x", 0] is the request's "x". Weights the body did not send (a stored
  // model's) are not where an overflow came from: the sample is.
  const toRequest = gradientsPath(req.weightsStored === true);
  checked(() => checkSamples(summary, req.model.loss, data), toRequest);
  checkDataRange(req.dtype, data, { x: req.x, y: req.y, prefix: [] }, toRequest);
  const weights = req.weights && nestedToNamedTensors(req.weights, ["weights"]);
  // Last: a body that is wrong is answered as wrong whatever its size.
  const numericalEvaluations = check
    ? summary.paramCount * EVALUATIONS_PER_ELEMENT[check.method ?? "central"]
    : 0;
  const work = summary.forwardCost * (TRAIN_PASSES + numericalEvaluations);
  checkWork(
    work,
    limits,
    "request",
    check ? "the numerical check" : "back-propagation",
    check ? ["numericalCheck"] : ["model"],
    check ? "a smaller model, or no numericalCheck" : "a smaller model",
  );
  checkBatchBytes(summary, { kind: "gradients", n: data.n }, limits, req.dtype);
  const options: GradientsOptions = {
    model: req.model,
    weights,
    seed: req.seed ?? drawSeed(),
    data,
    numericalCheck: check,
    ...(req.training !== undefined ? { training: req.training } : {}),
    ...(req.dtype !== undefined ? { dtype: req.dtype } : {}),
  };
  return {
    task: { kind: "gradients", options },
    transfer: [data.x.buffer as ArrayBuffer, data.y.buffer as ArrayBuffer, ...buffersOf(weights)],
    work,
    toRequest,
  };
}

/**
 * The check of a POST /predict body: the model and MAX_PARAMS, the samples and the weights
 * converted (the engine checks their keys), then the compute budget (one forward pass per sample).
 * @throws UnprocessableError / InvalidRequestError naming the field.
 */
export function planPredict(
  req: ResolvedPredictRequest,
  limits: EngineLimits,
): InspectPlan<Extract<EngineTask, { kind: "predict" }>> {
  const summary = describe(req.model, limits);
  const n = req.x.length;
  const x = samplesToArray(req.x, summary.inputShape, (i) => ["x", i]);
  if (req.dtype === "float32") checkFloat32Range(req.x, ["x"]);
  // A leading embedding's inputs are token ids (the engine's path ["x", sample, step] is the request's).
  checked(
    () => checkTokenIds(summary, x),
    (p) => p,
  );
  const weights = nestedToNamedTensors(req.weights, ["weights"]);
  // Last: a body that is wrong is answered as wrong whatever its size.
  const work = summary.forwardCost * n;
  checkWork(work, limits, "request", "prediction", ["x"], "fewer samples per request, or a smaller model");
  checkBatchBytes(summary, { kind: "predict", n }, limits, req.dtype);
  return {
    task: { kind: "predict", model: req.model, weights, x, n, ...(req.dtype ? { dtype: req.dtype } : {}) },
    transfer: [x.buffer as ArrayBuffer, ...buffersOf(weights)],
    work,
    toRequest: samePath,
  };
}
