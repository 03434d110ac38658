import type { JobRecord, JobStatus } from "../job-store.js";

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

export const json = <T>(text: string | null): T | null => (text === null ? null : (JSON.parse(text) as T));

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
