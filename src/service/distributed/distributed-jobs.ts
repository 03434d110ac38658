import { Queue } from "bullmq";
import { Redis } from "ioredis";
import type { Job, JobList } from "../../schemas/jobs.js";
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
  newJob,
  replayable,
  requestHash,
} from "../jobs/job-service.js";
import { ACTIVE_STATUSES, type JobEvent, type JobRecord, type JobStatus } from "../store/job-store.js";
import { type DistributedNames, names } from "./names.js";
import type { PgJobStore } from "./pg-job-store.js";

export interface DistributedJobsOptions {
  redisUrl: string;
  prefix: string;
  log?: JobLogger;
  /** The BullMQ priority of a new job (1 = highest; none = before every prioritised job). */
  priorityOf?: (req: TrainRequest, owner: string) => number | undefined;
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
  private lastCounts: Record<JobStatus, number> | undefined;

  constructor(
    private readonly store: PgJobStore,
    private readonly engine: EngineService,
    private readonly options: DistributedJobsOptions,
  ) {
    this.names = names(options.prefix);
    this.queue = new Queue(this.names.queue, {
      connection: { url: options.redisUrl, maxRetriesPerRequest: null },
      prefix: options.prefix,
    });
    this.pub = new Redis(options.redisUrl, { maxRetriesPerRequest: null });
    this.sub = new Redis(options.redisUrl, { maxRetriesPerRequest: null });
    this.sub.on("message", (channel: string, message: string) => {
      const id = channel.slice(channel.lastIndexOf(":") + 1);
      const event = JSON.parse(message) as JobEvent;
      for (const l of [...(this.listeners.get(id) ?? [])]) l(event);
    });
  }

  async create(
    req: TrainRequest,
    idempotencyKey: string | undefined,
    owner: string,
  ): Promise<{ job: Job; replayed: boolean }> {
    const hash = idempotencyKey === undefined ? null : requestHash(req);
    if (idempotencyKey !== undefined) {
      const existing = replayable(await this.store.byIdempotencyKey(idempotencyKey, owner), hash);
      if (existing) return { job: jobView(existing), replayed: true };
    }
    const { seeded, job } = newJob(this.engine, req, owner, idempotencyKey, hash);
    const record = await this.store.insert(job);
    const priority = this.options.priorityOf?.(seeded, owner);
    await this.queue.add(
      "train",
      { owner },
      {
        jobId: record.id,
        removeOnComplete: true,
        removeOnFail: 1000,
        ...(priority !== undefined ? { priority } : {}),
      },
    );
    return { job: jobView(record), replayed: false };
  }

  async get(id: string, owner: string): Promise<Job> {
    return jobView(await this.record(id, owner));
  }

  async getJson(id: string, owner: string): Promise<JsonText<Job>> {
    const record = await this.record(id, owner);
    const text = JSON.stringify(jobView(record));
    const result = record.status === "succeeded" ? await this.store.result(id) : undefined;
    return result === undefined ? text : `${text.slice(0, -1)},"result":${result}}`;
  }

  async list(query: { limit: number; after?: string; status?: JobStatus }, owner: string): Promise<JobList> {
    const page = await this.store.list(query.limit, { after: query.after, status: query.status, owner });
    return jobList(query, page, jobView);
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
    const stored = await this.store.events(id, afterSeq);
    const record = await this.record(id, owner);
    const backlog = [...stored];
    seen = Math.max(afterSeq, stored.at(-1)?.seq ?? 0);
    for (const e of live.sort((a, b) => a.seq - b.seq))
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

  async start(): Promise<void> {
    await this.queue.waitUntilReady();
  }

  async stop(): Promise<void> {
    const all = [...this.listeners.values()];
    this.listeners.clear();
    for (const set of all) for (const l of set) l(null);
    await this.queue.close();
    this.sub.disconnect();
    this.pub.disconnect();
  }

  stats(): { queued: number; running: number; subscribers: number } {
    let subscribers = 0;
    for (const set of this.listeners.values()) subscribers += set.size;
    return { queued: 0, running: 0, subscribers };
  }

  /** The counts as of the last call (refreshed in the background: the metrics read them synchronously). */
  countByStatus(): Record<JobStatus, number> {
    this.store.countByStatus().then(
      (c) => {
        this.lastCounts = c;
      },
      () => {},
    );
    return this.lastCounts ?? { queued: 0, running: 0, succeeded: 0, failed: 0, cancelled: 0 };
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

  private async record(id: string, owner: string): Promise<JobRecord> {
    const record = await this.store.get(id, owner);
    if (!record) throw new NotFoundError(`there is no job ${id}`);
    return record;
  }
}
