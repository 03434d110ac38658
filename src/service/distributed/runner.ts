import { type Job as QueueJob, WaitingError, Worker } from "bullmq";
import { Redis } from "ioredis";
import type { JobProgress } from "../../schemas/jobs.js";
import type { Problem } from "../../schemas/problem.js";
import type { TrainRequest } from "../../schemas/requests.js";
import type { TrainResponse } from "../../schemas/responses.js";
import type { EngineService } from "../engine-service.js";
import { ProblemError } from "../errors.js";
import {
  type ChunkEngine,
  problemOf,
  runChunks,
  storedProgress,
  succeededData,
  workerFailed,
  workerStopped,
} from "../jobs/chunk-loop.js";
import type { JobLogger } from "../jobs/job-service.js";
import type { EnginePool } from "../pool.js";
import { ACTIVE_STATUSES, type JobEvent, type JobRecord } from "../store/job-store.js";
import { type DistributedNames, names } from "./names.js";
import type { PgJobStore } from "./pg-job-store.js";

export interface RunnerOptions {
  redisUrl: string;
  /** Key prefix in Redis (queue keys and pub/sub channels). */
  prefix: string;
  /** Jobs this worker process runs at once. */
  concurrency: number;
  checkpointEvery: number;
  /** How long a worker's lock on a job lasts without renewal; a dead worker's job is re-queued after it. */
  lockDurationMs?: number;
  /** How often workers look for stalled jobs (those whose lock expired). */
  stalledIntervalMs?: number;
  log?: JobLogger;
}

interface Running {
  controller: AbortController;
  progress: JobProgress;
  /** Highest event id emitted. */
  last: number;
  /** Progress events emitted and not yet stored. */
  pending: JobEvent[];
}

/**
 * The worker side of the distributed mode: takes jobs from the BullMQ queue, runs them in chunks
 * of `checkpointEvery` epochs on this process's engine pool (exactly as `JobService` does),
 * stores checkpoints, events and the outcome in PostgreSQL, and publishes each event on the
 * job's Redis channel for the API processes' SSE streams. A cancel message on the cancel channel
 * aborts the job if it runs here. When a worker dies, BullMQ's stalled-job check puts its job
 * back on the queue after `lockDurationMs`; the next worker resumes it from its last checkpoint.
 */
export class DistributedRunner {
  private readonly worker: Worker;
  private readonly pub: Redis;
  private readonly sub: Redis;
  private readonly running = new Map<string, Running>();
  private readonly names: DistributedNames;
  private readonly chunks: ChunkEngine;
  private closing = false;

  constructor(
    private readonly store: PgJobStore,
    engine: EngineService,
    pool: EnginePool,
    private readonly options: RunnerOptions,
  ) {
    this.chunks = { engine, pool, checkpointEvery: options.checkpointEvery };
    this.names = names(options.prefix);
    this.pub = new Redis(options.redisUrl, { maxRetriesPerRequest: null });
    this.sub = new Redis(options.redisUrl, { maxRetriesPerRequest: null });
    this.sub.on("message", (_channel, id: string) => {
      this.running.get(id)?.controller.abort(new Error("the job was cancelled"));
    });
    this.worker = new Worker(this.names.queue, (job, token) => this.process(job, token), {
      connection: { url: options.redisUrl, maxRetriesPerRequest: null },
      prefix: options.prefix,
      concurrency: options.concurrency,
      autorun: false,
      ...(options.lockDurationMs ? { lockDuration: options.lockDurationMs } : {}),
      ...(options.stalledIntervalMs ? { stalledInterval: options.stalledIntervalMs } : {}),
      maxStalledCount: 5,
    });
    this.worker.on("error", (err) => this.options.log?.error({ err }, "queue worker error"));
    // BullMQ gave up on a job (it stalled too often, or storing its end failed): the record says so too.
    this.worker.on("failed", (job, err) => {
      if (job?.id) void this.failAbandoned(job.id, err).catch(() => {});
    });
  }

  async start(): Promise<void> {
    await this.sub.subscribe(this.names.cancelChannel);
    void this.worker.run();
    await this.worker.waitUntilReady();
  }

  /** Stops taking jobs; running ones are interrupted and left to resume elsewhere from their checkpoint. */
  async stop(): Promise<void> {
    this.closing = true;
    // Take no more jobs first, so a job given back is not taken again here.
    await this.worker.pause(true);
    for (const run of this.running.values()) run.controller.abort(new Error("the worker is stopping"));
    await this.worker.close();
    this.sub.disconnect();
    this.pub.disconnect();
  }

  private async process(job: QueueJob, token: string | undefined): Promise<void> {
    const id = job.id!;
    if (this.closing) {
      await job.moveToWait(token);
      throw new WaitingError();
    }
    const record = await this.store.get(id);
    if (!record || !ACTIVE_STATUSES.includes(record.status)) return;
    const run = newRun(record);
    this.running.set(id, run);
    await this.store.markRunning(id, new Date().toISOString());
    this.options.log?.info({ job: id, attempt: record.attempts + 1, from: record.epochsDone }, "job taken");
    try {
      await this.train(record, run);
    } catch (err) {
      if (run.controller.signal.aborted) {
        // Stopping: give the job back so another worker resumes it now rather than after the lock expires.
        if (this.closing) {
          this.options.log?.info({ job: id, epoch: run.progress.epoch }, "job given back");
          await job.moveToWait(token);
          throw new WaitingError();
        }
        this.options.log?.info({ job: id }, "job cancelled");
        return; // the API stored the cancel
      }
      if (err instanceof ProblemError) await this.fail(record, run, problemOf(err));
      else {
        this.options.log?.error({ err, job: id }, "job failed");
        await this.fail(record, run, workerStopped(err));
      }
    } finally {
      this.running.delete(id);
    }
  }

  private async failAbandoned(id: string, err: Error): Promise<void> {
    const record = await this.store.get(id);
    if (!record || !ACTIVE_STATUSES.includes(record.status)) return;
    this.options.log?.error({ err, job: id }, "job abandoned by the queue");
    const run = newRun(record);
    await this.fail(record, run, workerFailed(`the queue gave up on this job: ${err.message}`));
  }

  private async train(record: JobRecord, run: Running): Promise<void> {
    const { id } = record;
    const request = JSON.parse((await this.store.request(id))!) as TrainRequest;
    const end = await runChunks(
      {
        ...this.chunks,
        loadCheckpoint: () => this.store.loadCheckpoint(id),
        onResume: (done) => {
          run.last = done;
        },
        onProgress: (progress) => this.progress(id, run, progress),
        saveCheckpoint: async (checkpoint) => {
          const events = run.pending;
          run.pending = [];
          await this.store.saveCheckpoint(id, checkpoint, run.progress, events);
        },
      },
      { epochs: record.epochs, request, signal: run.controller.signal },
    );
    if (end.status === "aborted") run.controller.signal.throwIfAborted();
    else if (end.status === "diverged") await this.fail(record, run, end.error, end.diverged);
    else await this.succeed(record, run, end.result);
  }

  private progress(id: string, run: Running, progress: JobProgress): void {
    if (run.controller.signal.aborted || progress.epoch <= run.last) return;
    run.progress = progress;
    run.last = progress.epoch;
    const event: JobEvent = { seq: progress.epoch, type: "progress", data: JSON.stringify(progress) };
    run.pending.push(event);
    void this.pub.publish(this.names.eventChannel(id), JSON.stringify(event)).catch(() => {});
  }

  private async succeed(record: JobRecord, run: Running, result: TrainResponse): Promise<void> {
    await this.end(
      record,
      run,
      { status: "succeeded", result: JSON.stringify(result) },
      succeededData(run.progress, result),
    );
  }

  private async fail(
    record: JobRecord,
    run: Running,
    error: Problem,
    diverged?: TrainResponse["diverged"],
  ): Promise<void> {
    await this.end(
      record,
      run,
      { status: "failed", error, ...(diverged ? { diverged } : {}) },
      { status: "failed", ...run.progress, error, ...(diverged ? { diverged } : {}) },
    );
  }

  private async end(
    record: JobRecord,
    run: Running,
    end: {
      status: "succeeded" | "failed";
      error?: Problem;
      diverged?: TrainResponse["diverged"];
      result?: string;
    },
    data: Record<string, unknown>,
  ): Promise<void> {
    const final: JobEvent = { seq: record.epochs + 1, type: end.status, data: JSON.stringify(data) };
    const stored = await this.store.finish(
      record.id,
      {
        status: end.status,
        finishedAt: new Date().toISOString(),
        epochsDone: run.progress.epoch,
        progress: run.progress,
        ...(end.error ? { error: end.error } : {}),
        ...(end.diverged ? { diverged: end.diverged } : {}),
        ...(end.result !== undefined ? { result: end.result } : {}),
      },
      [...run.pending, final],
    );
    run.pending = [];
    if (!stored) return;
    await this.pub.publish(this.names.eventChannel(record.id), JSON.stringify(final));
    this.options.log?.info({ job: record.id, status: end.status }, "job finished");
  }
}

/** A job's run state as its record left it. */
function newRun(record: JobRecord): Running {
  return {
    controller: new AbortController(),
    progress: storedProgress(record),
    last: record.epochsDone,
    pending: [],
  };
}
