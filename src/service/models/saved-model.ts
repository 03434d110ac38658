/**
 * What the registry keeps of a training run (every succeeded job, POST /train with `saveModel`),
 * and the lean answers (`return`): pure functions, used in the worker threads (on the whole
 * answer, before it is cut down) and on the main thread (building the stored model).
 */
import type { NamedTensors } from "../../engine/index.js";
import { ANSWER_PARTS, type AnswerPart } from "../../schemas/answer-parts.js";
import type { TrainRequest } from "../../schemas/requests.js";
import type { TrainResponse } from "../../schemas/responses.js";
import type { JsonText } from "../engine-task.js";
import { type ModelSource, type ModelStore, type NewModel, newModelId } from "./model-store.js";
import type { ResolvedTrainRequest } from "./resolve.js";

/**
 * The metrics and history summary a model is stored with (its `metrics`): the final metrics at the
 * returned weights, and of the history the epochs run and every series' last value (loss, valLoss,
 * accuracy, …; `null` when not finite); `bestEpoch` and `stoppedEpoch` with early stopping.
 */
export interface TrainingSummary {
  metrics: TrainResponse["metrics"];
  epochsRun: number;
  initialEpoch: number;
  final: Record<string, number | null>;
  bestEpoch?: number;
  stoppedEpoch?: number;
}

/** The summary of a whole training answer (before `return` cuts it down). */
export function trainingSummary(r: TrainResponse): TrainingSummary {
  const final: Record<string, number | null> = {};
  for (const [key, series] of Object.entries(r.history) as [string, (number | null)[] | undefined][])
    if (series && series.length > 0) final[key] = series.at(-1)!;
  return {
    metrics: r.metrics,
    epochsRun: r.epochsRun,
    initialEpoch: r.initialEpoch,
    final,
    ...(r.bestEpoch !== undefined ? { bestEpoch: r.bestEpoch } : {}),
    ...(r.stoppedEpoch !== undefined ? { stoppedEpoch: r.stoppedEpoch } : {}),
  };
}

/**
 * `r` with only the large parts `parts` lists (all of them when `parts` is undefined: the answer
 * as without `return`). Changes `r` in place and returns it.
 */
export function leanAnswer(r: TrainResponse, parts: readonly AnswerPart[] | undefined): TrainResponse {
  if (parts === undefined) return r;
  const out = r as Partial<TrainResponse>;
  for (const part of ANSWER_PARTS) if (!parts.includes(part)) delete out[part];
  return r;
}

/** Whether a request's answer carries the final full-data gradient (else it is not computed). */
export const wantsGradients = (parts: readonly AnswerPart[] | undefined) =>
  parts === undefined || parts.includes("gradients");

/** How a stored model names its data set: a stored one by id, a built-in by name, inline ones by their size. */
export function datasetRef(dataset: TrainRequest["dataset"]): NewModel["dataset"] {
  if ("id" in dataset) return { id: dataset.id };
  if ("name" in dataset) {
    const { name, ...parameters } = dataset;
    return Object.keys(parameters).length > 0 ? { builtin: name, ...parameters } : { builtin: name };
  }
  return { inline: { samples: dataset.x.length } };
}

/** Number of values in `weights` (trainable and non-trainable). */
export function parameterCount(weights: NamedTensors): number {
  return Object.values(weights).reduce((n, t) => n + t.data.length, 0);
}

/** What a run gives the registry beside its request: the exact weights (typed arrays, not JSON) and the answer's identity. */
export interface TrainedModel {
  weights: NamedTensors;
  summary: TrainingSummary;
  engineVersion: string;
  weightsSha256: string;
  seed: number;
}

/**
 * The model to store for a run of `request` (seed filled in or not: `trained.seed` is the one used).
 * @param source "job" (with `jobId`) or "train".
 */
export function modelOf(
  request: ResolvedTrainRequest,
  trained: TrainedModel,
  at: { owner: string; source: Exclude<ModelSource, "import">; jobId?: string; createdAt?: string },
): NewModel {
  return {
    id: newModelId(),
    owner: at.owner,
    createdAt: at.createdAt ?? new Date().toISOString(),
    source: at.source,
    jobId: at.jobId ?? null,
    spec: request.model,
    optimizer: request.optimizer,
    metrics: trained.summary,
    dataset: datasetRef(request.dataset),
    seed: trained.seed,
    engineVersion: trained.engineVersion,
    weightsSha256: trained.weightsSha256,
    parameters: parameterCount(trained.weights),
    // A run always has a loss: the request's, or the one `{ modelId, loss }` named.
    lossGiven: true,
    baseModelId: request.baseModelId ?? null,
    weights: trained.weights,
  };
}

/** Why a diverged run's `saveModel` stored nothing (the answer's `modelNotSaved`). */
export const DIVERGED_NOT_SAVED =
  "the run diverged: its weights are the last finite ones, not a trained model; nothing was stored";

/**
 * POST /train's answer with `saveModel` honoured: the model stored (`source: "train"`) and its
 * `modelId` added to the answer, or `modelNotSaved` when the run diverged. Without `saveModel`,
 * the answer as it is.
 * @param json the answer's JSON text (an object)
 */
export async function savedTrainAnswer(
  models: ModelStore,
  request: ResolvedTrainRequest,
  outcome: { json: JsonText<TrainResponse>; model?: TrainedModel },
  owner: string,
): Promise<JsonText<TrainResponse>> {
  if (request.saveModel !== true) return outcome.json;
  const extra = outcome.model
    ? { modelId: (await models.insert(modelOf(request, outcome.model, { owner, source: "train" }))).id }
    : { modelNotSaved: DIVERGED_NOT_SAVED };
  return `${outcome.json.slice(0, -1)},${JSON.stringify(extra).slice(1)}`;
}
