import type { NamedTensors, OptimizerState } from "../../engine/index.js";
import { DEFAULT_PRIORITY, JOB_STATUSES } from "../../schemas/jobs.js";
import { ANONYMOUS } from "../auth.js";
import type { Db } from "./database.js";
import { decodeOptimizerState, decodeTensors, encodeOptimizerState, encodeTensors } from "./tensor-codec.js";

export type JobStatus = (typeof JOB_STATUSES)[number];
/** Statuses a job leaves again; the others are final. */
export const ACTIVE_STATUSES: readonly JobStatus[] = ["queued", "running"];

/** One server-sent event of a job: `seq` is its id (progress: the epoch, 1-based; then the final event). */
export interface JobEvent {
  seq: number;
  type: "progress" | "succeeded" | "failed" | "cancelled";
  /** The event's data, JSON text. */
  data: string;
}

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
  /** The latest epoch's values (JSON object), as of the last checkpoint. */
  progress: Record<string, unknown> | null;
  attempts: number;
  error: Record<string, unknown> | null;
  diverged: Record<string, unknown> | null;
}

/** A running job's state after `epochsDone` epochs: enough to continue it exactly. */
export interface Checkpoint {
  epochsDone: number;
  weights: NamedTensors;
  optimizerState: OptimizerState;
  /** History, telemetry and timings so far (JSON-able; see `ChunkSummary`). */
  summary: unknown;
}

/**
 * A `jobs` row as both stores read it (SQLite, PostgreSQL: the same columns). PostgreSQL's
 * BIGINT columns (`seq`, `seed`) arrive as text, hence `number | string`.
 */
export interface JobRow {
  seq: number | string;
  id: string;
  owner: string;
  status: JobStatus;
  created_at: string;
  started_at: string | null;
  finished_at: string | null;
  seed: number | string;
  dataset_id: string | null;
  priority: number;
  idempotency_key: string | null;
  request_hash: string | null;
  epochs: number;
  epochs_done: number;
  progress: string | null;
  attempts: number;
  error: string | null;
  diverged: string | null;
}

/** The columns `jobRecord` reads, in `SELECT` order. */
export const JOB_COLUMNS =
  "seq, id, owner, status, created_at, started_at, finished_at, seed, dataset_id, priority, idempotency_key, request_hash, " +
  "epochs, epochs_done, progress, attempts, error, diverged";

const json = <T>(text: string | null): T | null => (text === null ? null : (JSON.parse(text) as T));

/** An idempotency key as stored: unique per owner (migration 2). */
export const scopedKey = (owner: string, key: string) => `${owner} ${key}`;
const unscopedKey = (stored: string | null) =>
  stored === null ? null : stored.slice(stored.indexOf(" ") + 1);

/** A job's record from its row (JSON columns parsed, the idempotency key without its owner scope). */
export function jobRecord(row: JobRow): JobRecord {
  return {
    seq: Number(row.seq),
    id: row.id,
    owner: row.owner,
    status: row.status,
    createdAt: row.created_at,
    startedAt: row.started_at,
    finishedAt: row.finished_at,
    seed: Number(row.seed),
    datasetId: row.dataset_id,
    priority: row.priority,
    idempotencyKey: unscopedKey(row.idempotency_key),
    requestHash: row.request_hash,
    epochs: row.epochs,
    epochsDone: row.epochs_done,
    progress: json(row.progress),
    attempts: row.attempts,
    error: json(row.error),
    diverged: json(row.diverged),
  };
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
}

export interface JobEnd {
  status: "succeeded" | "failed" | "cancelled";
  finishedAt: string;
  epochsDone: number;
  progress: Record<string, unknown> | null;
  error?: Record<string, unknown>;
  diverged?: Record<string, unknown>;
  /** The training result, JSON text. */
  result?: string;
}

/**
 * Jobs, their checkpoints and event logs in SQLite. Every method is one statement or one
 * transaction, so a process killed at any point leaves a consistent job.
 */
export class JobStore {
  private readonly insertEvent;

  constructor(private readonly db: Db) {
    this.insertEvent = db.prepare(
      "INSERT OR REPLACE INTO job_events (job_id, seq, type, data) VALUES (?, ?, ?, ?)",
    );
  }

  insert(job: NewJob): JobRecord {
    this.db
      .prepare(
        `INSERT INTO jobs (id, owner, status, created_at, request, seed, dataset_id, priority, idempotency_key, request_hash, epochs)
         VALUES (?, ?, 'queued', ?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(
        job.id,
        job.owner ?? ANONYMOUS,
        job.createdAt,
        job.request,
        job.seed,
        job.datasetId,
        job.priority ?? DEFAULT_PRIORITY,
        job.idempotencyKey === null ? null : scopedKey(job.owner ?? ANONYMOUS, job.idempotencyKey),
        job.requestHash,
        job.epochs,
      );
    return this.get(job.id)!;
  }

  /** The job; with `owner`, only when it belongs to them. */
  get(id: string, owner?: string): JobRecord | undefined {
    const row = this.db.prepare(`SELECT ${JOB_COLUMNS} FROM jobs WHERE id = ?`).get(id) as JobRow | undefined;
    return row && (owner === undefined || row.owner === owner) ? jobRecord(row) : undefined;
  }

  /** The owner's job created with this idempotency key. */
  byIdempotencyKey(key: string, owner: string = ANONYMOUS): JobRecord | undefined {
    const row = this.db
      .prepare(`SELECT ${JOB_COLUMNS} FROM jobs WHERE idempotency_key = ?`)
      .get(scopedKey(owner, key)) as JobRow | undefined;
    return row && jobRecord(row);
  }

  /** The creating request body, JSON text, seed filled in. */
  request(id: string): string | undefined {
    return this.db.prepare("SELECT request FROM jobs WHERE id = ?").pluck().get(id) as string | undefined;
  }

  /** The result of a succeeded job, JSON text. */
  result(id: string): string | undefined {
    return (
      (this.db.prepare("SELECT result FROM jobs WHERE id = ?").pluck().get(id) as string | null) ?? undefined
    );
  }

  /**
   * The owner's jobs, newest first, at most `limit`, optionally of one status, after the job `after`.
   * @returns `undefined` when `after` names no job of the owner.
   */
  list(
    limit: number,
    options: { status?: JobStatus; after?: string; owner?: string } = {},
  ): { items: JobRecord[]; hasMore: boolean } | undefined {
    const owner = options.owner ?? ANONYMOUS;
    let below = Number.MAX_SAFE_INTEGER;
    if (options.after !== undefined) {
      const seq = this.db
        .prepare("SELECT seq FROM jobs WHERE id = ? AND owner = ?")
        .pluck()
        .get(options.after, owner) as number | undefined;
      if (seq === undefined) return undefined;
      below = seq;
    }
    const rows = (
      options.status
        ? this.db
            .prepare(
              `SELECT ${JOB_COLUMNS} FROM jobs WHERE owner = ? AND seq < ? AND status = ? ORDER BY seq DESC LIMIT ?`,
            )
            .all(owner, below, options.status, limit + 1)
        : this.db
            .prepare(`SELECT ${JOB_COLUMNS} FROM jobs WHERE owner = ? AND seq < ? ORDER BY seq DESC LIMIT ?`)
            .all(owner, below, limit + 1)
    ) as JobRow[];
    return { items: rows.slice(0, limit).map(jobRecord), hasMore: rows.length > limit };
  }

  /**
   * Jobs to take up again after a restart: those that were running (in the order they came),
   * then the queued ones by priority, and in the order they came among equal priorities.
   */
  unfinished(): JobRecord[] {
    const rows = this.db
      .prepare(
        `SELECT ${JOB_COLUMNS} FROM jobs WHERE status IN ('queued', 'running')
         ORDER BY status = 'running' DESC, CASE WHEN status = 'running' THEN 0 ELSE priority END, seq`,
      )
      .all() as JobRow[];
    return rows.map(jobRecord);
  }

  /** queued → running (or running again after a restart): stamps the first start, counts the attempt. */
  markRunning(id: string, at: string): void {
    this.db
      .prepare(
        `UPDATE jobs SET status = 'running', started_at = coalesce(started_at, ?), attempts = attempts + 1
         WHERE id = ? AND status IN ('queued', 'running')`,
      )
      .run(at, id);
  }

  /** running → queued: after a restart, a running job that has to wait for a free slot. */
  markQueued(id: string): void {
    this.db.prepare("UPDATE jobs SET status = 'queued' WHERE id = ? AND status = 'running'").run(id);
  }

  /**
   * One transaction: the job's new checkpoint (replacing the last), its progress, and the events
   * emitted since the last one.
   */
  saveCheckpoint(
    id: string,
    checkpoint: Checkpoint,
    progress: Record<string, unknown>,
    events: JobEvent[],
  ): void {
    this.db.transaction(() => {
      this.db
        .prepare(
          `INSERT OR REPLACE INTO checkpoints (job_id, epochs_done, weights, optimizer_state, summary, created_at)
           VALUES (?, ?, ?, ?, ?, ?)`,
        )
        .run(
          id,
          checkpoint.epochsDone,
          encodeTensors(checkpoint.weights),
          encodeOptimizerState(checkpoint.optimizerState),
          JSON.stringify(checkpoint.summary),
          new Date().toISOString(),
        );
      this.db
        .prepare("UPDATE jobs SET epochs_done = ?, progress = ? WHERE id = ?")
        .run(checkpoint.epochsDone, JSON.stringify(progress), id);
      for (const e of events) this.insertEvent.run(id, e.seq, e.type, e.data);
    })();
  }

  loadCheckpoint(id: string): Checkpoint | undefined {
    const row = this.db
      .prepare("SELECT epochs_done, weights, optimizer_state, summary FROM checkpoints WHERE job_id = ?")
      .get(id) as
      | { epochs_done: number; weights: Buffer; optimizer_state: Buffer; summary: string }
      | undefined;
    return (
      row && {
        epochsDone: row.epochs_done,
        weights: decodeTensors(row.weights).tensors,
        optimizerState: decodeOptimizerState(row.optimizer_state),
        summary: JSON.parse(row.summary),
      }
    );
  }

  /**
   * One transaction: the job's final status and outcome, its remaining events (the final one
   * last), and its checkpoint dropped. Only an unfinished job can finish.
   * @returns false when the job had already finished (nothing written).
   */
  finish(id: string, end: JobEnd, events: JobEvent[]): boolean {
    return this.db.transaction(() => {
      const changed = this.db
        .prepare(
          `UPDATE jobs SET status = ?, finished_at = ?, epochs_done = ?, progress = ?, error = ?, diverged = ?, result = ?
           WHERE id = ? AND status IN ('queued', 'running')`,
        )
        .run(
          end.status,
          end.finishedAt,
          end.epochsDone,
          end.progress && JSON.stringify(end.progress),
          end.error ? JSON.stringify(end.error) : null,
          end.diverged ? JSON.stringify(end.diverged) : null,
          end.result ?? null,
          id,
        ).changes;
      if (changed === 0) return false;
      this.db.prepare("DELETE FROM checkpoints WHERE job_id = ?").run(id);
      for (const e of events) this.insertEvent.run(id, e.seq, e.type, e.data);
      return true;
    })();
  }

  /** The job's stored events after `afterSeq`, in order. */
  events(id: string, afterSeq: number): JobEvent[] {
    return this.db
      .prepare("SELECT seq, type, data FROM job_events WHERE job_id = ? AND seq > ? ORDER BY seq")
      .all(id, afterSeq) as JobEvent[];
  }

  /**
   * Deletes the jobs that finished before `cutoff` (ISO 8601), their events and idempotency keys
   * with them (checkpoints are gone already). @returns how many.
   */
  deleteFinishedBefore(cutoff: string): number {
    return this.db
      .prepare("DELETE FROM jobs WHERE status IN ('succeeded', 'failed', 'cancelled') AND finished_at < ?")
      .run(cutoff).changes;
  }

  /** How many jobs are in each status. */
  countByStatus(): Record<JobStatus, number> {
    const counts = Object.fromEntries(JOB_STATUSES.map((s) => [s, 0])) as Record<JobStatus, number>;
    const rows = this.db.prepare("SELECT status, count(*) AS n FROM jobs GROUP BY status").all() as {
      status: JobStatus;
      n: number;
    }[];
    for (const r of rows) counts[r.status] = r.n;
    return counts;
  }
}
