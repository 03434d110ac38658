import type { Dtype, GradientsOptions, ModelSpec, NamedTensors, TrainOptions } from "../engine/index.js";
import type { AnswerPart } from "../schemas/answer-parts.js";
import type { GradientsResponse, PredictResponse, TrainResponse } from "../schemas/responses.js";
import type { TrainedModel } from "./models/saved-model.js";

/** What the main thread asks a worker to run (structured-cloned; typed arrays transferred). */
export type EngineTask =
  | {
      kind: "train";
      options: Omit<TrainOptions, "onEpochEnd">;
      /** The request's `return`: the answer's large parts (undefined: all). */
      parts?: AnswerPart[];
      /** `saveModel`: also answer the weights as typed arrays, with the answer's summary (`model`). */
      keepModel?: boolean;
    }
  | { kind: "gradients"; options: GradientsOptions }
  | { kind: "predict"; model: ModelSpec; weights: NamedTensors; x: Float64Array; n: number; dtype?: Dtype };

/** The HTTP answer each task produces. */
export interface EngineResponses {
  train: TrainResponse;
  gradients: GradientsResponse;
  predict: PredictResponse;
}

/** JSON text of a `T`, produced by `JSON.stringify` of a value typed `T`. */
export type JsonText<T> = string & { readonly __jsonOf?: T };

/**
 * A worker's answer. Success is the finished HTTP answer as JSON text: turning large tensors
 * into nested arrays and stringifying them is the expensive part of an answer, so it happens in
 * the worker, not on the event loop. Engine errors come back as data: an `Error` crossing a
 * thread boundary loses its class and fields (`path`), which the service needs to name the field.
 */
export type EngineOutcome<T = unknown> =
  | {
      ok: true;
      json: JsonText<T>;
      /** A train task with `keepModel` whose run did not diverge: what the registry stores. */
      model?: TrainedModel;
      /** A train task with `keepModel` whose run diverged. */
      diverged?: boolean;
    }
  | { ok: false; error: { message: string; path: (string | number)[] } };
