/**
 * The worker-thread side of the pool: runs one engine call per task and returns the finished
 * HTTP answer as JSON text, so neither the computation nor the (large) serialisation of tensors
 * runs on the event loop. Threads load it bundled into one file (`worker-bundle.ts`); `pool.ts`
 * also imports it to run small tasks inline.
 */
import { performance } from "node:perf_hooks";
import { EngineError, predict, train, withGradients } from "../engine/index.js";
import { matmulKernels } from "../engine/matmul.js";
import { registerNativeKernels } from "../native/kernels.js";
import type { EngineOutcome, EngineResponses, EngineTask, JsonText } from "./engine-task.js";
import type { ChunkOutcome, TrainChunkTask } from "./jobs/chunk-task.js";
import { runTrainChunk } from "./jobs/train-chunk.js";
import { leanAnswer, trainingSummary } from "./models/saved-model.js";
import { gradientsJson, predictResponse, trainResponse } from "./responses.js";

// Every thread that runs engine tasks (the pool's, and the main thread for inline ones) uses the
// native kernels where they were built.
registerNativeKernels();

/**
 * POST /train: the answer cut down to `task.parts`; with `keepModel`, the exact weights and the
 * summary of the whole answer beside it (a diverged run's last finite weights are not kept).
 */
function trainAnswer(task: Extract<EngineTask, { kind: "train" }>): EngineOutcome {
  const start = performance.now();
  const result = train(task.options);
  const response = trainResponse(result, task.options.seed, performance.now() - start);
  const kept =
    task.keepModel && !result.diverged
      ? {
          model: {
            weights: result.weights,
            summary: trainingSummary(response),
            engineVersion: result.engineVersion,
            weightsSha256: result.weightsSha256,
            seed: task.options.seed,
          },
        }
      : task.keepModel
        ? { diverged: true }
        : {};
  return { ok: true, json: JSON.stringify(leanAnswer(response, task.parts)), ...kept };
}

function answer(task: Exclude<EngineTask, { kind: "train" }>): JsonText<EngineResponses[EngineTask["kind"]]> {
  switch (task.kind) {
    case "gradients":
      return withGradients(task.options, (r) => gradientsJson(r, task.options.seed));
    case "predict":
      return JSON.stringify(
        predictResponse(
          predict(task.model, task.weights, task.x, task.n, task.dtype),
          task.dtype ?? "float64",
        ),
      );
  }
}

/**
 * The matrix-product kernels this thread runs (`native-avx512` … `typescript`, docs/kernels.md):
 * the pool calls it by name (`EnginePool.kernels`) for GET /metrics.
 */
export function kernels(): string {
  return matmulKernels();
}

/** Every task kind a worker runs: the engine's requests, and a job's chunk (`runUnqueued`). */
export type WorkerTask = EngineTask | TrainChunkTask;

export default function run(task: WorkerTask): EngineOutcome | ChunkOutcome {
  if (task.kind === "trainChunk") return runTrainChunk(task);
  try {
    if (task.kind === "train") return trainAnswer(task);
    return { ok: true, json: answer(task) };
  } catch (err) {
    // Anything else is a bug: let it cross as an Error and become a logged 500.
    if (!(err instanceof EngineError)) throw err;
    return { ok: false, error: { message: err.message, path: err.path } };
  }
}
