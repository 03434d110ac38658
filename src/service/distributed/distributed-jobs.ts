import { Queue } from "bullmq";
import { Redis } from "ioredis";
import type { Job, JobList, JobProgress } from "../../schemas/jobs.js";
import type { TrainRequest } from "../../schemas/requests.js";
import type { EngineService } from "../engine-service.js";
import type { JsonText } from "../engine-task.js";
import { NotFoundError } from "../errors.js";
import { storedProgress } from "../jobs/chunk-loop.js";
import type { JobListener } from "../jobs/event-hub.js";
import {
  checkCancellable,
  isFinal,
  type JobLogger,
  jobList,
  jobView,
  type NewJobOptions,
  newJob,
  replayable,
  requestHash,
} from "../jobs/job-service.js";
import { ACTIVE_STATUSES, type JobEvent, type JobRecord, type JobStatus } from "../store/job-store.js";
import { redisErrors, untilReady } from "./connections.js";
import { type DistributedNames, names } from "./names.js";
import type { PgJobStore } from "./pg-job-store.js";

export interface DistributedJobsOptions {
  redisUrl: string;
  prefix: string;
  log?: JobLogger;
}

/**
 * The job API of the distributed mode, with the same methods and answers as `JobService`: jobs
 * are stored in PostgreSQL and put on the BullMQ queue, where worker processes (`npm run worker`,
 * `DistributedRunner`) on any host take them. Nothing runs here. Events come from PostgreSQL (the
 * backlog) and the job's Redis channel (live), so GET /jobs/{id}/events works on every API
 * process; a cancel is stored, then published to the workers.
 */
export class DistributedJobs {
  private readonly queue: Queue;
  private readonly pub: Redis;
  private readonly sub: Redis;
  private readonly listeners = new Map<string, Set<JobListener>>();
  private readonly names: DistributedNames;
  private readonly redisUrl: string;
  private readonly errors: ReturnType<typeof redisErrors>;

  constructor(
    private readonly store: PgJobStore,
    private readonly engine: EngineService,
    options: DistributedJobsOptions,
  ) {
    this.names = names(options.prefix);
    this.queue = new Queue(this.names.queue, {
      connection: { url: options.redisUrl, maxRetriesPerRequest: null },
      prefix: options.prefix,
    });
    this.pub = new Redis(options.redisUrl, { maxRetriesPerRequest: null });
    this.sub = new Redis(options.redisUrl, { maxRetriesPerRequest: null });
    this.redisUrl = options.redisUrl;
    this.errors = redisErrors(options.log, "job queue");
    for (const client of [this.queue, this.pub, this.sub]) client.on("error", this.errors.listener);
    this.sub.on("message", (channel: string, message: string) => {
      const id = channel.slice(channel.lastIndexOf(":") + 1);
      // A worker publishes progress events in batches (an array), the final event alone.
      const parsed = JSON.parse(message) as JobEvent | JobEvent[];
      for (const event of Array.isArray(parsed) ? parsed : [parsed])
        for (const l of [...(this.listeners.get(id) ?? [])]) l(event);
    });
  }

  /**
   * As `JobService.create`. The job is stored before it is queued; a data set it names is checked
   * again in the insert's transaction (`PgJobStore.insert`), so one deleted meanwhile gives 404 at
   * `dataset.id`, not a job that cannot run.
   * @throws the 400/404/422 errors of POST /train; a 422 when the key was used for another body.
   */
  async create(req: TrainRequest, options: NewJobOptions): Promise<{ job: Job; replayed: boolean }> {
    const { idempotencyKey, owner } = options;
    const hash = idempotencyKey === undefined ? null : requestHash(req);
    if (idempotencyKey !== undefined) {
      const existing = replayable(
        await this.store.byIdempotencyKey(idempotencyKey, owner),
        hash,
        options.priority,
      );
      if (existing) return { job: jobView(existing), replayed: true };
    }
    const { job } = await newJob(this.engine, req, options, hash);
    let record: JobRecord;
    try {
      record = await this.store.insert(job);
    } catch (err) {
      // A concurrent create with the same key (on this or another API process) stored its job
      // first: answer that one, as a retry after it would get, or the 422 for another body.
      if (idempotencyKey === undefined || !isUniqueViolation(err)) throw err;
      const existing = replayable(
        await this.store.byIdempotencyKey(idempotencyKey, owner),
        hash,
        options.priority,
      );
      if (!existing) throw err;
      return { job: jobView(existing), replayed: true };
    }
    // BullMQ's priorities run lower first, equal ones in the order they came, as the API's.
    await this.queue.add(
      "train",
      { owner },
      { jobId: record.id, priority: record.priority, removeOnComplete: true, removeOnFail: 1000 },
    );
    return { job: jobView(record), replayed: false };
  }

  async get(id: string, owner: string): Promise<Job> {
    return this.view(await this.record(id, owner));
  }

  async getJson(id: string, owner: string): Promise<JsonText<Job>> {
    const record = await this.record(id, owner);
    const text = JSON.stringify(await this.view(record));
    const result = record.status === "succeeded" ? await this.store.result(id) : undefined;
    return result === undefined ? text : `${text.slice(0, -1)},"result":${result}}`;
  }

  async list(query: { limit: number; after?: string; status?: JobStatus }, owner: string): Promise<JobList> {
    const page = await this.store.list(query.limit, { after: query.after, status: query.status, owner });
    const live = new Map<string, JobProgress>();
    await Promise.all(
      (page?.items ?? []).map(async (r) => {
        const progress = await this.liveProgress(r);
        if (progress) live.set(r.id, progress);
      }),
    );
    return jobList(query, page, (r) => jobView(r, live.get(r.id)));
  }

  /** Stores the cancel (with the final event), takes the job off the queue, and tells the workers. */
  async cancel(id: string, owner: string): Promise<Job> {
    const record = await this.record(id, owner);
    checkCancellable(record);
    const progress = storedProgress(record);
    const final: JobEvent = {
      seq: record.epochs + 1,
      type: "cancelled",
      data: JSON.stringify({ status: "cancelled", ...progress }),
    };
    const stored = await this.store.finish(
      id,
      { status: "cancelled", finishedAt: new Date().toISOString(), epochsDone: progress.epoch, progress },
      [final],
    );
    if (stored) {
      await this.pub.del(this.names.pendingEvents(id));
      await this.pub.publish(this.names.cancelChannel, id);
      await this.pub.publish(this.names.eventChannel(id), JSON.stringify(final));
      // A waiting job leaves the queue; an active one (locked by its worker) ends when the worker aborts it.
      await this.queue.remove(id).catch(() => 0);
    }
    return this.get(id, owner);
  }

  /**
   * As `JobService.subscribe`, asynchronously: listens on the job's channel first, then reads the
   * stored events, so an event is either in the backlog or comes live (duplicates are dropped by id).
   */
  async subscribe(
    id: string,
    afterSeq: number,
    listener: JobListener,
    owner: string,
  ): Promise<{ backlog: JobEvent[]; finished: boolean; unsubscribe: () => void }> {
    await this.record(id, owner);
    let seen = afterSeq;
    let live: JobEvent[] | undefined = [];
    const own: JobListener = (event) => {
      if (event && event.seq <= seen) return;
      if (live) {
        if (event) live.push(event);
        return;
      }
      if (event) seen = event.seq;
      listener(event);
    };
    const unsubscribe = await this.listen(id, own);
    // Redis before PostgreSQL: a worker stores a checkpoint's events, then drops them from Redis,
    // so an event is in one of the two reads (or both) whenever the checkpoint falls.
    const pending = (await this.pub.zrangebyscore(this.names.pendingEvents(id), `(${afterSeq}`, "+inf")).map(
      (text) => JSON.parse(text) as JobEvent,
    );
    const stored = await this.store.events(id, afterSeq);
    const record = await this.record(id, owner);
    const backlog: JobEvent[] = [];
    seen = afterSeq;
    for (const e of [...stored, ...pending, ...live].sort((a, b) => a.seq - b.seq))
      if (e.seq > seen) {
        backlog.push(e);
        seen = e.seq;
      }
    live = undefined;
    const finished = !ACTIVE_STATUSES.includes(record.status) || backlog.some(isFinal);
    if (finished) {
      unsubscribe();
      return { backlog, finished, unsubscribe: () => {} };
    }
    return { backlog, finished, unsubscribe };
  }

  async finalSeq(id: string, owner: string): Promise<number> {
    return (await this.record(id, owner)).epochs + 1;
  }

  /** @throws Error naming REDIS_URL when Redis does not answer within CONNECT_TIMEOUT_MS. */
  async start(): Promise<void> {
    await untilReady(Promise.all([this.queue.waitUntilReady(), this.pub.ping()]), {
      name: "Redis",
      variable: "REDIS_URL",
      url: this.redisUrl,
      lastError: () => this.errors.last,
    });
    this.errors.started = true;
  }

  async stop(): Promise<void> {
    const all = [...this.listeners.values()];
    this.listeners.clear();
    for (const set of all) for (const l of set) l(null);
    await this.queue.close();
    this.sub.disconnect();
    this.pub.disconnect();
  }

  /**
   * The queue as BullMQ counts it (every API process and worker sees the same): `queued` waiting,
   * prioritised or delayed (held back by the per-client limit); `running` taken by a worker.
   * `subscribers`: this process's open event streams.
   * @throws when Redis does not answer.
   */
  async stats(): Promise<{ queued: number; running: number; subscribers: number }> {
    let subscribers = 0;
    for (const set of this.listeners.values()) subscribers += set.size;
    const c = await this.queue.getJobCounts("waiting", "prioritized", "delayed", "active");
    const queued = (c.waiting ?? 0) + (c.prioritized ?? 0) + (c.delayed ?? 0);
    return { queued, running: c.active ?? 0, subscribers };
  }

  deleteFinishedBefore(cutoff: Date): Promise<number> {
    return this.store.deleteFinishedBefore(cutoff.toISOString());
  }

  /** Jobs in PostgreSQL by status. @throws when PostgreSQL does not answer. */
  countByStatus(): Promise<Record<JobStatus, number>> {
    return this.store.countByStatus();
  }

  /** The BullMQ queue (for tests and tools). */
  get bullQueue(): Queue {
    return this.queue;
  }

  private async listen(id: string, listener: JobListener): Promise<() => void> {
    let set = this.listeners.get(id);
    if (!set) {
      set = new Set();
      this.listeners.set(id, set);
      await this.sub.subscribe(this.names.eventChannel(id));
    }
    set.add(listener);
    return () => {
      set.delete(listener);
      if (set.size === 0 && this.listeners.get(id) === set) {
        this.listeners.delete(id);
        void this.sub.unsubscribe(this.names.eventChannel(id)).catch(() => {});
      }
    };
  }

  /** The job as the API shows it, with the progress its worker last put on the queue job when that is newer. */
  private async view(record: JobRecord): Promise<Job> {
    return jobView(record, await this.liveProgress(record));
  }

  /**
   * A running job's latest epoch, from the queue job's progress (`DistributedRunner` updates it
   * every epoch); undefined when it has none newer than the stored progress (its last checkpoint).
   */
  private async liveProgress(record: JobRecord): Promise<JobProgress | undefined> {
    if (record.status !== "running") return undefined;
    const queued = await this.queue.getJob(record.id).catch(() => undefined);
    const progress = queued?.progress;
    if (typeof progress !== "object" || progress === null || !("epoch" in progress)) return undefined;
    const live = progress as JobProgress;
    return live.epoch > storedProgress(record).epoch ? live : undefined;
  }

  private async record(id: string, owner: string): Promise<JobRecord> {
    const record = await this.store.get(id, owner);
    if (!record) throw new NotFoundError(`there is no job ${id}`);
    return record;
  }
}

/** PostgreSQL's unique_violation (SQLSTATE 23505): here, an idempotency key another create took. */
function isUniqueViolation(err: unknown): boolean {
  return typeof err === "object" && err !== null && (err as { code?: unknown }).code === "23505";
}
