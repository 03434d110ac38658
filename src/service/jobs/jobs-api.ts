import type { Job, JobList } from "../../schemas/jobs.js";
import type { TrainRequest } from "../../schemas/requests.js";
import type { JsonText } from "../engine-task.js";
import type { JobEvent, JobStatus } from "../store/job-store.js";
import type { JobListener } from "./event-hub.js";
import type { NewJobOptions } from "./job-service.js";

type MaybePromise<T> = T | Promise<T>;

/**
 * What the routes use of the jobs: implemented by the embedded `JobService` (in-process pool,
 * SQLite; synchronous answers) and by `DistributedJobs` (BullMQ on Redis, PostgreSQL; async).
 */
export interface JobsApi {
  create(req: TrainRequest, options: NewJobOptions): MaybePromise<{ job: Job; replayed: boolean }>;
  get(id: string, owner: string): MaybePromise<Job>;
  getJson(id: string, owner: string): MaybePromise<JsonText<Job>>;
  list(query: { limit: number; after?: string; status?: JobStatus }, owner: string): MaybePromise<JobList>;
  cancel(id: string, owner: string): MaybePromise<Job>;
  subscribe(
    id: string,
    afterSeq: number,
    listener: JobListener,
    owner: string,
  ): MaybePromise<{ backlog: JobEvent[]; finished: boolean; unsubscribe: () => void }>;
  finalSeq(id: string, owner: string): MaybePromise<number>;
  start(): MaybePromise<void>;
  stop(): Promise<void>;
  /** Jobs waiting and running, and open event streams (the metrics and /ready). @throws when the backing store does not answer. */
  stats(): MaybePromise<{ queued: number; running: number; subscribers: number }>;
  countByStatus(): MaybePromise<Record<JobStatus, number>>;
  /** Deletes the jobs that finished before `cutoff` (JOB_RETENTION_DAYS). @returns how many. */
  deleteFinishedBefore(cutoff: Date): MaybePromise<number>;
}
