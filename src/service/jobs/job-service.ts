import { createHash, randomBytes } from "node:crypto";
import { DEFAULT_PRIORITY, type Job, type JobList, type JobProgress } from "../../schemas/jobs.js";
import type { Problem } from "../../schemas/problem.js";
import type { TrainRequest } from "../../schemas/requests.js";
import type { TrainResponse } from "../../schemas/responses.js";
import type { EngineService } from "../engine-service.js";
import type { JsonText } from "../engine-task.js";
import { ConflictError, fieldError, InvalidRequestError, NotFoundError, ProblemError } from "../errors.js";
import { readStoredRequest } from "../plan/stored-request.js";
import type { EnginePool } from "../pool.js";
import { unknownDataset } from "../store/dataset-store.js";
import {
  ACTIVE_STATUSES,
  type JobEvent,
  type JobRecord,
  type JobStatus,
  type JobStore,
  type NewJob,
} from "../store/job-store.js";
import {
  type ChunkEngine,
  problemOf,
  runChunks,
  storedProgress,
  succeededData,
  workerStopped,
} from "./chunk-loop.js";
import { JobEventHub, type JobListener } from "./event-hub.js";

export interface JobServiceOptions {
  /** Jobs running at once; the rest wait by priority, then in the order they came. */
  maxConcurrent: number;
  /** Jobs of one owner (client) running at once; undefined: no limit. Their further jobs wait; others' go first. */
  maxPerOwner?: number;
  /** Epochs between checkpoints. */
  checkpointEvery: number;
  /** See `ChunkEngine.checkpointMinMs`. */
  checkpointMinMs?: number;
  log?: JobLogger;
  /** Called when a job ends, with the seconds since a worker first took it up (the metrics). */
  onFinish?: (status: "succeeded" | "failed" | "cancelled", seconds: number | undefined) => void;
  /**
   * Whether the owner's stored data set exists, synchronously (SQLite): asked again right before a
   * job naming one is inserted, since it may have been deleted while the body was being checked.
   */
  datasetExists?: (id: string, owner: string) => boolean;
}

/** Who creates a job and how (POST /jobs: the API key's owner, headers and query). */
export interface NewJobOptions {
  /** The creating client (see `ownerOf`); only they see the job. */
  owner: string;
  /** Makes a retried create answer the first job (see `replayable`). */
  idempotencyKey?: string;
  /** 1 (runs first) … MAX_PRIORITY; default DEFAULT_PRIORITY (schemas/jobs.ts). */
  priority?: number;
}

/** The part of pino the service uses. */
export interface JobLogger {
  info(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

/** A job the service is running: its worker task's off switch and its latest epoch. */
interface Running {
  controller: AbortController;
  progress: JobProgress;
  owner: string;
}

/** A job waiting for a slot; the queue is sorted by `rank`, then `seq`. */
interface Waiting {
  id: string;
  owner: string;
  /** The job's priority; 0 for a job that was running before a restart (it goes first). */
  rank: number;
  seq: number;
}

const FINAL_TYPES = new Set(["succeeded", "failed", "cancelled"]);

/**
 * Asynchronous training jobs: created from a POST /train body, kept in SQLite (`JobStore`), run in
 * the engine's worker pool at most `maxConcurrent` at a time, in chunks of `checkpointEvery`
 * epochs. Each chunk continues the previous one exactly (weights plus optimiser state, see
 * `TrainOptions.optimizerState`), and after each the job's checkpoint and the epochs' events are
 * stored in one transaction. After a restart `start()` takes unfinished jobs up again from their
 * checkpoints; with the seed, a job ends with the weights an uninterrupted run gives, bit for bit.
 *
 * Events: one `progress` per epoch (id = the epoch, 1-based) while it runs, then one final
 * `succeeded` / `failed` / `cancelled` (id = epochs + 1, so it sorts after every epoch whenever
 * the job ends).
 *
 * State machine: queued → running → succeeded | failed | cancelled, queued → cancelled; a restart
 * leaves queued and running as they are (running → queued when it must wait for a slot).
 */
export class JobService {
  private readonly queue: Waiting[] = [];
  private readonly running = new Map<string, Running>();
  private readonly tasks = new Set<Promise<void>>();
  private readonly hub = new JobEventHub();
  private readonly chunks: ChunkEngine;
  private started = false;
  private closing = false;

  constructor(
    private readonly store: JobStore,
    private readonly engine: EngineService,
    pool: EnginePool,
    private readonly options: JobServiceOptions,
  ) {
    this.chunks = {
      engine,
      pool,
      checkpointEvery: options.checkpointEvery,
      checkpointMinMs: options.checkpointMinMs,
    };
  }

  /**
   * Creates a job (queued) for `owner` after checking the body exactly as POST /train does. With
   * an idempotency key the owner already used for the same body, answers that job instead
   * (`replayed`). Every method taking an `owner` sees only that owner's jobs (404 for others').
   * @throws the 400/404/422 errors of POST /train (404 at `dataset.id` also when the data set was
   *   deleted while the body was being checked); a 422 when the key was used for another body.
   */
  async create(req: TrainRequest, options: NewJobOptions): Promise<{ job: Job; replayed: boolean }> {
    const { idempotencyKey, owner } = options;
    const hash = idempotencyKey === undefined ? null : requestHash(req);
    const replay = () =>
      idempotencyKey === undefined
        ? undefined
        : replayable(this.store.byIdempotencyKey(idempotencyKey, owner), hash, options.priority);
    const first = replay();
    if (first) return { job: this.view(first), replayed: true };
    const { job } = await newJob(this.engine, req, options, hash);
    // From here to the insert nothing awaits, so these checks hold for it: a concurrent create
    // with the same key may have stored its job (answer that one rather than fail on the unique
    // key), and the data set may have been deleted while the body was being checked.
    const again = replay();
    if (again) return { job: this.view(again), replayed: true };
    if (job.datasetId !== null && this.options.datasetExists?.(job.datasetId, owner) === false)
      throw unknownDataset(job.datasetId);
    const record = this.store.insert(job);
    this.enqueue(record);
    this.pump();
    return { job: this.view(record), replayed: false };
  }

  /** @throws NotFoundError */
  get(id: string, owner: string): Job {
    return this.view(this.record(id, owner));
  }

  /** The job as JSON text, with its result when it succeeded (stored as text, not re-parsed). */
  getJson(id: string, owner: string): JsonText<Job> {
    const record = this.record(id, owner);
    const text = JSON.stringify(this.view(record));
    const result = record.status === "succeeded" ? this.store.result(id) : undefined;
    return result === undefined ? text : `${text.slice(0, -1)},"result":${result}}`;
  }

  /**
   * Newest first, one page.
   * @throws InvalidRequestError (400) when `after` names no job.
   */
  list(query: { limit: number; after?: string; status?: JobStatus }, owner: string): JobList {
    const page = this.store.list(query.limit, { after: query.after, status: query.status, owner });
    return jobList(query, page, (r) => this.view(r));
  }

  /**
   * Cancels a queued or running job: it is marked cancelled at once (stored), and a running
   * job's worker thread is terminated.
   * @throws NotFoundError; ConflictError (409) when the job has already finished.
   */
  cancel(id: string, owner: string): Job {
    const record = this.record(id, owner);
    checkCancellable(record);
    const run = this.running.get(id);
    const progress = run?.progress ?? storedProgress(record);
    this.end(record, { status: "cancelled", progress }, { status: "cancelled", ...progress });
    const at = this.queue.findIndex((w) => w.id === id);
    if (at >= 0) this.queue.splice(at, 1);
    run?.controller.abort(new Error("the job was cancelled"));
    return this.get(id, owner);
  }

  /**
   * The job's events after `afterSeq` (stored, then those not yet stored), and the live ones to
   * come through `listener` until the final event — all taken synchronously, so none is missed
   * or repeated. `finished`: the backlog ends with the final event; nothing more will come.
   * @throws NotFoundError
   */
  subscribe(
    id: string,
    afterSeq: number,
    listener: JobListener,
    owner: string,
  ): { backlog: JobEvent[]; finished: boolean; unsubscribe: () => void } {
    const record = this.record(id, owner);
    const stored = this.store.events(id, afterSeq);
    const seen = Math.max(afterSeq, stored.at(-1)?.seq ?? 0);
    const backlog = [...stored, ...this.hub.peekPending(id, seen)];
    const finished = !ACTIVE_STATUSES.includes(record.status);
    if (finished) return { backlog, finished, unsubscribe: () => {} };
    return { backlog, finished, unsubscribe: this.hub.listen(id, listener) };
  }

  /** The id of a job's final event (it follows every progress id). */
  finalSeq(id: string, owner: string): number {
    return this.record(id, owner).epochs + 1;
  }

  /** Takes up the jobs left queued or running by the last process, running ones first. */
  start(): void {
    if (this.started) return;
    this.started = true;
    const unfinished = this.store.unfinished();
    unfinished.forEach((r, i) => {
      if (r.status === "running" && i >= this.options.maxConcurrent) this.store.markQueued(r.id);
      this.enqueue(r, r.status === "running" ? 0 : r.priority);
    });
    if (unfinished.length > 0)
      this.options.log?.info({ jobs: unfinished.map((r) => r.id) }, "resuming unfinished jobs");
    this.pump();
  }

  /**
   * Stops without finishing anything: running jobs' worker threads are terminated and the jobs
   * stay running (queued ones queued) in the database, to continue from their last checkpoint
   * when the service starts again. Open event streams end without a final event.
   */
  async stop(): Promise<void> {
    this.closing = true;
    for (const run of this.running.values()) run.controller.abort(new Error("the service is stopping"));
    await Promise.allSettled([...this.tasks]);
    this.hub.closeAll();
  }

  /** For the metrics and /ready: jobs waiting, running, and open event streams. */
  stats(): { queued: number; running: number; subscribers: number } {
    return { queued: this.queue.length, running: this.running.size, subscribers: this.hub.subscribers };
  }

  countByStatus(): Record<JobStatus, number> {
    return this.store.countByStatus();
  }

  deleteFinishedBefore(cutoff: Date): number {
    return this.store.deleteFinishedBefore(cutoff.toISOString());
  }

  private record(id: string, owner: string): JobRecord {
    const record = this.store.get(id, owner);
    if (!record) throw new NotFoundError(`there is no job ${id}`);
    return record;
  }

  private view(record: JobRecord): Job {
    return jobView(record, this.running.get(record.id)?.progress);
  }

  /** Puts a job in the queue at its place: by `rank`, then in the order the jobs came. */
  private enqueue(record: JobRecord, rank = record.priority): void {
    const entry: Waiting = { id: record.id, owner: record.owner, rank, seq: record.seq };
    const at = this.queue.findIndex((w) => w.rank > rank || (w.rank === rank && w.seq > record.seq));
    this.queue.splice(at < 0 ? this.queue.length : at, 0, entry);
  }

  /** The first waiting job whose owner runs fewer than `maxPerOwner` jobs (taken off the queue). */
  private next(): Waiting | undefined {
    const limit = this.options.maxPerOwner;
    const at =
      limit === undefined
        ? 0
        : this.queue.findIndex((w) => {
            let n = 0;
            for (const run of this.running.values()) if (run.owner === w.owner) n++;
            return n < limit;
          });
    return at < 0 ? undefined : this.queue.splice(at, 1)[0];
  }

  private pump(): void {
    if (!this.started || this.closing) return;
    while (this.running.size < this.options.maxConcurrent && this.queue.length > 0) {
      const waiting = this.next();
      if (!waiting) break; // every waiting job's owner runs its limit
      const { id } = waiting;
      const task = this.execute(id)
        .catch((err: unknown) => {
          // Storing the failure failed too (the disk is full, say): the job stays unfinished
          // in the database and is taken up again at the next start.
          this.options.log?.error({ err, job: id }, "job could not be finished");
        })
        .finally(() => {
          this.tasks.delete(task);
          this.pump();
        });
      this.tasks.add(task);
    }
  }

  private async execute(id: string): Promise<void> {
    const record = this.store.get(id);
    if (!record || !ACTIVE_STATUSES.includes(record.status)) return;
    const run: Running = {
      controller: new AbortController(),
      progress: storedProgress(record),
      owner: record.owner,
    };
    this.running.set(id, run);
    this.hub.resetSeq(id, record.epochsDone);
    this.store.markRunning(id, new Date().toISOString());
    try {
      await this.train(record, run);
    } catch (err) {
      if (run.controller.signal.aborted) return; // cancelled or stopping: already handled
      if (err instanceof ProblemError) this.fail(record, run, problemOf(err));
      else {
        // The worker thread died (out of memory, say) or a bug: this job fails, nothing else.
        this.options.log?.error({ err, job: id }, "job failed");
        this.fail(record, run, workerStopped(err));
      }
    } finally {
      this.running.delete(id);
    }
  }

  private async train(record: JobRecord, run: Running): Promise<void> {
    const { id } = record;
    const request = readStoredRequest(this.store.request(id)!, id);
    const end = await runChunks(
      {
        ...this.chunks,
        loadCheckpoint: () => this.store.loadCheckpoint(id),
        onResume: (_done, fromCheckpoint) => {
          if (!fromCheckpoint) this.hub.resetSeq(id, 0);
        },
        onProgress: (progress) => this.progress(id, run, progress),
        saveCheckpoint: (checkpoint) =>
          this.store.saveCheckpoint(id, checkpoint, run.progress, this.hub.takePending(id)),
      },
      { epochs: record.epochs, request, signal: run.controller.signal },
    );
    if (end.status === "diverged") this.fail(record, run, end.error, end.diverged);
    else if (end.status === "succeeded") this.succeed(record, run, end.result);
  }

  /** One epoch ended: a progress event, unless this epoch's was already emitted. */
  private progress(id: string, run: Running, progress: JobProgress): void {
    if (run.controller.signal.aborted || progress.epoch <= this.hub.lastSeq(id)) return;
    run.progress = progress;
    this.hub.emit(id, { seq: progress.epoch, type: "progress", data: JSON.stringify(progress) });
  }

  private succeed(record: JobRecord, run: Running, result: TrainResponse): void {
    this.end(
      record,
      { status: "succeeded", progress: run.progress, result: JSON.stringify(result) },
      succeededData(run.progress, result),
    );
  }

  private fail(record: JobRecord, run: Running, error: Problem, diverged?: TrainResponse["diverged"]): void {
    this.end(
      record,
      { status: "failed", progress: run.progress, error, ...(diverged ? { diverged } : {}) },
      { status: "failed", ...run.progress, error, ...(diverged ? { diverged } : {}) },
    );
  }

  /**
   * Stores the end of a job — status, outcome, the events not yet stored and the final one — in
   * one transaction, then publishes the final event. Does nothing while stopping (the job stays
   * unfinished) or when the job had already ended (a cancel won the race).
   */
  private end(
    record: JobRecord,
    end: {
      status: "succeeded" | "failed" | "cancelled";
      progress: JobProgress;
      error?: Problem;
      diverged?: TrainResponse["diverged"];
      result?: string;
    },
    data: Record<string, unknown>,
  ): void {
    if (this.closing) return;
    const final: JobEvent = { seq: record.epochs + 1, type: end.status, data: JSON.stringify(data) };
    const finishedAt = new Date();
    const stored = this.store.finish(
      record.id,
      {
        status: end.status,
        finishedAt: finishedAt.toISOString(),
        epochsDone: end.progress.epoch,
        progress: end.progress,
        ...(end.error ? { error: end.error } : {}),
        ...(end.diverged ? { diverged: end.diverged } : {}),
        ...(end.result !== undefined ? { result: end.result } : {}),
      },
      [...this.hub.takePending(record.id), final],
    );
    if (!stored) return;
    this.hub.finish(record.id, final);
    const startedAt = this.store.get(record.id)?.startedAt;
    this.options.onFinish?.(
      end.status,
      startedAt ? (finishedAt.getTime() - Date.parse(startedAt)) / 1000 : undefined,
    );
    this.options.log?.info({ job: record.id, status: end.status, epoch: end.progress.epoch }, "job finished");
  }
}

/** An event type that ends a stream. */
export function isFinal(event: JobEvent): boolean {
  return FINAL_TYPES.has(event.type);
}

/**
 * A new job's record for `req`, checked as POST /train checks it (async: a stored data set is
 * looked up). The seed is fixed now, so a job resumed after a restart (or on another worker)
 * repeats the same run.
 * @throws (rejects with) the 400/404/422 errors of POST /train.
 */
export async function newJob(
  engine: EngineService,
  req: TrainRequest,
  { owner, idempotencyKey, priority = DEFAULT_PRIORITY }: NewJobOptions,
  hash: string | null,
): Promise<{ seeded: TrainRequest; job: NewJob }> {
  const { request: seeded, epochs } = await engine.prepareTrain(req);
  return {
    seeded,
    job: {
      id: `job_${randomBytes(12).toString("hex")}`,
      owner,
      request: JSON.stringify(seeded),
      seed: seeded.seed!,
      datasetId: "id" in req.dataset ? req.dataset.id : null,
      priority,
      idempotencyKey: idempotencyKey ?? null,
      requestHash: hash,
      epochs,
      createdAt: new Date().toISOString(),
    },
  };
}

/** The hash of a job's body an idempotency key is kept with (equal bodies hash alike). */
export function requestHash(req: TrainRequest): string {
  return createHash("sha256").update(canonicalJson(req)).digest("hex");
}

/**
 * The job an idempotency key already names, to answer again, when it was created with the same
 * body (`hash`) and priority; undefined when the key names no job.
 * @throws ProblemError (422) when the key was used for another body or another priority.
 */
export function replayable(
  existing: JobRecord | undefined,
  hash: string | null,
  priority: number = DEFAULT_PRIORITY,
): JobRecord | undefined {
  if (!existing) return undefined;
  const other =
    existing.requestHash !== hash
      ? { what: "body", path: ["headers", "idempotency-key"] }
      : existing.priority !== priority
        ? { what: `priority (${existing.priority})`, path: ["querystring", "priority"] }
        : undefined;
  if (other)
    throw new ProblemError(
      422,
      "/problems/idempotency-key-reused",
      "Idempotency key reused",
      `the Idempotency-Key was used for job ${existing.id} with a different ${other.what}; use a new key for a new job`,
      [
        fieldError(
          other.path,
          `the Idempotency-Key was used for job ${existing.id} with another ${other.what}`,
        ),
      ],
    );
  return existing;
}

/** JSON with object keys sorted at every level, so equal bodies hash alike whatever their key order. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v !== null && typeof v === "object" && !Array.isArray(v)
      ? Object.fromEntries(
          Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
        )
      : v,
  );
}

/**
 * A job as the API shows it (both modes). `progress`: the live one when this process runs it,
 * else the stored one.
 */
export function jobView(record: JobRecord, progress: Job["progress"] = storedProgress(record)): Job {
  const self = `/jobs/${record.id}`;
  return {
    id: record.id,
    status: record.status,
    createdAt: record.createdAt,
    startedAt: record.startedAt,
    finishedAt: record.finishedAt,
    seed: record.seed,
    priority: record.priority,
    progress,
    checkpointEpoch: ACTIVE_STATUSES.includes(record.status) ? record.epochsDone : null,
    attempts: record.attempts,
    ...(record.datasetId ? { datasetId: record.datasetId } : {}),
    ...(record.error ? { error: record.error as Problem } : {}),
    ...(record.diverged ? { diverged: record.diverged as Job["diverged"] } : {}),
    links: { self, events: `${self}/events`, cancel: `${self}/cancel` },
  };
}

/**
 * One page of `GET /jobs` with the link to the next (both modes).
 * @param page the store's page, or null when `after` names no job
 * @throws InvalidRequestError (400) when `after` names no job.
 */
export function jobList(
  query: { limit: number; after?: string; status?: JobStatus },
  page: { items: JobRecord[]; hasMore: boolean } | null | undefined,
  view: (record: JobRecord) => Job,
): JobList {
  if (!page)
    throw new InvalidRequestError(`no job ${query.after} to list after`, [
      { path: "querystring.after", message: "not the id of a job" },
    ]);
  const last = page.items.at(-1);
  const params = new URLSearchParams({ limit: String(query.limit) });
  if (query.status) params.set("status", query.status);
  if (last) params.set("after", last.id);
  return { jobs: page.items.map(view), hasMore: page.hasMore, next: page.hasMore ? `/jobs?${params}` : null };
}

/** @throws ConflictError (409) when the job has already finished. */
export function checkCancellable(record: JobRecord): void {
  if (!ACTIVE_STATUSES.includes(record.status))
    throw new ConflictError(
      `job ${record.id} has already ${record.status === "cancelled" ? "been cancelled" : record.status}`,
    );
}
