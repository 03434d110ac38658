import type { z } from "zod";
import { JobProgressSchema } from "../../../schemas/jobs.js";
import { ProblemSchema } from "../../../schemas/problem.js";
import { DivergenceSchema } from "../../../schemas/responses.js";
import { ProblemError } from "../../errors.js";
import { type JobRecord, type JobStatus, StopRuleSchema } from "../job-store.js";
import { readStored } from "../stored-json.js";

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
  model_id: string | null;
  tuning_job_id: string | null;
  stop_rule: string | null;
}

/** The columns `jobRecord` reads, in `SELECT` order. */
export const JOB_COLUMNS =
  "seq, id, owner, status, created_at, started_at, finished_at, seed, dataset_id, priority, idempotency_key, request_hash, " +
  "epochs, epochs_done, progress, attempts, error, diverged, model_id, tuning_job_id, stop_rule";

/**
 * The schemas a job's JSON columns are read back through. `progress` may leave out the epoch
 * counts: the row's `epochs_done` and `epochs` stand in for them (`storedProgress`).
 */
export const COLUMN_SCHEMAS = {
  progress: JobProgressSchema.partial(),
  error: ProblemSchema,
  diverged: DivergenceSchema,
  stop_rule: StopRuleSchema,
};

/** An idempotency key as stored: unique per owner (migration 2). */
export const scopedKey = (owner: string, key: string) => `${owner} ${key}`;
const unscopedKey = (stored: string | null) =>
  stored === null ? null : stored.slice(stored.indexOf(" ") + 1);

/**
 * A job's record from its row (JSON columns read back through their schemas, the idempotency key
 * without its owner scope). Never throws for a JSON column that no longer parses (edited, or
 * written by another version): that column reads as null and `invalid` holds the problem naming
 * the job and the column (the first such column), so a GET or a list still answers and the job's
 * runner fails it with that problem.
 */
export function jobRecord(row: JobRow): JobRecord {
  let invalid: JobRecord["invalid"];
  const column = <S extends z.ZodType>(schema: S, name: keyof typeof COLUMN_SCHEMAS): z.output<S> | null => {
    const text = row[name];
    if (text === null) return null;
    try {
      return readStored(schema, text, { kind: "job", id: row.id, column: name });
    } catch (err) {
      if (!(err instanceof ProblemError)) throw err;
      invalid ??= { type: err.type, title: err.title, status: err.status, detail: err.message };
      return null;
    }
  };
  const progress = column(COLUMN_SCHEMAS.progress, "progress");
  const error = column(COLUMN_SCHEMAS.error, "error");
  const diverged = column(COLUMN_SCHEMAS.diverged, "diverged");
  const stopRule = column(COLUMN_SCHEMAS.stop_rule, "stop_rule");
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
    progress,
    attempts: row.attempts,
    error,
    diverged,
    modelId: row.model_id,
    tuningJobId: row.tuning_job_id ?? null,
    stopRule: stopRule ?? null,
    ...(invalid ? { invalid } : {}),
  };
}
