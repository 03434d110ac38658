import type { JobProgress } from "../../schemas/jobs.js";
import type { JobEvent, JobRecord } from "../store/job-store.js";

/** Receives a job's events as they happen; `null` when the stream stops without an end (shutdown). */
export type JobListener = (event: JobEvent | null) => void;

/**
 * How a job's events travel between the process running it and the processes streaming them
 * (`LocalEventBus` in memory; `RedisEventBus` over Redis pub/sub). Progress events are kept here
 * ("pending") until a checkpoint stores them, so a stream that joins in between still gets them;
 * a final event is stored first, then published.
 */
export interface EventBus {
  /**
   * A runner starts (or resumes) the job: a previous run's pending events are dropped, and the
   * job's events are taken until `dropPending(jobId)` without `upToSeq` closes it (a cancel, an
   * end): events sent after that, a batch already on its way included, are not kept.
   */
  open(jobId: string): Promise<void>;
  /** A running job's progress event: pending, and sent to the listeners (possibly batched, see `flush`). */
  emit(jobId: string, event: JobEvent): void;
  /** Sends out every event `emit` was given for the job. */
  flush(jobId: string): Promise<void>;
  /** The job's pending events after `afterSeq`, in order. */
  pending(jobId: string, afterSeq: number): Promise<JobEvent[]>;
  /** Forgets the job's pending events up to `upToSeq` (stored now), or all of them and closes the job (see `open`). */
  dropPending(jobId: string, upToSeq?: number): Promise<void>;
  /**
   * Forgets everything of a job that ended elsewhere (cancelled): unsent events, pending ones,
   * and waits for a send under way, so nothing is put back after.
   */
  discard(jobId: string): Promise<void>;
  /** Publishes a job's final event (already stored): its listeners get it, then they are dropped. */
  publishFinal(jobId: string, event: JobEvent): Promise<void>;
  /** Listens to a job's events; resolves with the function that stops. */
  listen(jobId: string, listener: JobListener): Promise<() => void>;
  /** Tells the process running the job (wherever it is) that it was cancelled. */
  cancel(jobId: string): Promise<void>;
  /** Called with the id of each job cancelled (`cancel`), in every process. */
  onCancel(handler: (jobId: string) => void): void;
  /** @throws Error naming the variable of the server when it does not answer. */
  start(): Promise<void>;
  /** Ends every stream without a final event, then disconnects. */
  stop(): Promise<void>;
  /** Open streams in this process (the metrics). */
  readonly subscribers: number;
}

/**
 * What the runner of a job answers its queue: done (ended, or someone else ended it), held back
 * (its owner runs their limit), or given back (stopping); with the job's record when it read one.
 */
export interface TakeOutcome {
  status: "done" | "held" | "givenBack";
  record?: JobRecord;
}

/** A job a queue gave a runner. */
export interface TakenJob {
  id: string;
  /** The epoch the queue last showed for it (a previous run's), 0 when none: reports stay above it. */
  reportedBefore: number;
  /** Shows a running job's latest epoch to every API process (`JobQueue.progress`); the latest wins. */
  report(progress: JobProgress): Promise<void>;
}

/**
 * Where jobs wait for a runner (`LocalQueue` in the process; `BullQueue` on Redis for any number
 * of worker processes): by priority (lower first), then in the order they came.
 */
export interface JobQueue {
  /** Puts a stored job on the queue. */
  add(record: JobRecord): Promise<void>;
  /** Takes a waiting job off (cancelled); a running one ends when its runner sees the cancel. */
  remove(id: string): Promise<void>;
  /** A running job's latest epoch as its runner reported it, if any. */
  progress(id: string): Promise<JobProgress | undefined>;
  /** Jobs waiting (held ones included) and running. @throws when the queue's server does not answer. */
  counts(): Promise<{ queued: number; running: number }>;
  /**
   * Starts handing jobs to `runner` (a process that runs jobs; API-only processes pass none):
   * its outcome says whether the job left the queue, was held back (its owner runs its limit;
   * tried again when one of the owner's jobs ends) or given back (stopping: to run elsewhere or later).
   * @throws Error naming the variable of the server when it does not answer.
   */
  start(runner?: (job: TakenJob) => Promise<TakeOutcome>): Promise<void>;
  /** Stops handing out jobs; resolves once the runner's calls have returned. */
  stop(): Promise<void>;
}
