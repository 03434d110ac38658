import type { Job, JobList } from "../../schemas/jobs.js";
import type { TrainRequest } from "../../schemas/requests.js";
import type { JsonText } from "../engine-task.js";
import type { JobEvent, JobStatus } from "../store/job-store.js";
import type { NewJobOptions } from "./job-view.js";
import type { JobListener } from "./ports.js";

type MaybePromise<T> = T | Promise<T>;

/**
 * What the routes use of the jobs: `JobService`, over the embedded adapters (SQLite, in-process
 * queue and events) or the distributed ones (PostgreSQL, BullMQ and Redis).
 */
export interface JobsApi {
  create(req: TrainRequest, options: NewJobOptions): MaybePromise<{ job: Job; replayed: boolean }>;
  get(id: string, owner: string): MaybePromise<Job>;
  getJson(id: string, owner: string): MaybePromise<JsonText<Job>>;
  list(
    query: { limit: number; after?: string; cursor?: number; status?: JobStatus },
    owner: string,
  ): MaybePromise<JobList>;
  cancel(id: string, owner: string): MaybePromise<Job>;
  subscribe(
    id: string,
    afterSeq: number,
    listener: JobListener,
    owner: string,
  ): MaybePromise<{ backlog: JobEvent[]; finished: boolean; unsubscribe: () => void }>;
  /** A page of the job's stored events: the first `limit` after `afterSeq`, in order (a replay reads these first). @throws NotFoundError */
  storedEvents(id: string, afterSeq: number, limit: number, owner: string): MaybePromise<JobEvent[]>;
  finalSeq(id: string, owner: string): MaybePromise<number>;
  start(): MaybePromise<void>;
  /** Stops; `interrupted`: the jobs this process was running, left to resume from their checkpoint. */
  stop(): Promise<{ interrupted: number }>;
  /** Jobs waiting and running, and open event streams (the metrics and /ready). @throws when the backing store does not answer. */
  stats(): MaybePromise<{ queued: number; running: number; subscribers: number }>;
  countByStatus(): MaybePromise<Record<JobStatus, number>>;
  /** Deletes the jobs that finished before `cutoff` (JOB_RETENTION_DAYS). @returns how many. */
  deleteFinishedBefore(cutoff: Date): MaybePromise<number>;
}
