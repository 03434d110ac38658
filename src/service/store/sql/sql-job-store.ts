import { z } from "zod";
import { DEFAULT_PRIORITY, JOB_STATUSES } from "../../../schemas/jobs.js";
import { ANONYMOUS } from "../../auth.js";
import { jobEventPayload } from "../../webhooks/payload.js";
import { unknownDataset } from "../dataset-store.js";
import type {
  Checkpoint,
  JobEnd,
  JobEvent,
  JobRecord,
  JobStatus,
  JobStore,
  MarkRunning,
  NewJob,
} from "../job-store.js";
import { readStored, storedInvalid } from "../stored-json.js";
import { decodeOptimizerState, decodeTensors, encodeOptimizerState, encodeTensors } from "../tensor-codec.js";
import { first, pageNewestFirst, type SqlClient, type SqlDriver } from "./driver.js";
import { COLUMN_SCHEMAS, JOB_COLUMNS, type JobRow, jobRecord, scopedKey } from "./job-rows.js";
import { insertModel } from "./sql-model-store.js";
import { enqueueDeliveries } from "./sql-webhook-store.js";

const UPSERT_EVENT =
  "INSERT INTO job_events (job_id, seq, type, data) VALUES (?, ?, ?, ?) " +
  "ON CONFLICT (job_id, seq) DO UPDATE SET type = excluded.type, data = excluded.data";

const ACTIVE = "status IN ('queued', 'running')";

/** A checkpoint blob decoded by `decode`. @throws the stored-checkpoint-invalid problem naming the column. */
function decoded<T>(job: string, column: string, decode: () => T): T {
  try {
    return decode();
  } catch (err) {
    throw storedInvalid(
      { kind: "checkpoint", id: job, column },
      `does not decode (${err instanceof Error ? err.message : String(err)})`,
    );
  }
}

/**
 * The latest of `events` whose data reads back through the progress schema, with that progress;
 * an event that does not (not ours, or cut short) is passed over.
 */
function latestProgress(
  events: JobEvent[],
): { seq: number; progress: z.output<typeof COLUMN_SCHEMAS.progress> } | undefined {
  for (let i = events.length - 1; i >= 0; i--) {
    const { seq, data } = events[i]!;
    try {
      const parsed = COLUMN_SCHEMAS.progress.safeParse(JSON.parse(data));
      if (parsed.success) return { seq, progress: parsed.data };
    } catch {
      // not JSON: passed over
    }
  }
  return undefined;
}

/**
 * `JobStore` in SQL, one text for SQLite and PostgreSQL (`SqlDriver`; the dialects differ only
 * in row locks and advisory locks). Every change of state is an `UPDATE … WHERE status …` whose
 * row count says whether it applied; it takes the job's row lock first in its transaction, so
 * a checkpoint, an end and a cancel of one job happen one after the other, each seeing the last.
 */
export class SqlJobStore implements JobStore {
  constructor(private readonly db: SqlDriver) {}

  async insert(job: NewJob): Promise<JobRecord> {
    const owner = job.owner ?? ANONYMOUS;
    await this.db.transaction(async (tx) => {
      if (job.datasetId !== null) {
        // FOR KEY SHARE (PostgreSQL) holds off a concurrent `deleteUnlessUsed` until this job is committed.
        const found = await tx.all(
          `SELECT 1 FROM datasets WHERE id = ? AND owner = ?${this.db.dialect.keyShare}`,
          [job.datasetId, owner],
        );
        if (found.length === 0) throw unknownDataset(job.datasetId);
      }
      await tx.run(
        `INSERT INTO jobs (id, owner, status, created_at, request, seed, dataset_id, idempotency_key, request_hash, epochs, priority, tuning_job_id, stop_rule)
         VALUES (?, ?, 'queued', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        [
          job.id,
          owner,
          job.createdAt,
          job.request,
          job.seed,
          job.datasetId,
          job.idempotencyKey === null ? null : scopedKey(owner, job.idempotencyKey),
          job.requestHash,
          job.epochs,
          job.priority ?? DEFAULT_PRIORITY,
          job.tuningJobId ?? null,
          job.stopRule ? JSON.stringify(job.stopRule) : null,
        ],
      );
    });
    return (await this.get(job.id))!;
  }

  isUniqueViolation(err: unknown): boolean {
    return this.db.isUniqueViolation(err);
  }

  async get(id: string, owner?: string): Promise<JobRecord | undefined> {
    const row = first(await this.db.all<JobRow>(`SELECT ${JOB_COLUMNS} FROM jobs WHERE id = ?`, [id]));
    return row && (owner === undefined || row.owner === owner) ? jobRecord(row) : undefined;
  }

  async byIdempotencyKey(key: string, owner: string = ANONYMOUS): Promise<JobRecord | undefined> {
    const rows = await this.db.all<JobRow>(`SELECT ${JOB_COLUMNS} FROM jobs WHERE idempotency_key = ?`, [
      scopedKey(owner, key),
    ]);
    return rows[0] && jobRecord(rows[0]);
  }

  async request(id: string): Promise<string | undefined> {
    return first(await this.db.all<{ request: string }>("SELECT request FROM jobs WHERE id = ?", [id]))
      ?.request;
  }

  async result(id: string): Promise<string | undefined> {
    const row = first(
      await this.db.all<{ result: string | null }>("SELECT result FROM jobs WHERE id = ?", [id]),
    );
    return row?.result ?? undefined;
  }

  async list(
    limit: number,
    options: { status?: JobStatus; after?: string; below?: number; owner?: string } = {},
  ): Promise<{ items: JobRecord[]; hasMore: boolean } | undefined> {
    const page = await pageNewestFirst<JobRow>(this.db, {
      table: "jobs",
      columns: JOB_COLUMNS,
      owner: options.owner ?? ANONYMOUS,
      limit,
      after: options.after,
      below: options.below,
      ...(options.status ? { filter: { sql: "status = ?", param: options.status } } : {}),
    });
    return page && { items: page.rows.map(jobRecord), hasMore: page.hasMore };
  }

  async unfinished(): Promise<JobRecord[]> {
    const rows = await this.db.all<JobRow>(
      `SELECT ${JOB_COLUMNS} FROM jobs WHERE ${ACTIVE}
       ORDER BY CASE WHEN status = 'running' THEN 0 ELSE 1 END, CASE WHEN status = 'running' THEN 0 ELSE priority END, seq`,
    );
    return rows.map(jobRecord);
  }

  async markRunning(id: string, at: string, maxPerOwner?: number): Promise<MarkRunning> {
    const mark = async (c: SqlClient): Promise<MarkRunning> =>
      (await c.run(
        `UPDATE jobs SET status = 'running', started_at = coalesce(started_at, ?), attempts = attempts + 1
         WHERE id = ? AND ${ACTIVE}`,
        [at, id],
      )) > 0
        ? "running"
        : "gone";
    if (maxPerOwner === undefined) return mark(this.db);
    return this.db.transaction(async (tx) => {
      const row = first(await tx.all<{ owner: string }>("SELECT owner FROM jobs WHERE id = ?", [id]));
      if (row === undefined) return "gone";
      // Workers racing for one owner's jobs take turns.
      await tx.lock(`owner ${row.owner}`);
      const [running] = await tx.all<{ n: number | string }>(
        "SELECT count(*) AS n FROM jobs WHERE owner = ? AND status = 'running' AND id <> ?",
        [row.owner, id],
      );
      if (Number(running!.n) >= maxPerOwner) return "held";
      return mark(tx);
    });
  }

  async markQueued(id: string): Promise<void> {
    await this.db.run("UPDATE jobs SET status = 'queued' WHERE id = ? AND status = 'running'", [id]);
  }

  saveCheckpoint(
    id: string,
    checkpoint: Checkpoint,
    progress: Record<string, unknown>,
    events: JobEvent[],
  ): Promise<boolean> {
    return this.db.transaction(async (tx) => {
      // The job's row first, guarded by its status: it locks the row as a cancel's `finish` does,
      // so a cancel committed first leaves nothing to update (and no checkpoint comes back), and
      // a cancel coming second waits, then drops this checkpoint.
      const changed = await tx.run(
        "UPDATE jobs SET epochs_done = ?, progress = ? WHERE id = ? AND status = 'running'",
        [checkpoint.epochsDone, JSON.stringify(progress), id],
      );
      if (changed === 0) return false;
      await tx.run(
        `INSERT INTO checkpoints (job_id, epochs_done, weights, optimizer_state, summary, created_at)
         VALUES (?, ?, ?, ?, ?, ?)
         ON CONFLICT (job_id) DO UPDATE SET epochs_done = excluded.epochs_done, weights = excluded.weights,
           optimizer_state = excluded.optimizer_state, summary = excluded.summary, created_at = excluded.created_at`,
        [
          id,
          checkpoint.epochsDone,
          encodeTensors(checkpoint.weights),
          encodeOptimizerState(checkpoint.optimizerState),
          JSON.stringify(checkpoint.summary),
          new Date().toISOString(),
        ],
      );
      for (const e of events) await tx.run(UPSERT_EVENT, [id, e.seq, e.type, e.data]);
      return true;
    });
  }

  /**
   * @throws ProblemError (422, `/problems/stored-checkpoint-invalid`) naming the column when the
   *   weights or optimizer state do not decode, or the summary is not JSON (its shape is the
   *   runner's to check: `readSummary`).
   */
  async loadCheckpoint(id: string): Promise<Checkpoint | undefined> {
    const row = first(
      await this.db.all<{ epochs_done: number; weights: Buffer; optimizer_state: Buffer; summary: string }>(
        "SELECT epochs_done, weights, optimizer_state, summary FROM checkpoints WHERE job_id = ?",
        [id],
      ),
    );
    return (
      row && {
        epochsDone: row.epochs_done,
        weights: decoded(id, "weights", () => decodeTensors(row.weights).tensors),
        optimizerState: decoded(id, "optimizer_state", () => decodeOptimizerState(row.optimizer_state)),
        summary: readStored(z.unknown(), row.summary, { kind: "checkpoint", id, column: "summary" }),
      }
    );
  }

  finish(
    id: string,
    end: JobEnd,
    events: JobEvent[],
    final: (ended: JobRecord) => JobEvent,
  ): Promise<JobEvent | undefined> {
    return this.db.transaction(async (tx) => {
      const guard = end.from === "running" ? "status = 'running'" : ACTIVE;
      const model = end.status === "succeeded" ? end.model : undefined;
      const [row] = await tx.all<JobRow>(
        `UPDATE jobs SET status = ?, finished_at = ?, error = ?, diverged = ?, result = ?, model_id = ?
         WHERE id = ? AND ${guard} RETURNING ${JOB_COLUMNS}`,
        [
          end.status,
          end.finishedAt,
          end.error ? JSON.stringify(end.error) : null,
          end.diverged ? JSON.stringify(end.diverged) : null,
          end.result ?? null,
          model?.id ?? null,
          id,
        ],
      );
      if (!row) return undefined;
      const ended = jobRecord(row);
      // Where the job ended: as its worker says, else as the row it locked says, or the latest of
      // the unstored events passed along (a cancel: those emitted since the last checkpoint).
      if (end.epochsDone !== undefined) {
        ended.epochsDone = end.epochsDone;
        ended.progress = end.progress ?? null;
      } else {
        // The events passed along came through the event bus: the latest that reads as progress counts.
        const last = latestProgress(events);
        if (last && last.seq > ended.epochsDone) {
          ended.epochsDone = last.seq;
          ended.progress = last.progress;
        }
      }
      const kept = events.filter((e) => e.seq <= ended.epochsDone);
      await tx.run("UPDATE jobs SET epochs_done = ?, progress = ? WHERE id = ?", [
        ended.epochsDone,
        ended.progress && JSON.stringify(ended.progress),
        id,
      ]);
      await tx.run("DELETE FROM checkpoints WHERE job_id = ?", [id]);
      if (model) await insertModel(tx, model);
      const event = final(ended);
      for (const e of [...kept, event]) await tx.run(UPSERT_EVENT, [id, e.seq, e.type, e.data]);
      // The webhooks' deliveries of this end, in its transaction: an ended job always has them.
      await enqueueDeliveries(tx, ended, `job.${end.status}`, () => jobEventPayload(ended));
      return event;
    });
  }

  events(id: string, afterSeq: number, limit?: number): Promise<JobEvent[]> {
    const sql = "SELECT seq, type, data FROM job_events WHERE job_id = ? AND seq > ? ORDER BY seq";
    return limit === undefined
      ? this.db.all<JobEvent>(sql, [id, afterSeq])
      : this.db.all<JobEvent>(`${sql} LIMIT ?`, [id, afterSeq, limit]);
  }

  deleteFinishedBefore(cutoff: string): Promise<number> {
    return this.db.run(
      "DELETE FROM jobs WHERE status IN ('succeeded', 'failed', 'cancelled') AND finished_at < ?",
      [cutoff],
    );
  }

  async countByStatus(): Promise<Record<JobStatus, number>> {
    const counts = Object.fromEntries(JOB_STATUSES.map((s) => [s, 0])) as Record<JobStatus, number>;
    const rows = await this.db.all<{ status: JobStatus; n: number | string }>(
      "SELECT status, count(*) AS n FROM jobs GROUP BY status",
    );
    for (const r of rows) counts[r.status] = Number(r.n);
    return counts;
  }
}
