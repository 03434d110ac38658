/**
 * A request's `model` and `initialWeights` in their other forms — a stored model (`{ modelId }`)
 * or a Keras `Sequential` topology — resolved into the engine's `ModelSpec` and weights, per owner,
 * before the request is planned: the plans (src/service/plan) see only the engine's language.
 */
import {
  type Dtype,
  describeModel,
  formatShape,
  type ModelSpec,
  type ModelSummary,
  type NamedTensors,
  sameShape,
} from "../../engine/index.js";
import type { NestedNumbers } from "../../schemas/common.js";
import { isKerasModel, isModelRef, type ModelField } from "../../schemas/model-refs.js";
import type { GradientsRequest, PredictRequest, TrainRequest } from "../../schemas/requests.js";
import { namedTensorsToNested, type Path } from "../convert.js";
import { fieldError, NotFoundError, UnprocessableError } from "../errors.js";
import { kerasToSpec } from "./formats/keras-import.js";
import type { ModelStore } from "./model-store.js";

/** What resolving needs of the model store: a model and its weights, by id and owner. */
export type ModelLookup = Pick<ModelStore, "get" | "weights">;

type NestedWeights = Record<string, NestedNumbers>;

/** A training request with its model as a `ModelSpec` and its initial weights by name (what a job stores). */
export type ResolvedTrainRequest = Omit<TrainRequest, "model" | "initialWeights"> & {
  model: ModelSpec;
  initialWeights?: NestedWeights;
  /**
   * The stored model whose weights the run starts from (`initialWeights: { modelId }`): its
   * lineage. `model: { modelId }` alone reuses the architecture, not the weights, so names none.
   */
  baseModelId?: string;
};
/** A /gradients body with its model as a `ModelSpec` (and a stored model's weights when it sent none). */
export type ResolvedGradientsRequest = Omit<GradientsRequest, "model"> & {
  model: ModelSpec;
  /** The weights are the stored model's, not the body's: an error the engine puts at `weights` is the sample's. */
  weightsStored?: true;
};
/** A /predict body with its model as a `ModelSpec` and its weights (a stored model's when it sent none). */
export type ResolvedPredictRequest = Omit<PredictRequest, "model" | "weights"> & {
  model: ModelSpec;
  weights: NestedWeights;
  /** The body's dtype, else a stored model's (float64 when absent). */
  dtype?: Dtype;
};

/**
 * The dtype a stored model was trained in: its `engineVersion` carries it (`0.3.0+float32`;
 * docs/precision.md §3). Imports and float64 runs are float64.
 */
export function dtypeOfRecord(record: { engineVersion: string }): Dtype {
  return record.engineVersion.endsWith("+float32") ? "float32" : "float64";
}

/** Who asks (their models only) and where models are found (none without a store). */
export interface ResolveContext {
  models?: ModelLookup;
  /** Undefined: any owner's (a job's stored request, already resolved when it was created). */
  owner?: string;
}

/** The 404 of an id that names none of the owner's models, at the request field that gave it. */
export function unknownModel(id: string, path: Path): NotFoundError {
  const message = "no stored model of this client has this id (GET /models lists them)";
  return new NotFoundError(`no model ${id}`, [fieldError(path, message)]);
}

/**
 * A request's `model` as a `ModelSpec`: a stored model's spec (with its id, for its weights; its
 * loss replaced by `{ modelId, loss }`'s), a Keras topology converted (docs/models.md), or the spec itself.
 * @param forTraining a Keras topology must then carry a loss (422 at `model.loss` otherwise).
 * @param lossNeeded a stored model imported without a loss must then be named with one (422 at
 *   `model.loss` otherwise): training, and /gradients, which differentiates the loss.
 * @throws NotFoundError at `model.modelId`; kerasToSpec's 400/422 at `model.config…`.
 */
export async function resolveModel(
  model: ModelField,
  ctx: ResolveContext,
  forTraining: boolean,
  at: Path = ["model"],
  lossNeeded = forTraining,
): Promise<{ spec: ModelSpec; modelId?: string; dtype?: Dtype }> {
  if (isModelRef(model)) {
    const record = await ctx.models?.get(model.modelId, ctx.owner);
    if (!record) throw unknownModel(model.modelId, [...at, "modelId"]);
    const { loss } = model as { loss?: ModelSpec["loss"] };
    if (lossNeeded && loss === undefined && !record.lossGiven) {
      const message =
        `model ${record.id} was imported without a loss: name one, ` +
        `{ "modelId": "${record.id}", "loss": "categoricalCrossentropy" } (any loss of ModelSpec's)`;
      throw new UnprocessableError(message, [fieldError([...at, "loss"], message)]);
    }
    return {
      spec: loss === undefined ? record.spec : { ...record.spec, loss },
      modelId: record.id,
      dtype: dtypeOfRecord(record),
    };
  }
  if (isKerasModel(model)) {
    const keras = model as { loss?: unknown };
    const lossAt = keras.loss === undefined ? [...at, "training_config", "loss"] : [...at, "loss"];
    const { spec, lossGiven } = kerasToSpec(model, at, keras.loss, lossAt);
    if (forTraining && !lossGiven) {
      const message =
        'training needs a loss: `loss` beside `class_name` (a Keras name such as "categorical_crossentropy" ' +
        "or one of ModelSpec's), or `training_config.loss` in the topology";
      throw new UnprocessableError(message, [fieldError([...at, "loss"], message)]);
    }
    return { spec };
  }
  return { spec: model as ModelSpec };
}

/**
 * A stored model's weights by name, as a request would send them (the engine's float64 values).
 * @throws NotFoundError at `path` when the owner has no such model.
 */
export async function storedWeights(id: string, ctx: ResolveContext, path: Path): Promise<NestedWeights> {
  const weights = await ctx.models?.weights(id, ctx.owner);
  if (!weights) throw unknownModel(id, path);
  // Stored weights are finite (a diverged run keeps its last finite ones): no null in them.
  return namedTensorsToNested(weights) as NestedWeights;
}

/**
 * POST /train and /jobs: `model` and `initialWeights` resolved. A job stores the result, so a job
 * queued for an hour runs what was checked at its creation even if its source model is deleted.
 */
export async function resolveTrain(req: TrainRequest, ctx: ResolveContext): Promise<ResolvedTrainRequest> {
  const { spec, dtype: modelDtype } = await resolveModel(req.model, ctx, true);
  const given = req.initialWeights;
  let initialWeights = given as NestedWeights | undefined;
  let weightsDtype: Dtype | undefined;
  if (isModelRef(given)) {
    const at = ["initialWeights", "modelId"];
    const record = await ctx.models?.get(given.modelId, ctx.owner);
    const weights = record && (await ctx.models?.weights(given.modelId, ctx.owner));
    if (!record || !weights) throw unknownModel(given.modelId, at);
    checkStoredFits(spec, weights, given.modelId, at);
    initialWeights = namedTensorsToNested(weights) as NestedWeights;
    weightsDtype = dtypeOfRecord(record);
  }
  // Fine-tuning a stored model runs in its dtype unless the body names one: the weights' model
  // first, else the architecture's (docs/precision.md §4). Resolved once, so a job keeps it;
  // float64 is the default and is left unsaid.
  const inherited = weightsDtype ?? modelDtype;
  const dtype = req.dtype ?? (inherited === "float32" ? inherited : undefined);
  // A job's stored request is resolved again when it runs: its lineage is kept, not recomputed.
  const { initialWeights: _, baseModelId: kept, ...rest } = req as ResolvedTrainRequest;
  const baseModelId = isModelRef(given) ? given.modelId : kept;
  return {
    ...rest,
    model: spec,
    ...(initialWeights ? { initialWeights } : {}),
    ...(baseModelId ? { baseModelId } : {}),
    ...(dtype ? { dtype } : {}),
  };
}

/**
 * Checks that a stored model's weights fit the request's model (`initialWeights: { modelId }`),
 * so that a mismatch is reported at the field the client sent, not at a weight's name it never
 * wrote. A spec that does not build is left to the plan, which names its field.
 * @throws UnprocessableError at `at` naming both sets of names, or the first shape that differs.
 */
function checkStoredFits(spec: ModelSpec, weights: NamedTensors, id: string, at: Path): void {
  let summary: ModelSummary;
  try {
    summary = describeModel(spec);
  } catch {
    return;
  }
  const expected = summary.layers.flatMap((l) => [...l.params, ...(l.state ?? [])]);
  const list = (keys: string[]) => keys.map((k) => `"${k}"`).join(", ") || "none";
  const have = Object.keys(weights);
  let fault: string | undefined;
  if (have.length !== expected.length || expected.some((p) => !Object.hasOwn(weights, p.key)))
    fault =
      `the weights of model ${id} are ${list(have)}; this request's model expects ` +
      `${list(expected.map((p) => p.key))}`;
  else {
    const bad = expected.find((p) => !sameShape(weights[p.key]!.shape, p.shape));
    if (bad)
      fault =
        `weight "${bad.key}" of model ${id} has shape ${formatShape(weights[bad.key]!.shape)}; ` +
        `this request's model expects ${formatShape(bad.shape)}`;
  }
  if (fault === undefined) return;
  const message =
    `${fault} (to continue the stored model itself, send its architecture with its weights: ` +
    `"model": { "modelId": "${id}" } beside "initialWeights": { "modelId": "${id}" })`;
  throw new UnprocessableError(message, [fieldError(at, message)]);
}

/** POST /gradients: the model resolved; a stored model's weights when `weights` is absent. */
export async function resolveGradients(
  req: GradientsRequest,
  ctx: ResolveContext,
): Promise<ResolvedGradientsRequest> {
  const { spec, modelId, dtype } = await resolveModel(req.model, ctx, false, ["model"], true);
  const weights =
    req.weights ?? (modelId ? await storedWeights(modelId, ctx, ["model", "modelId"]) : undefined);
  // A stored float32 model runs in float32 unless the body says otherwise (docs/precision.md §4).
  const runIn = req.dtype ?? dtype;
  return {
    ...req,
    model: spec,
    ...(weights ? { weights } : {}),
    ...(weights && !req.weights ? { weightsStored: true as const } : {}),
    ...(runIn ? { dtype: runIn } : {}),
  };
}

/** POST /predict: the model resolved; a stored model's weights when `weights` is absent. */
export async function resolvePredict(
  req: PredictRequest,
  ctx: ResolveContext,
): Promise<ResolvedPredictRequest> {
  const { spec, modelId, dtype } = await resolveModel(req.model, ctx, false);
  const weights =
    req.weights ?? (modelId ? await storedWeights(modelId, ctx, ["model", "modelId"]) : undefined);
  // The schema requires `weights` unless `model` names a stored model, which then gave them.
  if (!weights) throw new Error("a /predict body without weights passed its schema");
  // A stored float32 model predicts in float32 unless the body says otherwise (docs/precision.md §4).
  const runIn = req.dtype ?? dtype;
  return { ...req, model: spec, weights, ...(runIn ? { dtype: runIn } : {}) };
}
