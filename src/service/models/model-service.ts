import { ENGINE_VERSION, type ModelSpec, type NamedTensors, weightsSha256 } from "../../engine/index.js";
import type { ImportModelJson, ImportModelNative, ModelList, ModelView } from "../../schemas/models.js";
import type { GradientsResponse, PredictResponse } from "../../schemas/responses.js";
import { nestedToNamedTensors } from "../convert.js";
import type { EngineService } from "../engine-service.js";
import type { JsonText } from "../engine-task.js";
import { InvalidRequestError, NotFoundError, ProblemError } from "../errors.js";
import { checkCursor } from "../paging.js";
import type { TaskSignal } from "../pool.js";
import { ExportCache } from "./export-cache.js";
import { kerasToSpec, tfjsWeightsToTensors } from "./formats/keras-import.js";
import { toOnnx } from "./formats/onnx.js";
import { lossOfModelJson, type TfjsModelJson, toTfjs } from "./formats/tfjs.js";
import { type ModelRecord, type ModelStore, newModelId } from "./model-store.js";
import { dtypeOfRecord } from "./resolve.js";

type Path = (string | number)[];

/** The path of `weights.bin` in an exported `model.json`: relative, so tfjs fetches it beside the document. */
export const TFJS_WEIGHTS_PATH = "weights.bin";

/** The most the encoded exports kept in memory weigh together (8 models of 1.9M parameters, both formats). */
export const EXPORT_CACHE_BYTES = 128 * 1024 * 1024;

/**
 * The model registry as the API shows it (GET/DELETE /models…, POST /models/{id}/predict and
 * /gradients, the exports, imports): every method sees only `owner`'s models (404 for others').
 */
export class ModelService {
  private readonly exports: ExportCache;

  constructor(
    private readonly store: ModelStore,
    private readonly engine: EngineService,
    exportCacheBytes = EXPORT_CACHE_BYTES,
  ) {
    this.exports = new ExportCache(exportCacheBytes);
  }

  /** @throws NotFoundError */
  async get(id: string, owner: string): Promise<ModelView> {
    return modelView(await this.record(id, owner));
  }

  /**
   * Newest first, one page; `next` carries the last model's position (`cursor`), which survives
   * its deletion.
   * @throws InvalidRequestError naming `querystring.after` when it names none of the owner's
   *   models, or `querystring.cursor` when both are given.
   */
  async list(query: { limit: number; after?: string; cursor?: number }, owner: string): Promise<ModelList> {
    checkCursor(query);
    const page = await this.store.list(query.limit, { after: query.after, below: query.cursor, owner });
    if (!page)
      throw new InvalidRequestError(`no model ${query.after} to list after`, [
        {
          path: "querystring.after",
          message: "not the id of a model (the next links' cursor survives deletion)",
        },
      ]);
    const params = new URLSearchParams({ limit: String(query.limit) });
    const last = page.items.at(-1);
    if (last) params.set("cursor", String(last.seq));
    return {
      models: page.items.map(modelView),
      hasMore: page.hasMore,
      next: page.hasMore ? `/models?${params}` : null,
    };
  }

  /** @throws NotFoundError */
  async delete(id: string, owner: string): Promise<void> {
    if (!(await this.store.delete(id, owner))) throw notFound(id);
    this.exports.delete(id);
  }

  /** POST /models/{id}/predict: POST /predict with the stored spec and weights (inference mode). */
  predict(id: string, x: unknown[], owner: string, signal?: TaskSignal): Promise<JsonText<PredictResponse>> {
    return this.engine.predict({ model: { modelId: id }, x } as never, signal, owner).catch(asNotFound(id));
  }

  /**
   * POST /models/{id}/gradients: POST /gradients at the stored weights, of the body's `loss` when
   * given. @throws a 422 at `loss` for a model imported without one when the body names none.
   */
  gradients(
    id: string,
    body: Record<string, unknown>,
    owner: string,
    signal?: TaskSignal,
  ): Promise<JsonText<GradientsResponse>> {
    const { loss, ...rest } = body;
    const model = { modelId: id, ...(loss !== undefined ? { loss } : {}) };
    return this.engine
      .gradients({ ...rest, model } as never, signal, owner)
      .catch(asNotFound(id))
      .catch(lossAtRoot);
  }

  /**
   * The TensorFlow.js LayersModel (`model.json` + `weights.bin`, docs/models.md), encoded once per
   * model while it is cached (see ExportCache): its model.json and weights.bin come from one encoding.
   * @throws NotFoundError; the format's 422 naming the layer it cannot express.
   */
  async tfjs(id: string, owner: string): Promise<{ modelJson: TfjsModelJson; weightsBin: Uint8Array }> {
    const record = await this.record(id, owner);
    return this.exports.get(
      "tfjs",
      id,
      async () =>
        toTfjs(record.spec, await this.weightsOf(id, owner), TFJS_WEIGHTS_PATH, {
          optimizer: record.optimizer,
          lossGiven: record.lossGiven,
        }),
      (files) => files.weightsBin.byteLength + JSON.stringify(files.modelJson).length,
    );
  }

  /**
   * The ONNX model's bytes (the graph's default name, not the id: a model exported, imported and
   * exported again gives the same bytes), encoded once per model while it is cached.
   * @throws NotFoundError; the format's 422 naming the layer.
   */
  async onnx(id: string, owner: string): Promise<Uint8Array> {
    const record = await this.record(id, owner);
    return this.exports.get(
      "onnx",
      id,
      async () => toOnnx(record.spec, await this.weightsOf(id, owner)),
      (bytes) => bytes.byteLength,
    );
  }

  /**
   * Registers a model trained elsewhere: a TensorFlow.js `model.json`'s topology and manifest with
   * its weights' bytes (multipart, or JSON with base64 `weightData`), stored with `source: "import"`.
   * @param weightsPart the multipart part the bytes came in (`weights.bin`, `model.weights.bin`),
   *   named instead of `weightData` in errors about them; undefined for JSON.
   * @throws kerasToSpec's 400/422 at `modelTopology…`; tfjsWeightsToTensors' 422 at
   *   `weightsManifest…` / `weightData` (or the part); a 422 when the weights do not fit the model
   *   or it is over MAX_PARAMS.
   */
  async import(
    json: Omit<ImportModelJson, "weightData">,
    weightData: Uint8Array,
    owner: string,
    weightsPart?: string,
  ): Promise<ModelView> {
    try {
      return await this.importJson(json, weightData, owner);
    } catch (err) {
      throw weightsPart === undefined ? err : atPart(err, weightsPart);
    }
  }

  private async importJson(
    json: Omit<ImportModelJson, "weightData">,
    weightData: Uint8Array,
    owner: string,
    at: Path = [],
  ): Promise<ModelView> {
    const given = json.loss !== undefined;
    const loss = given ? json.loss : lossOfModelJson(json);
    const lossAt = given ? [...at, "loss"] : [...at, "trainingConfig", "loss"];
    const { spec, lossGiven, path } = kerasToSpec(json.modelTopology, [...at, "modelTopology"], loss, lossAt);
    const weights = tfjsWeightsToTensors(
      spec,
      json.weightsManifest,
      weightData,
      [...at, "weightsManifest"],
      [...at, "weightData"],
    );
    this.engine.checkModel(spec, weights, path, [...at, "weightsManifest"]);
    // tfjs' own optimiser, as written (re-exported as it came: see kerasOptimizer).
    const optimizer = (json.trainingConfig as { optimizer_config?: unknown } | null | undefined)
      ?.optimizer_config;
    return this.register(spec, weights, owner, lossGiven, optimizer ?? null);
  }

  /**
   * Registers a model given in the engine's own form (`{ model, weights }`, weights as /train
   * answers them), stored with `source: "import"`.
   * @throws InvalidRequestError (400) for ragged weights; a 422 naming `model…` or `weights…`
   *   when the weights do not fit the model or it is over MAX_PARAMS.
   */
  async importNative(body: ImportModelNative, owner: string): Promise<ModelView> {
    const weights = nestedToNamedTensors(body.weights, ["weights"]);
    this.engine.checkModel(body.model, weights, ["model"], ["weights"]);
    return this.register(body.model, weights, owner, true, null);
  }

  private async register(
    spec: ModelSpec,
    weights: NamedTensors,
    owner: string,
    lossGiven: boolean,
    optimizer: unknown,
  ): Promise<ModelView> {
    const record = await this.store.insert({
      id: newModelId(),
      owner,
      createdAt: new Date().toISOString(),
      source: "import",
      jobId: null,
      spec,
      optimizer,
      metrics: null,
      dataset: null,
      seed: null,
      engineVersion: ENGINE_VERSION,
      weightsSha256: weightsSha256(weights),
      parameters: countValues(weights),
      lossGiven,
      baseModelId: null,
      weights,
    });
    return modelView(record);
  }

  private async record(id: string, owner: string): Promise<ModelRecord> {
    const record = await this.store.get(id, owner);
    if (!record) throw notFound(id);
    return record;
  }

  private async weightsOf(id: string, owner: string): Promise<NamedTensors> {
    const weights = await this.store.weights(id, owner);
    // Deleted since its record was read.
    if (!weights) throw notFound(id);
    return weights;
  }
}

/** The record as the API shows it: without its owner, with its links. */
export function modelView(record: ModelRecord): ModelView {
  const self = `/models/${record.id}`;
  return {
    id: record.id,
    createdAt: record.createdAt,
    source: record.source,
    jobId: record.jobId,
    // A placeholder loss is not shown: the model came without one.
    spec: (record.lossGiven ? record.spec : withoutLoss(record.spec)) as ModelView["spec"],
    optimizer: record.optimizer,
    metrics: record.metrics,
    dataset: record.dataset,
    seed: record.seed,
    engineVersion: record.engineVersion,
    dtype: dtypeOfRecord(record),
    weightsSha256: record.weightsSha256,
    parameters: record.parameters,
    lossGiven: record.lossGiven,
    baseModelId: record.baseModelId,
    links: {
      self,
      predict: `${self}/predict`,
      gradients: `${self}/gradients`,
      tfjs: `${self}/tfjs/model.json`,
      onnx: `${self}/onnx`,
    },
  };
}

function notFound(id: string): NotFoundError {
  return new NotFoundError(`no model ${id}`);
}

/**
 * The 404 the engine gives at `model.modelId` for a model of the path (deleted meanwhile, or
 * another owner's) is the route's plain 404: the body has no such field.
 */
function asNotFound(id: string): (err: unknown) => never {
  return (err) => {
    if (err instanceof NotFoundError) throw notFound(id);
    throw err;
  };
}

/** An error about `weightData` as the multipart import's: at the part the bytes came in (its name as sent). */
function atPart(err: unknown, part: string): unknown {
  if (!(err instanceof ProblemError) || !err.errors?.some((e) => e.path === "weightData")) return err;
  const errors = err.errors.map((e) => (e.path === "weightData" ? { ...e, path: part } : e));
  return new ProblemError(err.status, err.type, err.title, `${part}: ${err.message}`, errors, err.headers);
}

/** The body of /models/{id}/gradients has its `loss` at the root, where /gradients has `model.loss`. */
function lossAtRoot(err: unknown): never {
  if (err instanceof ProblemError && err.errors?.some((e) => e.path === "model.loss"))
    throw new ProblemError(
      err.status,
      err.type,
      err.title,
      err.message,
      err.errors.map((e) => (e.path === "model.loss" ? { ...e, path: "loss" } : e)),
      err.headers,
    );
  throw err;
}

function withoutLoss({ loss: _, ...spec }: ModelSpec): Omit<ModelSpec, "loss"> {
  return spec;
}

function countValues(weights: NamedTensors): number {
  let n = 0;
  for (const t of Object.values(weights)) n += t.data.length;
  return n;
}
