import { checkNamedTensors, describeModel, type ModelSpec, type NamedTensors } from "../engine/index.js";
import type {
  GradientsRequest,
  GradientsResponse,
  PredictRequest,
  PredictResponse,
  TrainRequest,
  TrainResponse,
} from "../schemas/index.js";
import type { Path } from "./convert.js";
import { type DatasetInfo, listDatasets } from "./datasets.js";
import type { EngineOutcome, JsonText } from "./engine-task.js";
import { fieldError, UnprocessableError } from "./errors.js";
import {
  type ModelLookup,
  type ResolveContext,
  type ResolvedTrainRequest,
  resolveGradients,
  resolvePredict,
  resolveTrain,
} from "./models/resolve.js";
import type { TrainedModel } from "./models/saved-model.js";
import { planGradients, planPredict } from "./plan/inspect-plan.js";
import { checked, type EngineLimits } from "./plan/limits.js";
import type { StoredDatasets } from "./plan/request-data.js";
import { planTraining, type TrainPlan } from "./plan/train-plan.js";
import type { EnginePool, TaskSignal } from "./pool.js";

export type { EngineLimits } from "./plan/limits.js";
export type { TrainPlan } from "./plan/train-plan.js";

/** POST /train's answer (JSON text), and with `saveModel` the model to store or why there is none. */
export interface TrainOutcome {
  json: JsonText<TrainResponse>;
  /** The request as it ran: `model` and `initialWeights` resolved (what a saved model records). */
  request: ResolvedTrainRequest;
  model?: TrainedModel;
  diverged?: boolean;
}

/** A checked training request in the engine's form (see `EngineService.prepareTrain`). */
export type PreparedTraining = TrainPlan;

/**
 * Between the HTTP routes and the engine: each request is checked once, into a plan
 * (`src/service/plan`: the model described once, the limits, the samples and weights converted
 * to Float64Arrays naming the bad field, the seed), which the worker pool then runs; the worker
 * answers with the response's JSON text (`responses.ts` shapes it). Every engine fault becomes
 * a 422 naming the request field.
 */
export class EngineService {
  constructor(
    private readonly pool: EnginePool,
    private readonly limits: EngineLimits,
    /**
     * Looks up a stored data set (`{ "dataset": { "id" } }`) by id alone, in SQLite or PostgreSQL
     * (hence maybe async); without it, none exist.
     */
    private readonly storedDatasets?: StoredDatasets,
    /** The stored models a request names (`{ modelId }`); without it, none exist. */
    private readonly models?: ModelLookup,
  ) {}

  /** Whose models a request may name: `owner`'s (any owner's when undefined). */
  private context(owner: string | undefined): ResolveContext {
    return { models: this.models, owner };
  }

  /** The built-in data sets. */
  datasets(): DatasetInfo[] {
    return listDatasets();
  }

  /**
   * POST /train: resolves the models the request names (`owner`'s), plans the request within
   * MAX_WORK and runs it in the pool. The answer carries the parts `req.return` lists; with
   * `req.saveModel`, `model` is what the registry stores (the exact weights as typed arrays), absent
   * when the run diverged (`diverged`); `request` is the request as it ran (models resolved).
   * @throws (rejects with) the plan's 4xx errors (a 404 at `model.modelId` / `initialWeights.modelId`
   *   for an unknown model), the engine's fault as a 422, the pool's 503/504.
   */
  async train(req: TrainRequest, signal?: TaskSignal, owner?: string): Promise<TrainOutcome> {
    const request = await resolveTrain(req, this.context(owner));
    const { options, transfer, toRequest, work } = await planTraining(
      request,
      this.limits,
      this.storedDatasets,
      "request",
    );
    const task = { kind: "train" as const, options, parts: req.return, keepModel: req.saveModel === true };
    const outcome = await this.pool.run(task, { signal, transfer, work });
    const json = unwrap(outcome, toRequest);
    return outcome.ok && outcome.model
      ? { json, request, model: outcome.model }
      : { json, request, diverged: outcome.ok && outcome.diverged === true };
  }

  /**
   * A job's training plan, within MAX_JOB_WORK: what POST /jobs checks a body with when the job
   * is created (the plan's `request`, seed fixed, is what the job stores: models named by id
   * resolved into their spec and weights, so the job does not depend on them staying stored), and
   * what the job's run plans its stored request with again. It rejects exactly what POST /train rejects, with the
   * same status and paths, except that the compute budget is the job's.
   * @throws (rejects with) UnprocessableError / InvalidRequestError naming the field;
   *   NotFoundError at `dataset.id` for an unknown stored data set.
   */
  async prepareTrain(req: TrainRequest, owner?: string): Promise<TrainPlan> {
    return planTraining(
      await resolveTrain(req, this.context(owner)),
      this.limits,
      this.storedDatasets,
      "job",
    );
  }

  /**
   * Checks a model and its weights as a request would send them (an import): the spec within
   * MAX_PARAMS, then exactly its weights and moving statistics, shapes and finite values.
   * @param at where the model sits in the request, or how a path of the spec maps into the
   *   request (a Keras topology's `kerasToSpec(...).path`); `weightsAt`, where its weights sit.
   * @throws UnprocessableError naming the field.
   */
  checkModel(
    spec: ModelSpec,
    weights: NamedTensors,
    at: Path | ((p: readonly PropertyKey[]) => readonly (string | number)[]),
    weightsAt: Path,
  ): void {
    const limit = { maxParams: this.limits.maxParams, maxParamsName: "MAX_PARAMS" };
    const summary = checked(
      () => describeModel(spec, limit),
      typeof at === "function" ? (p) => [...at(p)] : (p) => [...at, ...p],
    );
    const shapes = summary.layers.flatMap((l) => [...l.params, ...(l.state ?? [])]);
    checked(
      () => checkNamedTensors(shapes, weights, [], "weight"),
      (p) => [...weightsAt, ...p],
    );
  }

  /** POST /gradients (the models named are `owner`'s). @throws (rejects with) the plan's 4xx errors, the engine's fault as a 422. */
  async gradients(
    req: GradientsRequest,
    signal?: TaskSignal,
    owner?: string,
  ): Promise<JsonText<GradientsResponse>> {
    const { task, transfer, work, toRequest } = planGradients(
      await resolveGradients(req, this.context(owner)),
      this.limits,
    );
    return unwrap(await this.pool.run(task, { signal, transfer, work }), toRequest);
  }

  /** POST /predict (the models named are `owner`'s). @throws (rejects with) the plan's 4xx errors, the engine's fault as a 422. */
  async predict(
    req: PredictRequest,
    signal?: TaskSignal,
    owner?: string,
  ): Promise<JsonText<PredictResponse>> {
    const { task, transfer, work, toRequest } = planPredict(
      await resolvePredict(req, this.context(owner)),
      this.limits,
    );
    return unwrap(await this.pool.run(task, { signal, transfer, work }), toRequest);
  }
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
