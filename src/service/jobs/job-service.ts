import type { Job, JobList, JobProgress } from "../../schemas/jobs.js";
import type { TrainRequest } from "../../schemas/requests.js";
import type { EngineService } from "../engine-service.js";
import type { JsonText } from "../engine-task.js";
import { NotFoundError } from "../errors.js";
import { checkCursor } from "../paging.js";
import {
  ACTIVE_STATUSES,
  type JobEvent,
  type JobRecord,
  type JobStatus,
  type JobStore,
} from "../store/job-store.js";
import { storedProgress } from "./chunk-loop.js";
import {
  checkCancellable,
  type JobLogger,
  jobList,
  jobView,
  type NewJobOptions,
  newJob,
  replayable,
  requestHash,
  seconds,
} from "./job-view.js";
import type { JobsApi } from "./jobs-api.js";
import type { EventBus, JobListener, JobQueue } from "./ports.js";
import type { JobRunner } from "./runner.js";

const FINAL_TYPES = new Set(["succeeded", "failed", "cancelled"]);

/** An event type that ends a stream. */
export function isFinal(event: JobEvent): boolean {
  return FINAL_TYPES.has(event.type);
}

export interface JobServiceParts {
  store: JobStore;
  bus: EventBus;
  queue: JobQueue;
  /** Runs the queue's jobs in this process (the embedded mode); API processes of the distributed mode have none. */
  runner?: JobRunner;
  log?: JobLogger;
  /** Called when this process cancels a job, with the seconds since a worker first took it up (the metrics). */
  onFinish?: (status: "cancelled", seconds: number | undefined) => void;
}

/**
 * Asynchronous training jobs as the API shows them, in either mode: created from a POST /train
 * body (checked as /train checks it), stored (`JobStore`), put on the queue (`JobQueue`), run in
 * chunks by a `JobRunner` (in this process, or in worker processes), their events streamed from
 * the store and the `EventBus`. Every method taking an `owner` sees only that owner's jobs (404
 * for others').
 *
 * Events: one `progress` per epoch (id = the epoch, 1-based) while it runs, then one final
 * `succeeded` / `failed` / `cancelled` (id = epochs + 1, so it sorts after every epoch whenever
 * the job ends).
 *
 * State machine: queued → running → succeeded | failed | cancelled, queued → cancelled; a restart
 * leaves queued and running as they are (running → queued when it must wait for a slot).
 */
export class JobService implements JobsApi {
  private readonly store: JobStore;
  private readonly bus: EventBus;
  private readonly queue: JobQueue;

  constructor(
    private readonly engine: EngineService,
    private readonly parts: JobServiceParts,
  ) {
    ({ store: this.store, bus: this.bus, queue: this.queue } = parts);
  }

  /**
   * Creates a job (queued) for `owner` after checking the body exactly as POST /train does. With
   * an idempotency key the owner already used for the same body, answers that job instead
   * (`replayed`). The job is stored before it is queued; a data set it names is checked again in
   * the insert's transaction, so one deleted meanwhile gives 404 at `dataset.id`.
   * @throws the 400/404/422 errors of POST /train; a 422 when the key was used for another body.
   */
  async create(req: TrainRequest, options: NewJobOptions): Promise<{ job: Job; replayed: boolean }> {
    const { idempotencyKey, owner } = options;
    const hash = idempotencyKey === undefined ? null : requestHash(req);
    const replay = async () =>
      idempotencyKey === undefined
        ? undefined
        : replayable(await this.store.byIdempotencyKey(idempotencyKey, owner), hash, options.priority);
    const first = await replay();
    if (first) return { job: await this.view(first), replayed: true };
    const { job } = await newJob(this.engine, req, options, hash);
    let record: JobRecord;
    try {
      record = await this.store.insert(job);
    } catch (err) {
      // A concurrent create with the same key (in this or another API process) stored its job
      // first: answer that one, as a retry after it would get, or the 422 for another body.
      if (idempotencyKey === undefined || !this.store.isUniqueViolation(err)) throw err;
      const again = await replay();
      if (!again) throw err;
      return { job: await this.view(again), replayed: true };
    }
    await this.queue.add(record);
    return { job: jobView(record), replayed: false };
  }

  /** @throws NotFoundError */
  async get(id: string, owner: string): Promise<Job> {
    const { record, progress } = await this.current(await this.record(id, owner));
    return jobView(record, progress);
  }

  /** The job as JSON text, with its result when it succeeded (stored as text, not re-parsed). */
  async getJson(id: string, owner: string): Promise<JsonText<Job>> {
    const { record, progress } = await this.current(await this.record(id, owner));
    const text = JSON.stringify(jobView(record, progress));
    const result = record.status === "succeeded" ? await this.store.result(id) : undefined;
    return result === undefined ? text : `${text.slice(0, -1)},"result":${result}}`;
  }

  /**
   * Newest first, one page; `next` carries the last job's position (`cursor`), which survives its deletion.
   * @throws InvalidRequestError (400) when `after` names no job, or at `querystring.cursor` when both are given.
   */
  async list(
    query: { limit: number; after?: string; cursor?: number; status?: JobStatus },
    owner: string,
  ): Promise<JobList> {
    checkCursor(query);
    const page = await this.store.list(query.limit, {
      after: query.after,
      below: query.cursor,
      status: query.status,
      owner,
    });
    const current = new Map<string, { record: JobRecord; progress?: JobProgress }>();
    await Promise.all((page?.items ?? []).map(async (r) => current.set(r.id, await this.current(r))));
    return jobList(query, page, (r) => {
      const now = current.get(r.id);
      return now ? jobView(now.record, now.progress) : jobView(r);
    });
  }

  /**
   * Cancels a queued or running job: stored as cancelled at once, in one transaction that ends
   * the job where its locked row says (or where its unstored progress events had got to, which
   * are stored with it); then its runner is told (its worker thread is terminated), the final
   * event published, and the job taken off the queue.
   * @throws NotFoundError; ConflictError (409) when the job has already finished.
   */
  async cancel(id: string, owner: string): Promise<Job> {
    checkCancellable(await this.record(id, owner));
    const pending = await this.bus.pending(id, 0).catch(() => []);
    let startedAt: string | null = null;
    const final = await this.store.finish(
      id,
      { status: "cancelled", finishedAt: new Date().toISOString(), from: "active" },
      pending,
      (ended) => {
        startedAt = ended.startedAt;
        const data = { status: "cancelled", ...storedProgress(ended) };
        return { seq: ended.epochs + 1, type: "cancelled", data: JSON.stringify(data) };
      },
    );
    if (final) {
      await this.bus.cancel(id);
      await this.bus.dropPending(id);
      await this.bus.publishFinal(id, final);
      await this.queue.remove(id);
      this.parts.onFinish?.("cancelled", seconds(startedAt));
    }
    return this.get(id, owner);
  }

  /**
   * The job's events after `afterSeq`, and the live ones to come through `listener` until the
   * final event. Listens first, then reads the pending events, then the stored ones (a runner
   * stores a checkpoint's events before it drops them from the pending ones), so an event is in
   * the backlog or comes live; duplicates are dropped by id. The one rule of both modes: a
   * subscriber never receives an event whose id is at or below `afterSeq` or the last one it got
   * (a job resumed from a checkpoint emits the epochs after it again). `finished`: the backlog
   * ends with the final event; nothing more will come.
   * @throws NotFoundError
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
    const unsubscribe = await this.bus.listen(id, own);
    const pending = await this.bus.pending(id, afterSeq);
    const stored = await this.store.events(id, afterSeq);
    const record = await this.record(id, owner);
    const ended = !ACTIVE_STATUSES.includes(record.status);
    const backlog: JobEvent[] = [];
    seen = afterSeq;
    // An ended job's stored events are all there is (stored with its end): whatever its runner
    // still had pending or sent past where it ended is not part of it. Read again when it ended
    // after they were read (its last events and the final one, stored and published meanwhile,
    // would be in neither).
    const final = ended && !stored.some(isFinal) ? await this.store.events(id, afterSeq) : stored;
    for (const e of (ended ? final : [...stored, ...pending, ...live]).sort((a, b) => a.seq - b.seq))
      if (e.seq > seen) {
        backlog.push(e);
        seen = e.seq;
      }
    live = undefined;
    const finished = ended || backlog.some(isFinal);
    if (finished) {
      unsubscribe();
      return { backlog, finished, unsubscribe: () => {} };
    }
    return { backlog, finished, unsubscribe };
  }

  /**
   * A page of the job's stored events: the first `limit` after `afterSeq`, in order. A long
   * replay reads these a page at a time, then `subscribe`s after the last one for the rest.
   * @throws NotFoundError
   */
  async storedEvents(id: string, afterSeq: number, limit: number, owner: string): Promise<JobEvent[]> {
    await this.record(id, owner);
    return this.store.events(id, afterSeq, limit);
  }

  /** The id of a job's final event (it follows every progress id). */
  async finalSeq(id: string, owner: string): Promise<number> {
    return (await this.record(id, owner)).epochs + 1;
  }

  /**
   * Connects the event bus and the queue; with a runner, starts running the queue's jobs
   * (embedded: the jobs the last process left unfinished first).
   * @throws Error naming REDIS_URL when Redis does not answer within CONNECT_TIMEOUT_MS.
   */
  async start(): Promise<void> {
    await this.bus.start();
    await this.queue.start(this.parts.runner?.run);
  }

  /**
   * Stops without finishing anything: running jobs are interrupted and stay running in the store
   * (queued ones queued), to continue from their last checkpoint when a runner takes them up
   * again. Open event streams end without a final event.
   * @returns `interrupted`: the jobs this process's runner was running (0 without a runner).
   */
  async stop(): Promise<{ interrupted: number }> {
    const interrupted = this.parts.runner?.stop() ?? 0;
    await this.queue.stop();
    await this.bus.stop();
    return { interrupted };
  }

  /** For the metrics and /ready: jobs waiting and running, and open event streams. @throws when the queue does not answer. */
  async stats(): Promise<{ queued: number; running: number; subscribers: number }> {
    return { ...(await this.queue.counts()), subscribers: this.bus.subscribers };
  }

  /** Jobs in the store by status. @throws when the store does not answer. */
  countByStatus(): Promise<Record<JobStatus, number>> {
    return this.store.countByStatus();
  }

  deleteFinishedBefore(cutoff: Date): Promise<number> {
    return this.store.deleteFinishedBefore(cutoff.toISOString());
  }

  private async record(id: string, owner: string): Promise<JobRecord> {
    const record = await this.store.get(id, owner);
    if (!record) throw new NotFoundError(`there is no job ${id}`);
    return record;
  }

  /** The job as the API shows it, with the progress its runner last reported when that is newer. */
  private async view(record: JobRecord): Promise<Job> {
    const { record: now, progress } = await this.current(record);
    return jobView(now, progress);
  }

  /**
   * A running job's latest epoch as its runner reported it (`progress`, undefined when none is
   * newer than its checkpoint), with the record to show it with. The queue's progress leaves the
   * queue with its job, after the job's end is stored: when there is none, the record is read
   * again, as the job may have ended since `record` was read (its stored progress, an older
   * checkpoint's, would show the job going back).
   */
  private async current(record: JobRecord): Promise<{ record: JobRecord; progress?: JobProgress }> {
    if (record.status !== "running") return { record };
    const live = await this.queue.progress(record.id).catch(() => undefined);
    if (!live) return { record: (await this.store.get(record.id)) ?? record };
    return { record, progress: live.epoch > storedProgress(record).epoch ? live : undefined };
  }
}
