import type { MessagePort } from "node:worker_threads";
import type { EpochLogs, NamedTensors, OptimizerState, TrainOptions } from "../../engine/index.js";
import type { AnswerPart } from "../../schemas/answer-parts.js";
import type { TrainResponse } from "../../schemas/responses.js";
import type { JsonText } from "../engine-task.js";

/**
 * One chunk of a job: `options.epochs` epochs continuing from `options.initialWeights` and
 * `options.optimizerState`. The worker posts each epoch's `EpochLogs` on `progress` as it ends.
 */
export interface TrainChunkTask {
  kind: "trainChunk";
  options: Omit<TrainOptions, "onEpochEnd">;
  progress: MessagePort;
  /** The job's last chunk: the answer keeps the weights, gradients and optimiser state as JSON. */
  final: boolean;
  /**
   * The job's `return`: the last chunk's JSON leaves out the large parts it does not list (the
   * history and metrics stay: the job's progress and its model's summary are made of them).
   */
  parts?: AnswerPart[];
}

/** A progress message from the worker. */
export type ChunkProgress = EpochLogs;

/**
 * A chunk's answer. `json` is the chunk's `TrainResponse` text; for a chunk that is not the last,
 * without `weights`, `gradients`, `optimizerState` and `optimum` (they are not shown, and a big
 * model's would be slow to parse) — those come as typed arrays in `weights` and `optimizerState`
 * instead, exact, for the checkpoint and the next chunk. Engine errors come back as data.
 */
export type ChunkOutcome =
  | { ok: true; json: JsonText<TrainResponse>; weights: NamedTensors; optimizerState?: OptimizerState }
  | { ok: false; error: { message: string; path: (string | number)[] } };
