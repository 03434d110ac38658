import { DelayedError, Job as QueueJob, WaitingError, Worker } from "bullmq";
import { Redis } from "ioredis";
import type { JobProgress } from "../../schemas/jobs.js";
import type { Problem } from "../../schemas/problem.js";
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
import { readStoredRequest } from "../plan/stored-request.js";
import type { EnginePool } from "../pool.js";
import { ACTIVE_STATUSES, type JobEvent, type JobRecord } from "../store/job-store.js";
import { redisErrors, untilReady } from "./connections.js";
import { type DistributedNames, names } from "./names.js";
import type { PgJobStore } from "./pg-job-store.js";

export interface RunnerOptions {
  redisUrl: string;
  /** Key prefix in Redis (queue keys and pub/sub channels). */
  prefix: string;
  /** Jobs this worker process runs at once. */
  concurrency: number;
  checkpointEvery: number;
  /** See `ChunkEngine.checkpointMinMs`. */
  checkpointMinMs?: number;
  /** How long a worker's lock on a job lasts without renewal; a dead worker's job is re-queued after it. */
  lockDurationMs?: number;
  /** How often workers look for stalled jobs (those whose lock expired). */
  stalledIntervalMs?: number;
  /**
   * Jobs of one client (owner) running at once over all workers (MAX_JOBS_PER_CLIENT; the same
   * on every worker); undefined: no limit.
   */
  maxJobsPerClient?: number;
  /** How long a job held back by `maxJobsPerClient` stays delayed at most before it is tried again (ms). */
  holdMs?: number;
  log?: JobLogger;
}

interface Running {
  controller: AbortController;
  /** The job on the BullMQ queue: its progress field carries the latest epoch to the API processes. */
  queued: QueueJob;
  /** A progress update to the queue job is on its way (updates are coalesced: one at a time, the latest wins). */
  reporting: boolean;
  /** The epoch the queue job's progress showed when this worker took it (a dead worker's): reports stay above it. */
  reportedBefore: number;
  /** Progress events not yet sent to Redis (sent in batches, every EVENT_BATCH_MS). */
  outbox: JobEvent[];
  /** The timer of the next batch, if one is due. */
  flushTimer: NodeJS.Timeout | undefined;
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
  private readonly errors: ReturnType<typeof redisErrors>;

  constructor(
    private readonly store: PgJobStore,
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
    this.names = names(options.prefix);
    this.pub = new Redis(options.redisUrl, { maxRetriesPerRequest: null });
    this.sub = new Redis(options.redisUrl, { maxRetriesPerRequest: null });
    this.errors = redisErrors(options.log, "worker");
    for (const client of [this.pub, this.sub]) client.on("error", this.errors.listener);
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
    this.worker.on("error", this.errors.listener);
    // BullMQ gave up on a job (it stalled too often, or storing its end failed): the record says so too.
    this.worker.on("failed", (job, err) => {
      if (job?.id) void this.failAbandoned(job, err).catch(() => {});
    });
  }

  /** @throws Error naming REDIS_URL when Redis does not answer within CONNECT_TIMEOUT_MS. */
  async start(): Promise<void> {
    await untilReady(this.sub.subscribe(this.names.cancelChannel), {
      name: "Redis",
      variable: "REDIS_URL",
      url: this.options.redisUrl,
      lastError: () => this.errors.last,
    });
    this.errors.started = true;
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
    if (!(await this.store.markRunning(id, new Date().toISOString(), this.options.maxJobsPerClient))) {
      await this.hold(job, token, record);
      throw new DelayedError();
    }
    const run = newRun(record, job);
    this.running.set(id, run);
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
      if (this.options.maxJobsPerClient !== undefined)
        await this.releaseHeld(record.owner).catch((err: unknown) =>
          this.options.log?.error({ err, owner: record.owner }, "could not release a held job"),
        );
    }
  }

  /**
   * The client already runs `maxJobsPerClient` jobs: the job goes to BullMQ's delayed set (its
   * priority kept), noted in the client's held set so the end of one of the client's jobs
   * promotes it at once (`releaseHeld`); after `holdMs` it is tried again in any case.
   */
  private async hold(job: QueueJob, token: string | undefined, record: JobRecord): Promise<void> {
    // Released by priority, then in the order they came (seq < 1e12, priority ≤ 1000: exact in a double).
    await this.pub.zadd(this.names.heldSet(record.owner), record.priority * 1e12 + record.seq, record.id);
    await job.moveToDelayed(Date.now() + (this.options.holdMs ?? 5000), token);
    this.options.log?.info({ job: record.id, owner: record.owner }, "job held: its client runs its limit");
  }

  /** One of the client's jobs ended: its oldest held job (still delayed) goes back on the queue now. */
  private async releaseHeld(owner: string): Promise<void> {
    const key = this.names.heldSet(owner);
    for (;;) {
      const [id] = await this.pub.zpopmin(key);
      if (id === undefined) return;
      const held = await QueueJob.fromId(this.worker, id);
      if (held && (await held.isDelayed())) {
        await held.promote().catch(() => {}); // taken meanwhile (its delay ran out): it is on its way
        return;
      }
    }
  }

  private async failAbandoned(job: QueueJob, err: Error): Promise<void> {
    const id = job.id!;
    const record = await this.store.get(id);
    if (!record || !ACTIVE_STATUSES.includes(record.status)) return;
    this.options.log?.error({ err, job: id }, "job abandoned by the queue");
    const run = newRun(record, job);
    await this.fail(record, run, workerFailed(`the queue gave up on this job: ${err.message}`));
  }

  private async train(record: JobRecord, run: Running): Promise<void> {
    const { id } = record;
    const request = readStoredRequest((await this.store.request(id))!, id);
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
          // Stored now: a late stream reads them from PostgreSQL (it reads Redis first, so none falls between).
          const upTo = events.at(-1)?.seq;
          if (upTo !== undefined)
            await this.pub.zremrangebyscore(this.names.pendingEvents(id), "-inf", upTo).catch(() => 0);
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
    run.outbox.push(event);
    run.flushTimer ??= setTimeout(() => void this.flush(id, run), EVENT_BATCH_MS);
    this.report(run);
  }

  /**
   * Sends the events of the last EVENT_BATCH_MS to Redis in one transaction: kept there (until the
   * next checkpoint stores them) and published as one message, so a stream that subscribes in
   * between gets each one way or the other (DistributedJobs.subscribe). One batch instead of three
   * commands an epoch: a fast job's thousands of epochs a second cost a few Redis calls.
   */
  private async flush(id: string, run: Running): Promise<void> {
    clearTimeout(run.flushTimer);
    run.flushTimer = undefined;
    const events = run.outbox;
    run.outbox = [];
    if (events.length === 0 || run.controller.signal.aborted) return;
    const pending = this.names.pendingEvents(id);
    const members = events.flatMap((e) => [e.seq, JSON.stringify(e)]);
    await this.pub
      .multi()
      .zadd(pending, ...members)
      .pexpire(pending, PENDING_TTL_MS)
      .publish(this.names.eventChannel(id), JSON.stringify(events))
      .exec()
      .catch(() => {});
  }

  /**
   * Puts the latest progress on the queue job (BullMQ's `updateProgress`), where any API process
   * reads it for GET /jobs/{id}: every epoch, unless the previous update is still on its way —
   * then the one after it carries the latest (so a fast job costs at most one Redis call at a time).
   */
  private report(run: Running): void {
    if (run.reporting || run.progress.epoch <= run.reportedBefore) return;
    run.reporting = true;
    const sent = run.progress;
    run.queued
      .updateProgress(sent)
      .catch(() => {}) // the job left the queue (cancelled) or Redis is away: the checkpoint has it
      .finally(() => {
        run.reporting = false;
        if (run.progress !== sent && !run.controller.signal.aborted) this.report(run);
      });
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
    await this.flush(record.id, run); // the last progress events go out before the final one
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
    await this.pub.del(this.names.pendingEvents(record.id)).catch(() => 0);
    await this.pub.publish(this.names.eventChannel(record.id), JSON.stringify(final));
    this.options.log?.info({ job: record.id, status: end.status }, "job finished");
  }
}

/** How long a job's unstored events stay in Redis without a new one (a dead worker's are repeated by the next). */
const PENDING_TTL_MS = 24 * 3600 * 1000;

/** How long progress events wait to be sent to Redis together (ms). */
const EVENT_BATCH_MS = 20;

/** The epoch in a queue job's progress (set by `report`), or 0. */
function epochOf(progress: unknown): number {
  return typeof progress === "object" &&
    progress !== null &&
    "epoch" in progress &&
    typeof progress.epoch === "number"
    ? progress.epoch
    : 0;
}

/** A job's run state as its record left it. */
function newRun(record: JobRecord, queued: QueueJob): Running {
  return {
    controller: new AbortController(),
    queued,
    reporting: false,
    reportedBefore: epochOf(queued.progress),
    outbox: [],
    flushTimer: undefined,
    progress: storedProgress(record),
    last: record.epochsDone,
    pending: [],
  };
}
