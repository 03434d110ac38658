/**
 * Worker-thread side of a job chunk (dispatched by `engine-worker.ts`): trains, posting every
 * epoch's values to the main thread as it ends, and answers with what the checkpoint needs.
 */
import { performance } from "node:perf_hooks";
import { EngineError, train } from "../../engine/index.js";
import { leanAnswer } from "../models/saved-model.js";
import { trainResponse } from "../responses.js";
import type { ChunkOutcome, TrainChunkTask } from "./chunk-task.js";

export function runTrainChunk(task: TrainChunkTask): ChunkOutcome {
  try {
    const start = performance.now();
    const result = train({
      ...task.options,
      onEpochEnd: (logs) => {
        task.progress.postMessage(logs);
        return undefined;
      },
    });
    const response = trainResponse(result, task.options.seed, performance.now() - start);
    if (!task.final) {
      delete response.gradients;
      delete response.optimizerState;
      delete response.optimum;
      response.weights = {};
    } else if (task.parts) leanAnswer(response, [...task.parts, "history", "metrics"]);
    return {
      ok: true,
      json: JSON.stringify(response),
      weights: result.weights,
      ...(result.optimizerState ? { optimizerState: result.optimizerState } : {}),
    };
  } catch (err) {
    if (!(err instanceof EngineError)) throw err;
    return { ok: false, error: { message: err.message, path: err.path } };
  }
}
