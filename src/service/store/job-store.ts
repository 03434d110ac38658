import { z } from "zod";
import type { NamedTensors, OptimizerState } from "../../engine/index.js";
import type { JOB_STATUSES, JobProgress } from "../../schemas/jobs.js";
import type { Problem } from "../../schemas/problem.js";
import type { TrainResponse } from "../../schemas/responses.js";
import type { NewModel } from "../models/model-store.js";

export type JobStatus = (typeof JOB_STATUSES)[number];
/** Statuses a job leaves again; the others are final. */
export const ACTIVE_STATUSES: readonly JobStatus[] = ["queued", "running"];

/**
 * The median rule of a tuning trial's job (docs/tuning.md §3), applied by its runner at each
 * epoch s: the job stops (cancelled, at s) when its best `metric` over epochs 1 … s is worse than
 * `medians[s − 1]`; past the end of `medians` it goes on.
 */
export interface StopRule {
  metric: string;
  goal: "minimize" | "maximize";
  medians: number[];
}

export const StopRuleSchema: z.ZodType<StopRule> = z.object({
  metric: z.string(),
  goal: z.enum(["minimize", "maximize"]),
  medians: z.array(z.number()),
});

/** One server-sent event of a job: `seq` is its id (progress: the epoch, 1-based; then the final event). */
export interface JobEvent {
  seq: number;
  type: "progress" | "succeeded" | "failed" | "cancelled";
  /** The event's data, JSON text. */
  data: string;
}

/** A `JobEvent` as it comes back from where it was sent as JSON (the distributed event bus). */
export const JobEventSchema: z.ZodType<JobEvent> = z.object({
  seq: z.number().int().nonnegative(),
  type: z.enum(["progress", "succeeded", "failed", "cancelled"]),
  data: z.string(),
});

export interface JobRecord {
  seq: number;
  id: string;
  /** Who created it (see `ownerOf`); only they see it. */
  owner: string;
  status: JobStatus;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  seed: number;
  datasetId: string | null;
  /** 1 (runs first) … MAX_PRIORITY (schemas/jobs.ts); among equal priorities, jobs run in the order they came. */
  priority: number;
  /** As the client sent it (the column holds it scoped by owner). */
  idempotencyKey: string | null;
  requestHash: string | null;
  epochs: number;
  epochsDone: number;
  /** The latest epoch's values, as of the last checkpoint (the epoch counts default to the row's). */
  progress: Partial<JobProgress> | null;
  attempts: number;
  error: Problem | null;
  diverged: Divergence | null;
  /** The model a succeeded job stored (it may have been deleted since), else null. */
  modelId: string | null;
  /** The tuning job it is a trial of, else null. */
  tuningJobId: string | null;
  /** Its tuning job's median rule, else null. */
  stopRule: StopRule | null;
  /**
   * Set when a JSON column of the row no longer parses (`/problems/stored-job-invalid`, naming the
   * job and the column; that column reads as null): the job's runner fails the job with it.
   */
  invalid?: Problem;
}

/** Where a diverged job's training stopped (the `diverged` of its answer). */
export type Divergence = NonNullable<TrainResponse["diverged"]>;

/** A running job's state after `epochsDone` epochs: enough to continue it exactly. */
export interface Checkpoint {
  epochsDone: number;
  weights: NamedTensors;
  optimizerState: OptimizerState;
  /** History, telemetry and timings so far (JSON-able; see `ChunkSummary`). */
  summary: unknown;
}

export interface NewJob {
  id: string;
  /** Default "anonymous". */
  owner?: string;
  request: string;
  seed: number;
  datasetId: string | null;
  /** Default DEFAULT_PRIORITY (schemas/jobs.ts). */
  priority?: number;
  idempotencyKey: string | null;
  requestHash: string | null;
  epochs: number;
  createdAt: string;
  /** The tuning job it is a trial of (default none). */
  tuningJobId?: string | null;
  /** Its tuning job's median rule (default none). */
  stopRule?: StopRule | null;
}

/**
 * How a job ends. A worker that ran it gives its last epoch (`epochsDone`, `progress`); a cancel
 * gives none: the job ends where the locked row (or a later one of the events passed along) says.
 */
export interface JobEnd {
  status: "succeeded" | "failed" | "cancelled";
  finishedAt: string;
  /** The status the job must have now: "running" (a worker ending it), or either active one. */
  from: "running" | "active";
  epochsDone?: number;
  progress?: Partial<JobProgress> | null;
  error?: Problem;
  diverged?: Divergence;
  /** The training result, JSON text. */
  result?: string;
  /**
   * A succeeded job's trained model, stored in the same transaction as the end (so a succeeded
   * job always has one, a cancelled or failed one none; `finish` ignores it for another status).
   */
  model?: NewModel;
}

/** What `markRunning` did: marked it; held it back (its owner runs `maxPerOwner`); or found it ended. */
export type MarkRunning = "running" | "held" | "gone";

/**
 * Where jobs, their checkpoints and event logs are kept (`SqlJobStore` on SQLite or PostgreSQL).
 * Every method is one statement or one transaction, so a process killed at any point leaves a
 * consistent job, and every change of state is guarded by the status the job has in the store at
 * that moment: a job that ended (a cancel) takes no checkpoint, progress or second end.
 */
export interface JobStore {
  /**
   * Stores a new job (queued). A job naming a stored data set is inserted only while the owner's
   * data set exists (checked in the insert's transaction).
   * @throws NotFoundError naming `dataset.id` when the data set is gone; the driver's unique
   *   violation when the owner's idempotency key is taken (`isUniqueViolation`).
   */
  insert(job: NewJob): Promise<JobRecord>;
  /** Whether `err` (from `insert`) says the idempotency key is taken. */
  isUniqueViolation(err: unknown): boolean;
  /** The job; with `owner`, only when it belongs to them. */
  get(id: string, owner?: string): Promise<JobRecord | undefined>;
  /** The owner's job created with this idempotency key. */
  byIdempotencyKey(key: string, owner?: string): Promise<JobRecord | undefined>;
  /** The creating request body, JSON text, seed filled in. */
  request(id: string): Promise<string | undefined>;
  /** The result of a succeeded job, JSON text. */
  result(id: string): Promise<string | undefined>;
  /**
   * The owner's jobs, newest first, at most `limit`, optionally of one status, after the job `after`
   * or below the position `below` (a record's `seq`: valid once that job is deleted).
   * @returns `undefined` when `after` names no job of the owner.
   */
  list(
    limit: number,
    options?: { status?: JobStatus; after?: string; below?: number; owner?: string },
  ): Promise<{ items: JobRecord[]; hasMore: boolean } | undefined>;
  /** Jobs to take up again after a restart: running ones first (in the order they came), then queued by priority. */
  unfinished(): Promise<JobRecord[]>;
  /**
   * queued → running (or running again after a restart, on another worker): stamps the first
   * start, counts the attempt. With `maxPerOwner`, only while the owner has fewer other jobs
   * running (checked under a per-owner lock).
   */
  markRunning(id: string, at: string, maxPerOwner?: number): Promise<MarkRunning>;
  /** running → queued: after a restart, a running job that has to wait for a free slot. */
  markQueued(id: string): Promise<void>;
  /**
   * One transaction, only while the job is running: its new checkpoint (replacing the last), its
   * progress, and the events emitted since the last one.
   * @returns false when the job is no longer running (nothing written).
   */
  saveCheckpoint(
    id: string,
    checkpoint: Checkpoint,
    progress: Partial<JobProgress>,
    events: JobEvent[],
  ): Promise<boolean>;
  loadCheckpoint(id: string): Promise<Checkpoint | undefined>;
  /**
   * One transaction, only from `end.from`: the final status and outcome, the remaining events,
   * then the final event `final` makes from the record as ended; the checkpoint dropped; a
   * succeeded job's `end.model` stored; and a delivery of `job.<status>` for each of the owner's
   * webhooks subscribed to it (so an ended job never misses one, nor gets two).
   * @returns the final event, or undefined when the job was not in `end.from` (nothing written).
   */
  finish(
    id: string,
    end: JobEnd,
    events: JobEvent[],
    final: (ended: JobRecord) => JobEvent,
  ): Promise<JobEvent | undefined>;
  /** The job's stored events after `afterSeq`, in order; the first `limit` of them when given (a page). */
  events(id: string, afterSeq: number, limit?: number): Promise<JobEvent[]>;
  /** Deletes the jobs that finished before `cutoff` (ISO 8601), their events and idempotency keys with them. @returns how many. */
  deleteFinishedBefore(cutoff: string): Promise<number>;
  /** How many jobs are in each status. */
  countByStatus(): Promise<Record<JobStatus, number>>;
}
