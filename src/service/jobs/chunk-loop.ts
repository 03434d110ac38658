import { MessageChannel } from "node:worker_threads";
import {
  type EpochLogs,
  METRIC_NAMES,
  type NamedTensors,
  type OptimizerState,
  valKey,
} from "../../engine/index.js";
import type { JobProgress } from "../../schemas/jobs.js";
import type { Problem } from "../../schemas/problem.js";
import type { TrainRequest } from "../../schemas/requests.js";
import type { TrainResponse } from "../../schemas/responses.js";
import { type EngineService, engineFault } from "../engine-service.js";
import type { ProblemError } from "../errors.js";
import { leanAnswer, type TrainingSummary, trainingSummary } from "../models/saved-model.js";
import type { EnginePool } from "../pool.js";
import type { Checkpoint, JobRecord } from "../store/job-store.js";
import type { ChunkOutcome, ChunkProgress, TrainChunkTask } from "./chunk-task.js";
import { addChunk, type ChunkSummary, emptySummary } from "./summary.js";

/** Where a mode runs its jobs' chunks: the same for all its jobs. */
export interface ChunkEngine {
  engine: EngineService;
  pool: EnginePool;
  /** Epochs between checkpoints: the first chunk's, and the least. */
  checkpointEvery: number;
  /**
   * While a chunk takes less than half this long (ms), the next has twice the epochs, so a
   * checkpoint's cost (storing it, handing the chunk to a thread, the chunk's full-set metrics)
   * stays small beside the training, and a crash repeats about this much work at most. Chunks
   * never shrink again (the exact resume makes any split give the same weights). 0 or unset:
   * `checkpointEvery` epochs every time.
   */
  checkpointMinMs?: number;
}

/** What `runChunks` needs from the `JobRunner` running the job. */
export interface ChunkLoopDeps extends ChunkEngine {
  /**
   * The job's last checkpoint, if any (not asked for runs that cannot resume from one), its
   * summary read back (`readSummary`).
   */
  loadCheckpoint(): Promise<(Checkpoint & { summary: ChunkSummary }) | undefined>;
  /** Called once before the first chunk: the epochs already done, and whether a checkpoint gave them. */
  onResume(done: number, fromCheckpoint: boolean): void;
  /** One epoch ended (possibly reported twice: once from the worker, once from the chunk's answer). */
  onProgress(progress: JobProgress): void;
  /**
   * Stores the state after a chunk that is not the last.
   * @returns false when the job may not go on (it is no longer running in the store).
   */
  saveCheckpoint(checkpoint: Checkpoint & { summary: ChunkSummary }): Promise<boolean>;
}

/** How the chunks ended (the caller stores it): aborted (the signal fired), diverged, or succeeded. */
export type ChunkLoopEnd =
  | { status: "aborted" }
  | { status: "diverged"; error: Problem; diverged: NonNullable<TrainResponse["diverged"]> }
  | {
      status: "succeeded";
      /** The job's answer, cut down to the request's `return`. */
      result: TrainResponse;
      /** The whole answer's summary and the exact final weights: what the registry stores. */
      summary: TrainingSummary;
      weights: NamedTensors;
    };

/**
 * Runs a job's training as a series of engine calls of `checkpointEvery` epochs each (more when
 * they are fast, see `checkpointMinMs`), every one
 * continuing the last exactly (weights plus optimiser state), from the job's checkpoint if it has
 * one. Emits each epoch's progress, stores a checkpoint after each chunk but the last, and joins
 * the chunks' history and telemetry into the job's result. Runs whose state a checkpoint cannot
 * carry (early stopping's counters) or that make one pass anyway (the normal equation) run whole,
 * in one engine call, from the beginning; the seed makes that exact.
 * @throws the engine's fault as a ProblemError; whatever the pool or the store throws.
 */
export async function runChunks(
  deps: ChunkLoopDeps,
  job: {
    epochs: number;
    request: TrainRequest;
    /** The job's off switch (cancel, stop): the running chunk's worker thread is terminated. */
    signal: AbortSignal;
  },
): Promise<ChunkLoopEnd> {
  const { epochs: total, request: req, signal } = job;
  const { options, toRequest, whole } = await deps.engine.prepareTrain(req);
  const checkpoint = whole ? undefined : await deps.loadCheckpoint();
  let weights: NamedTensors | undefined = checkpoint?.weights ?? options.initialWeights;
  let state: OptimizerState | undefined = checkpoint?.optimizerState ?? options.optimizerState;
  let summary = checkpoint?.summary ?? emptySummary();
  let done = checkpoint?.epochsDone ?? 0;
  deps.onResume(done, checkpoint !== undefined);
  // The engine numbers epochs from the optimizer state a body continues; the job from 1.
  const offset = req.optimizerState?.epochsCompleted ?? 0;
  let every = deps.checkpointEvery;
  for (;;) {
    const n = whole ? options.epochs : Math.min(every, total - done);
    const started = performance.now();
    const final = whole || done + n >= total;
    const channel = new MessageChannel();
    channel.port1.on("message", (logs: ChunkProgress) =>
      deps.onProgress(progressOf(logs.epoch - offset + 1, total, logs)),
    );
    let outcome: ChunkOutcome;
    try {
      const task: TrainChunkTask = {
        kind: "trainChunk",
        options: {
          ...options,
          epochs: n,
          initialWeights: weights,
          optimizerState: state,
          returnOptimizerState: whole ? options.returnOptimizerState : true,
          // A chunk before the last answers no gradients: none is computed for it.
          finalGradients: final && options.finalGradients !== false,
        },
        progress: channel.port2,
        final,
        ...(req.return ? { parts: req.return } : {}),
      };
      outcome = await deps.pool.runUnqueued<ChunkOutcome>(task, { signal, transfer: [task.progress] });
    } finally {
      channel.port1.close();
    }
    if (signal.aborted) return { status: "aborted" };
    if (!outcome.ok) throw engineFault(outcome.error, toRequest);
    // Not stored data: the answer of this process's own engine thread, the TrainResponse it has just
    // serialised, read once per chunk. A schema here would check our own code against itself and
    // cost a walk over every history and telemetry value of every chunk; what is stored of it (the
    // summary, the progress) is read back through its schema.
    const chunk = JSON.parse(outcome.json) as TrainResponse;
    summary = addChunk(summary, chunk);
    // Epochs whose message has not arrived yet (it travels on another port than the answer).
    const h = chunk.history as Record<string, (number | null)[] | undefined>;
    for (let e = 0; e < chunk.epochsRun; e++)
      deps.onProgress(
        progressOf(
          done + e + 1,
          total,
          Object.fromEntries(PROGRESS_KEYS.map((key) => [key, h[key]?.[e]])) as EpochValues,
        ),
      );
    done += chunk.epochsRun;
    // One of those epochs may have stopped the job (a trial's median rule).
    if (signal.aborted) return { status: "aborted" };
    if (chunk.diverged) {
      const d = chunk.diverged;
      return {
        status: "diverged",
        error: { type: "/problems/diverged", title: "Training diverged", status: 422, detail: d.message },
        diverged: d,
      };
    }
    if (final || chunk.epochsRun < n) {
      const result = jobResult(chunk, summary, req.returnOptimizerState === true);
      const whole = trainingSummary(result);
      return {
        status: "succeeded",
        result: leanAnswer(result, req.return),
        summary: whole,
        weights: outcome.weights,
      };
    }
    weights = outcome.weights;
    state = outcome.optimizerState;
    if (!state) throw new Error("a chunk came back without its optimizer state");
    const saved = await deps.saveCheckpoint({ epochsDone: done, weights, optimizerState: state, summary });
    // A cancel may have come while the checkpoint was stored: then no further chunk runs.
    if (!saved || signal.aborted) return { status: "aborted" };
    if (deps.checkpointMinMs && performance.now() - started < deps.checkpointMinMs / 2) every *= 2;
  }
}

/** The job's answer: the last chunk's, with the history, telemetry and timings of every chunk. */
function jobResult(last: TrainResponse, summary: ChunkSummary, keepState: boolean): TrainResponse {
  const result: TrainResponse = {
    ...last,
    history: summary.history,
    epochsRun: summary.epochsRun,
    initialEpoch: summary.initialEpoch ?? last.initialEpoch,
    durationMs: Math.round(summary.durationMs * 1000) / 1000,
    ...(summary.telemetry ? { telemetry: summary.telemetry } : {}),
  };
  if (!keepState) delete result.optimizerState;
  return result;
}

/** A job's progress as its record last stored it (the epochs of its last checkpoint). */
export function storedProgress(record: JobRecord): JobProgress {
  return { epoch: record.epochsDone, epochs: record.epochs, ...record.progress };
}

/** The data of a job's final `succeeded` event (`metrics` as the result has them, `return` or not). */
export function succeededData(
  progress: JobProgress,
  result: TrainResponse,
  metrics: TrainResponse["metrics"] = result.metrics,
): Record<string, unknown> {
  return {
    status: "succeeded",
    ...progress,
    metrics,
    weightsSha256: result.weightsSha256,
    durationMs: result.durationMs,
    ...(result.modelId ? { modelId: result.modelId } : {}),
  };
}

/** A job's error for a ProblemError its run threw. */
export function problemOf(err: ProblemError): Problem {
  return {
    type: err.type,
    title: err.title,
    status: err.status,
    detail: err.message,
    ...(err.errors ? { errors: err.errors } : {}),
  };
}

/**
 * A job's error when its worker thread died (out of memory, say) or a bug: 503 as for a
 * synchronous request (WorkerFailedError), a lack of room rather than a bug.
 */
export function workerFailed(detail: string): Problem {
  return { type: "/problems/worker-failed", title: "Worker failed", status: 503, detail };
}

/** The worker-failed error for what a job's run threw. */
export function workerStopped(err: unknown): Problem {
  return workerFailed(
    `the worker thread running this job stopped: ${err instanceof Error ? err.message : String(err)}`,
  );
}

type EpochValues = { [K in Exclude<keyof EpochLogs, "epoch">]?: number | null };

/** The epoch's values a job's progress carries: loss, accuracy, the distance to the optimum and every metric's. */
const PROGRESS_KEYS = [
  "loss",
  "accuracy",
  "valLoss",
  "valAccuracy",
  "distanceToOptimum",
  ...METRIC_NAMES.filter((m) => m !== "accuracy").flatMap((m) => [m, valKey(m)]),
] as (keyof EpochValues & keyof JobProgress)[];

function progressOf(epoch: number, epochs: number, logs: EpochValues): JobProgress {
  const out: JobProgress = { epoch, epochs };
  for (const key of PROGRESS_KEYS) {
    const v = logs[key];
    if (typeof v === "number" && Number.isFinite(v)) out[key] = v;
  }
  return out;
}
