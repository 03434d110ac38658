import type { JobProgress } from "../../../schemas/jobs.js";
import type { JobRecord, JobStore } from "../../store/job-store.js";
import type { JobLogger } from "../job-view.js";
import type { JobQueue, TakenJob, TakeOutcome } from "../ports.js";

export interface LocalQueueOptions {
  /** Jobs running at once; the rest wait by priority, then in the order they came. */
  maxConcurrent: number;
  /** Jobs of one owner (client) running at once; undefined: no limit. Their further jobs wait; others' go first. */
  maxPerOwner?: number;
  log?: JobLogger;
}

/** A job waiting for a slot; the queue is sorted by `rank`, then `seq`. */
interface Waiting {
  id: string;
  owner: string;
  /** The job's priority; 0 for a job that was running before a restart (it goes first). */
  rank: number;
  seq: number;
}

/**
 * The embedded mode's `JobQueue`, in memory: runs at most `maxConcurrent` jobs at once in this
 * process, each owner's at most `maxPerOwner`. At `start` it takes up the jobs the store holds
 * unfinished (the last process's), those that were running first.
 */
export class LocalQueue implements JobQueue {
  private readonly waiting: Waiting[] = [];
  private readonly running = new Map<string, { owner: string; progress?: JobProgress }>();
  private readonly tasks = new Set<Promise<void>>();
  private runner: ((job: TakenJob) => Promise<TakeOutcome>) | undefined;
  private closing = false;

  constructor(
    private readonly store: JobStore,
    private readonly options: LocalQueueOptions,
  ) {}

  async add(record: JobRecord): Promise<void> {
    this.enqueue(record);
    this.pump();
  }

  async remove(id: string): Promise<void> {
    const at = this.waiting.findIndex((w) => w.id === id);
    if (at >= 0) this.waiting.splice(at, 1);
  }

  async progress(id: string): Promise<JobProgress | undefined> {
    return this.running.get(id)?.progress;
  }

  async counts(): Promise<{ queued: number; running: number }> {
    return { queued: this.waiting.length, running: this.running.size };
  }

  async start(runner?: (job: TakenJob) => Promise<TakeOutcome>): Promise<void> {
    if (this.runner || !runner) return;
    const unfinished = await this.store.unfinished();
    for (const [i, r] of unfinished.entries()) {
      if (r.status === "running" && i >= this.options.maxConcurrent) await this.store.markQueued(r.id);
      this.enqueue(r, r.status === "running" ? 0 : r.priority);
    }
    if (unfinished.length > 0)
      this.options.log?.info({ jobs: unfinished.map((r) => r.id) }, "resuming unfinished jobs");
    this.runner = runner;
    this.pump();
  }

  async stop(): Promise<void> {
    this.closing = true;
    await Promise.allSettled([...this.tasks]);
  }

  /** Puts a job in the queue at its place: by `rank`, then in the order the jobs came. */
  private enqueue(record: JobRecord, rank = record.priority): void {
    const entry: Waiting = { id: record.id, owner: record.owner, rank, seq: record.seq };
    const at = this.waiting.findIndex((w) => w.rank > rank || (w.rank === rank && w.seq > record.seq));
    this.waiting.splice(at < 0 ? this.waiting.length : at, 0, entry);
  }

  /** The first waiting job whose owner runs fewer than `maxPerOwner` jobs (taken off the queue). */
  private next(): Waiting | undefined {
    const limit = this.options.maxPerOwner;
    const at =
      limit === undefined
        ? 0
        : this.waiting.findIndex((w) => {
            let n = 0;
            for (const run of this.running.values()) if (run.owner === w.owner) n++;
            return n < limit;
          });
    return at < 0 ? undefined : this.waiting.splice(at, 1)[0];
  }

  private pump(): void {
    const runner = this.runner;
    if (!runner || this.closing) return;
    while (this.running.size < this.options.maxConcurrent && this.waiting.length > 0) {
      const waiting = this.next();
      if (!waiting) break; // every waiting job's owner runs its limit
      const { id } = waiting;
      const entry: { owner: string; progress?: JobProgress } = { owner: waiting.owner };
      this.running.set(id, entry);
      const task = runner({
        id,
        reportedBefore: 0,
        report: async (progress) => {
          entry.progress = progress;
        },
      })
        .then((outcome) => {
          // Held back by the store's limit: it waits again at its place.
          if (outcome.status === "held" && outcome.record) this.enqueue(outcome.record);
        })
        .catch((err: unknown) => {
          // Storing the failure failed too (the disk is full, say): the job stays unfinished
          // in the database and is taken up again at the next start.
          this.options.log?.error({ err, job: id }, "job could not be finished");
        })
        .finally(() => {
          this.running.delete(id);
          this.tasks.delete(task);
          this.pump();
        });
      this.tasks.add(task);
    }
  }
}
