import { DelayedError, Queue, Job as QueueJob, WaitingError, Worker } from "bullmq";
import { Redis } from "ioredis";
import { type JobProgress, JobProgressSchema } from "../../schemas/jobs.js";
import type { JobLogger } from "../jobs/job-view.js";
import type { JobQueue, TakenJob, TakeOutcome } from "../jobs/ports.js";
import type { JobRecord } from "../store/job-store.js";
import { redisErrors, untilReady } from "./connections.js";
import type { DistributedNames } from "./names.js";

export interface BullQueueOptions {
  redisUrl: string;
  /** Key prefix in Redis (queue keys). */
  prefix: string;
  names: DistributedNames;
  /** Jobs this process runs at once (a worker process). */
  concurrency?: number;
  /** How long a worker's lock on a job lasts without renewal; a dead worker's job is re-queued after it. */
  lockDurationMs?: number;
  /** How often workers look for stalled jobs (those whose lock expired). */
  stalledIntervalMs?: number;
  /** How long a job held back by the per-client limit stays delayed at most before it is tried again (ms). */
  holdMs?: number;
  /** BullMQ gave up on a job (it stalled too often, or storing its end failed): the record should say so too. */
  onAbandoned?: (id: string, reason: string) => Promise<void>;
  log?: JobLogger;
}

/**
 * The distributed mode's `JobQueue` on BullMQ: API processes add jobs (BullMQ's priorities run
 * lower first, equal ones in the order they came, as the API's); worker processes (`start` with a
 * runner) take them, any number on any host. A job held back by its owner's limit goes to the
 * delayed set, noted in the owner's held set, and is promoted when one of the owner's jobs ends.
 * When a worker dies, BullMQ's stalled-job check puts its job back after `lockDurationMs`.
 */
export class BullQueue implements JobQueue {
  private readonly queue: Queue;
  private readonly redis: Redis;
  private worker: Worker | undefined;
  private closing = false;
  private readonly errors: ReturnType<typeof redisErrors>;

  constructor(private readonly options: BullQueueOptions) {
    const connection = { url: options.redisUrl, maxRetriesPerRequest: null };
    this.queue = new Queue(options.names.queue, { connection, prefix: options.prefix });
    this.redis = new Redis(options.redisUrl, { maxRetriesPerRequest: null });
    this.errors = redisErrors(options.log, "job queue");
    for (const client of [this.queue, this.redis]) client.on("error", this.errors.listener);
  }

  async add(record: JobRecord): Promise<void> {
    await this.queue.add(
      "train",
      { owner: record.owner },
      { jobId: record.id, priority: record.priority, removeOnComplete: true, removeOnFail: 1000 },
    );
  }

  async remove(id: string): Promise<void> {
    // A waiting job leaves the queue; an active one (locked by its worker) ends when the worker aborts it.
    await this.queue.remove(id).catch(() => 0);
  }

  /**
   * The progress a worker last put on the queue job (`TakenJob.report`); undefined when there is
   * none yet or it does not fit `JobProgress` (the stored progress stands in).
   */
  async progress(id: string): Promise<JobProgress | undefined> {
    // Read back through the schema: what is on the queue job is whatever a worker (of any version) put there.
    const parsed = JobProgressSchema.safeParse((await this.queue.getJob(id))?.progress);
    return parsed.success && parsed.data.epoch > 0 ? parsed.data : undefined;
  }

  /** As BullMQ counts them (every process sees the same): waiting, prioritised or delayed (held); taken by a worker. */
  async counts(): Promise<{ queued: number; running: number }> {
    const c = await this.queue.getJobCounts("waiting", "prioritized", "delayed", "active");
    return { queued: (c.waiting ?? 0) + (c.prioritized ?? 0) + (c.delayed ?? 0), running: c.active ?? 0 };
  }

  async start(runner?: (job: TakenJob) => Promise<TakeOutcome>): Promise<void> {
    await untilReady(Promise.all([this.queue.waitUntilReady(), this.redis.ping()]), {
      name: "Redis",
      variable: "REDIS_URL",
      url: this.options.redisUrl,
      lastError: () => this.errors.last,
    });
    this.errors.started = true;
    if (!runner) return;
    const o = this.options;
    const worker = new Worker(o.names.queue, (job, token) => this.process(runner, job, token), {
      connection: { url: o.redisUrl, maxRetriesPerRequest: null },
      prefix: o.prefix,
      concurrency: o.concurrency ?? 1,
      autorun: false,
      ...(o.lockDurationMs ? { lockDuration: o.lockDurationMs } : {}),
      ...(o.stalledIntervalMs ? { stalledInterval: o.stalledIntervalMs } : {}),
      maxStalledCount: 5,
    });
    worker.on("error", this.errors.listener);
    worker.on("failed", (job, err) => {
      if (job?.id) void o.onAbandoned?.(job.id, err.message).catch(() => {});
    });
    this.worker = worker;
    void worker.run();
    await worker.waitUntilReady();
  }

  /** Takes no more jobs, waits for the runner's calls to return (the runner interrupts its jobs), and disconnects. */
  async stop(): Promise<void> {
    this.closing = true;
    // Take no more jobs first, so a job given back is not taken again here.
    await this.worker?.pause(true);
    await this.worker?.close();
    await this.queue.close();
    this.redis.disconnect();
  }

  private async process(
    runner: (job: TakenJob) => Promise<TakeOutcome>,
    job: QueueJob,
    token: string | undefined,
  ): Promise<void> {
    if (this.closing) {
      await job.moveToWait(token);
      throw new WaitingError();
    }
    const outcome = await runner({
      id: job.id!,
      reportedBefore: epochOf(job.progress),
      report: (progress) => job.updateProgress(progress),
    });
    const { record } = outcome;
    if (outcome.status === "held" && record) {
      await this.hold(job, token, record);
      throw new DelayedError();
    }
    if (record) await this.releaseHeld(record.owner);
    if (outcome.status === "givenBack") {
      // Another worker resumes it now rather than after the lock expires.
      await job.moveToWait(token);
      throw new WaitingError();
    }
  }

  /**
   * The owner already runs their limit: the job goes to BullMQ's delayed set (its priority kept),
   * noted in the owner's held set so the end of one of their jobs promotes it at once
   * (`releaseHeld`); after `holdMs` it is tried again in any case.
   */
  private async hold(job: QueueJob, token: string | undefined, record: JobRecord): Promise<void> {
    // Released by priority, then in the order they came (seq < 1e12, priority ≤ 1000: exact in a double).
    await this.redis.zadd(
      this.options.names.heldSet(record.owner),
      record.priority * 1e12 + record.seq,
      record.id,
    );
    await job.moveToDelayed(Date.now() + (this.options.holdMs ?? 5000), token);
    this.options.log?.info({ job: record.id, owner: record.owner }, "job held: its client runs its limit");
  }

  /** One of the owner's jobs ended: their first held job (still delayed) goes back on the queue now. */
  private async releaseHeld(owner: string): Promise<void> {
    const key = this.options.names.heldSet(owner);
    try {
      for (;;) {
        const [id] = await this.redis.zpopmin(key);
        if (id === undefined) return;
        const held = await QueueJob.fromId(this.queue, id);
        if (held && (await held.isDelayed())) {
          await held.promote().catch(() => {}); // taken meanwhile (its delay ran out): it is on its way
          return;
        }
      }
    } catch (err) {
      this.options.log?.error({ err, owner }, "could not release a held job");
    }
  }

  /** The BullMQ queue (for tests and tools). */
  get bullQueue(): Queue {
    return this.queue;
  }
}

/** The epoch in a queue job's progress (set by `report`), or 0. */
function epochOf(progress: unknown): number {
  return typeof progress === "object" &&
    progress !== null &&
    "epoch" in progress &&
    typeof progress.epoch === "number"
    ? progress.epoch
    : 0;
}
