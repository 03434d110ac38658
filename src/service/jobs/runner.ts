import type { JobProgress } from "../../schemas/jobs.js";
import type { Problem } from "../../schemas/problem.js";
import type { TrainResponse } from "../../schemas/responses.js";
import type { EngineService } from "../engine-service.js";
import { ProblemError } from "../errors.js";
import type { NewModel } from "../models/model-store.js";
import type { ResolvedTrainRequest } from "../models/resolve.js";
import { modelOf } from "../models/saved-model.js";
import { readStoredRequest } from "../plan/stored-request.js";
import type { EnginePool } from "../pool.js";
import { ACTIVE_STATUSES, type JobEvent, type JobRecord, type JobStore } from "../store/job-store.js";
import {
  type ChunkEngine,
  problemOf,
  runChunks,
  storedProgress,
  succeededData,
  workerFailed,
  workerStopped,
} from "./chunk-loop.js";
import { type JobLogger, seconds } from "./job-view.js";
import type { EventBus, TakenJob, TakeOutcome } from "./ports.js";
import { StopRuleTracker } from "./stop-rule.js";
import { readSummary } from "./summary-schema.js";

export interface RunnerOptions {
  /** Epochs between checkpoints. */
  checkpointEvery: number;
  /** See `ChunkEngine.checkpointMinMs`. */
  checkpointMinMs?: number;
  /**
   * Jobs of one owner running at once over every runner sharing the store (checked by the store
   * as a job is taken; the distributed mode's MAX_JOBS_PER_CLIENT). Undefined: the queue sees to it, or no limit.
   */
  maxPerOwner?: number;
  log?: JobLogger;
  /** Called when a job ends here, with the seconds since a worker first took it up (the metrics). */
  onFinish?: (status: "succeeded" | "failed" | "cancelled", seconds: number | undefined) => void;
}

interface Running {
  controller: AbortController;
  taken: TakenJob;
  /** A progress report to the queue is on its way (one at a time, the latest wins). */
  reporting: boolean;
  progress: JobProgress;
  /** Highest epoch whose progress was taken (an event emitted, or held back). */
  last: number;
  /** The latest epoch's progress event when it was not emitted (thinned out, see `progressStride`). */
  held?: JobEvent;
  /** Progress events emitted and not yet stored. */
  pending: JobEvent[];
  /** The job's median rule (a tuning trial's). */
  rule?: StopRuleTracker;
}

/**
 * Abort reasons: the job was cancelled (stored elsewhere), its median rule stopped it (stored
 * here, as cancelled), or this process stops (the job is given back).
 */
const CANCELLED = "the job was cancelled";
const RULE_STOPPED = "the median rule stopped the job";
const STOPPING = "the runner is stopping";

/**
 * Runs jobs the queue hands it, in either mode: takes the job (`markRunning`, held back when its
 * owner runs their limit), reads its request back through the schema, runs it in chunks of
 * `checkpointEvery` epochs on the engine pool (`runChunks`: each continues the last exactly, from
 * the job's checkpoint if it has one), stores each checkpoint with the epochs' events, and stores
 * the outcome. Each epoch's progress event (one every `progressStride` epochs for a long job) goes
 * out on the event bus, and the latest epoch to the queue. A cancel (from any process, through the bus) terminates the running chunk; every store
 * call is guarded by the job's status, so a cancel that won a race leaves nothing to overwrite:
 * the runner then drops what it still holds of the job.
 */
export class JobRunner {
  private readonly running = new Map<string, Running>();
  private readonly chunks: ChunkEngine;
  private closing = false;

  constructor(
    private readonly store: JobStore,
    private readonly bus: EventBus,
    engine: EngineService,
    pool: EnginePool,
    private readonly options: RunnerOptions,
  ) {
    this.chunks = {
      engine,
      pool,
      checkpointEvery: options.checkpointEvery,
      checkpointMinMs: options.checkpointMinMs,
    };
    bus.onCancel((id) => this.running.get(id)?.controller.abort(new Error(CANCELLED)));
  }

  /** Runs one job the queue handed over, to its end here, or until it is cancelled, held back or given back. */
  readonly run = async (taken: TakenJob): Promise<TakeOutcome> => {
    const { id } = taken;
    if (this.closing) return { status: "givenBack" };
    // Registered before anything awaits, so a cancel published from now on reaches it.
    const run: Running = {
      controller: new AbortController(),
      taken,
      reporting: false,
      progress: { epoch: 0, epochs: 0 },
      last: 0,
      pending: [],
    };
    this.running.set(id, run);
    try {
      const record = await this.store.get(id);
      if (!record || !ACTIVE_STATUSES.includes(record.status)) return { status: "done" };
      const marked = await this.store.markRunning(id, new Date().toISOString(), this.options.maxPerOwner);
      if (marked !== "running") return { status: marked === "held" ? "held" : "done", record };
      run.progress = storedProgress(record);
      run.last = record.epochsDone;
      if (record.stopRule) run.rule = new StopRuleTracker(record.stopRule);
      // A previous run's events past its checkpoint come again from this one.
      await this.bus.open(id);
      this.options.log?.info({ job: id, attempt: record.attempts + 1, from: record.epochsDone }, "job taken");
      return { status: await this.execute(record, run), record };
    } finally {
      this.running.delete(id);
    }
  };

  /**
   * Stops taking jobs; running ones are interrupted, to resume from their checkpoint (`run` gives
   * them back). @returns how many were running.
   */
  stop(): number {
    this.closing = true;
    for (const run of this.running.values()) run.controller.abort(new Error(STOPPING));
    return this.running.size;
  }

  /** Fails a job the queue gave up on (it stalled too often, or storing its end failed). */
  async failAbandoned(id: string, reason: string): Promise<void> {
    const record = await this.store.get(id);
    if (!record || !ACTIVE_STATUSES.includes(record.status)) return;
    this.options.log?.error({ reason, job: id }, "job abandoned by the queue");
    const error = workerFailed(`the queue gave up on this job: ${reason}`);
    const final = await this.store.finish(
      id,
      { status: "failed", finishedAt: new Date().toISOString(), from: "active", error },
      [],
      (ended) => finalEvent(ended, { status: "failed", ...storedProgress(ended), error }),
    );
    if (final) await this.published(id, final);
  }

  private async execute(record: JobRecord, run: Running): Promise<TakeOutcome["status"]> {
    const { id } = record;
    try {
      await this.train(record, run);
      return "done";
    } catch (err) {
      const { signal } = run.controller;
      if (signal.aborted && (signal.reason as Error | undefined)?.message === RULE_STOPPED) {
        // Ends at the epoch the rule stopped it at, whenever its thread noticed (no model).
        await this.end(record, run, { status: "cancelled" }, () => ({
          status: "cancelled",
          ...run.progress,
        }));
        return "done";
      }
      if (signal.aborted && (signal.reason as Error | undefined)?.message === CANCELLED) {
        // Ended elsewhere (stored there): drop what is left here, unsent and pending events included.
        await this.bus.discard(id).catch(() => {});
        this.options.log?.info({ job: id }, "job cancelled");
        return "done";
      }
      if (signal.aborted || this.closing) {
        // Stopping: give the job back, to resume from its checkpoint.
        this.options.log?.info({ job: id, epoch: run.progress.epoch }, "job given back");
        return "givenBack";
      }
      if (err instanceof ProblemError) await this.fail(record, run, problemOf(err));
      else {
        // The worker thread died (out of memory, say) or a bug: this job fails, nothing else.
        this.options.log?.error({ err, job: id }, "job failed");
        await this.fail(record, run, workerStopped(err));
      }
      return "done";
    }
  }

  private async train(record: JobRecord, run: Running): Promise<void> {
    const { id } = record;
    // A JSON column of its row no longer parses: the job fails with the problem naming it.
    if (record.invalid) return this.fail(record, run, record.invalid);
    const request = storedRequest(await this.store.request(id), id);
    if (run.rule && record.epochsDone > 0) run.rule.replay(await this.store.events(id, 0), record.epochsDone);
    const end = await runChunks(
      {
        ...this.chunks,
        loadCheckpoint: async () => {
          const checkpoint = await this.store.loadCheckpoint(id);
          return checkpoint && { ...checkpoint, summary: readSummary(checkpoint.summary, id) };
        },
        onResume: (done) => {
          run.last = done;
          run.held = undefined;
        },
        onProgress: (progress) => this.progress(id, run, progress),
        saveCheckpoint: async (checkpoint) => {
          if (run.controller.signal.aborted) return false;
          this.emitHeld(id, run); // a chunk's last epoch always has its event
          const events = run.pending;
          run.pending = [];
          if (!(await this.store.saveCheckpoint(id, checkpoint, run.progress, events))) {
            // No longer running: a cancel was stored first.
            run.controller.abort(new Error(CANCELLED));
            return false;
          }
          // Stored now: a late stream reads them from the store (it reads the bus first, so none falls between).
          const upTo = events.at(-1)?.seq;
          if (upTo !== undefined) await this.bus.dropPending(id, upTo).catch(() => {});
          return true;
        },
      },
      { epochs: record.epochs, request, signal: run.controller.signal },
    );
    if (end.status === "aborted") run.controller.signal.throwIfAborted();
    else if (end.status === "diverged") await this.fail(record, run, end.error, end.diverged);
    else {
      // Every succeeded job stores its model, in the transaction that ends it (`JobStore.finish`).
      const { result, summary, weights } = end;
      const model = modelOf(
        request,
        {
          weights,
          summary,
          engineVersion: result.engineVersion,
          weightsSha256: result.weightsSha256,
          seed: record.seed,
        },
        { owner: record.owner, source: "job", jobId: id },
      );
      result.modelId = model.id;
      await this.end(record, run, { status: "succeeded", result: JSON.stringify(result), model }, () =>
        succeededData(run.progress, result, summary.metrics),
      );
    }
  }

  /**
   * One epoch ended: its progress event, unless this epoch's was already taken. A long job's
   * events are thinned to one every `progressStride(epochs)` epochs (every epoch up to
   * `MAX_PROGRESS_EVENTS` epochs); the others are held back, the latest one emitted at the end
   * of its chunk (`emitHeld`), so every checkpoint and the end have their epoch's event.
   */
  private progress(id: string, run: Running, progress: JobProgress): void {
    if (run.controller.signal.aborted || progress.epoch <= run.last) return;
    run.progress = progress;
    run.last = progress.epoch;
    const stop = run.rule?.step(progress) ?? false;
    const event: JobEvent = { seq: progress.epoch, type: "progress", data: JSON.stringify(progress) };
    if (stop || progress.epoch % progressStride(progress.epochs) === 0 || progress.epoch >= progress.epochs)
      this.emit(id, run, event);
    else run.held = event;
    this.report(run);
    // Its thread is terminated; epochs it ran past this one are dropped (`signal.aborted` above).
    if (stop) run.controller.abort(new Error(RULE_STOPPED));
  }

  /** A progress event goes out on the bus, and waits in `pending` to be stored. */
  private emit(id: string, run: Running, event: JobEvent): void {
    run.held = undefined;
    run.pending.push(event);
    this.bus.emit(id, event);
  }

  /** The held-back event of the latest epoch goes out, unless the job was stopped. */
  private emitHeld(id: string, run: Running): void {
    if (run.held && !run.controller.signal.aborted) this.emit(id, run, run.held);
  }

  /** Shows the latest epoch on the queue: every epoch, unless the last report is still on its way. */
  private report(run: Running): void {
    if (run.reporting || run.progress.epoch <= run.taken.reportedBefore) return;
    run.reporting = true;
    const sent = run.progress;
    run.taken
      .report(sent)
      .catch(() => {}) // the job left the queue (cancelled) or its server is away: the checkpoint has it
      .finally(() => {
        run.reporting = false;
        if (run.progress !== sent && !run.controller.signal.aborted) this.report(run);
      });
  }

  private async fail(
    record: JobRecord,
    run: Running,
    error: Problem,
    diverged?: TrainResponse["diverged"],
  ): Promise<void> {
    const extra = { error, ...(diverged ? { diverged } : {}) };
    await this.end(record, run, { status: "failed", ...extra }, () => ({
      status: "failed",
      ...run.progress,
      ...extra,
    }));
  }

  /**
   * Stores the end of a job it ran — status, outcome, the events not yet stored and the final
   * one — in one transaction, only while the job is running; then publishes the final event.
   * When a cancel was stored first, drops what is left of the job here instead.
   */
  private async end(
    record: JobRecord,
    run: Running,
    end: {
      status: "succeeded" | "failed" | "cancelled";
      error?: Problem;
      diverged?: TrainResponse["diverged"];
      result?: string;
      model?: NewModel;
    },
    data: () => Record<string, unknown>,
  ): Promise<void> {
    this.emitHeld(record.id, run); // the last epoch run always has its event
    await this.bus.flush(record.id); // the last progress events go out before the final one
    let startedAt: string | null = null;
    const final = await this.store.finish(
      record.id,
      {
        ...end,
        finishedAt: new Date().toISOString(),
        from: "running",
        epochsDone: run.progress.epoch,
        progress: run.progress,
      },
      run.pending,
      (ended) => {
        startedAt = ended.startedAt;
        return finalEvent(ended, data());
      },
    );
    run.pending = [];
    if (!final) {
      await this.bus.discard(record.id).catch(() => {});
      return;
    }
    await this.published(record.id, final);
    this.options.onFinish?.(end.status, seconds(startedAt));
    this.options.log?.info({ job: record.id, status: end.status, epoch: run.progress.epoch }, "job finished");
  }

  /** A final event stored: the pending events go, the final one is published. */
  private async published(id: string, final: JobEvent): Promise<void> {
    await this.bus.dropPending(id).catch(() => {});
    await this.bus.publishFinal(id, final);
  }
}

/** Progress events a job emits at most, about: longer jobs emit one every `progressStride` epochs. */
export const MAX_PROGRESS_EVENTS = 10_000;

/**
 * Epochs per progress event of a job of `epochs` epochs: `ceil(epochs / MAX_PROGRESS_EVENTS)`,
 * so 1 (every epoch) up to 10,000 epochs and 100 for 1,000,000. Events still carry their epoch
 * as id, so `Last-Event-ID` resumes after any of them.
 */
export function progressStride(epochs: number): number {
  return Math.max(1, Math.ceil(epochs / MAX_PROGRESS_EVENTS));
}

/** A job's final event (id: epochs + 1, after every progress id). */
function finalEvent(ended: JobRecord, data: Record<string, unknown>): JobEvent {
  return { seq: ended.epochs + 1, type: data.status as JobEvent["type"], data: JSON.stringify(data) };
}

/**
 * A job's stored request, read back through the request schema (`readStoredRequest`).
 * @throws ProblemError (422) with its reason when it no longer parses (stored by another version
 *   of the service, or edited): the job fails with that problem rather than a crash.
 */
export function storedRequest(text: string | undefined, job: string): ResolvedTrainRequest {
  try {
    if (text === undefined) throw new Error(`job ${job} has no stored request`);
    return readStoredRequest(text, job);
  } catch (err) {
    throw new ProblemError(
      422,
      "/problems/stored-request-invalid",
      "Stored request no longer valid",
      `${err instanceof Error ? err.message : String(err)}; create the job again`,
    );
  }
}
