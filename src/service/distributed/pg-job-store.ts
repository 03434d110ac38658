import pg from "pg";
import { JOB_STATUSES } from "../../schemas/jobs.js";
import { ANONYMOUS } from "../auth.js";
import type { Checkpoint, JobEnd, JobEvent, JobRecord, JobStatus, NewJob } from "../store/job-store.js";
import {
  decodeOptimizerState,
  decodeTensors,
  encodeOptimizerState,
  encodeTensors,
} from "../store/tensor-codec.js";

/**
 * PostgreSQL migrations of the distributed mode, applied in order (`PgJobStore.migrate`); entry i
 * takes the schema from version i to i + 1. The same tables as the SQLite ones (migrations.ts),
 * owner and per-owner idempotency keys included. Never edit one that has shipped: append.
 */
export const PG_MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE jobs (
    seq             BIGSERIAL PRIMARY KEY,
    id              TEXT NOT NULL UNIQUE,
    owner           TEXT NOT NULL DEFAULT 'anonymous',
    status          TEXT NOT NULL
                    CHECK (status IN ('queued', 'running', 'succeeded', 'failed', 'cancelled')),
    created_at      TEXT NOT NULL,
    started_at      TEXT,
    finished_at     TEXT,
    request         TEXT NOT NULL,
    seed            BIGINT NOT NULL,
    dataset_id      TEXT,
    idempotency_key TEXT UNIQUE,
    request_hash    TEXT,
    epochs          INTEGER NOT NULL,
    epochs_done     INTEGER NOT NULL DEFAULT 0,
    progress        TEXT,
    attempts        INTEGER NOT NULL DEFAULT 0,
    error           TEXT,
    diverged        TEXT,
    result          TEXT
  );
  CREATE INDEX jobs_by_status ON jobs (status, seq);
  CREATE INDEX jobs_by_owner ON jobs (owner, seq);
  CREATE TABLE checkpoints (
    job_id          TEXT PRIMARY KEY REFERENCES jobs (id) ON DELETE CASCADE,
    epochs_done     INTEGER NOT NULL,
    weights         BYTEA NOT NULL,
    optimizer_state BYTEA NOT NULL,
    summary         TEXT NOT NULL,
    created_at      TEXT NOT NULL
  );
  CREATE TABLE job_events (
    job_id TEXT NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    seq    INTEGER NOT NULL,
    type   TEXT NOT NULL,
    data   TEXT NOT NULL,
    PRIMARY KEY (job_id, seq)
  );
  `,
];

const COLUMNS =
  "seq, id, owner, status, created_at, started_at, finished_at, seed, dataset_id, idempotency_key, request_hash, " +
  "epochs, epochs_done, progress, attempts, error, diverged";

interface Row {
  seq: string;
  id: string;
  owner: string;
  status: JobStatus;
  created_at: string;
  started_at: string | null;
  finished_at: string | null;
  seed: string;
  dataset_id: string | null;
  idempotency_key: string | null;
  request_hash: string | null;
  epochs: number;
  epochs_done: number;
  progress: string | null;
  attempts: number;
  error: string | null;
  diverged: string | null;
}

const json = <T>(text: string | null): T | null => (text === null ? null : (JSON.parse(text) as T));

function record(row: Row): JobRecord {
  const key = row.idempotency_key;
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
    idempotencyKey: key === null ? null : key.slice(key.indexOf(" ") + 1),
    requestHash: row.request_hash,
    epochs: row.epochs,
    epochsDone: row.epochs_done,
    progress: json(row.progress),
    attempts: row.attempts,
    error: json(row.error),
    diverged: json(row.diverged),
  };
}

const UPSERT_EVENT =
  "INSERT INTO job_events (job_id, seq, type, data) VALUES ($1, $2, $3, $4) " +
  "ON CONFLICT (job_id, seq) DO UPDATE SET type = excluded.type, data = excluded.data";

/**
 * Jobs, their checkpoints and event logs in PostgreSQL, for API processes and workers on any
 * host: the async counterpart of `JobStore` (same records, same transactions). All tables live in
 * one schema (`search_path`), so several deployments or test runs can share a database.
 */
export class PgJobStore {
  readonly pool: pg.Pool;

  constructor(
    url: string,
    readonly schema = "public",
  ) {
    if (!/^[a-z_][a-z0-9_]*$/.test(schema)) throw new Error(`bad schema name ${schema}`);
    this.pool = new pg.Pool({ connectionString: url, max: 5, options: `-c search_path=${schema}` });
  }

  /** Creates the schema if needed and applies the migrations it has not seen (one transaction, under a lock). */
  async migrate(): Promise<void> {
    const c = await this.pool.connect();
    try {
      await c.query("BEGIN");
      await c.query("SELECT pg_advisory_xact_lock(hashtext($1))", [`backprop-migrate ${this.schema}`]);
      await c.query(`CREATE SCHEMA IF NOT EXISTS ${this.schema}`);
      await c.query("CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY)");
      const { rows } = await c.query<{ v: number | null }>("SELECT max(version) AS v FROM schema_migrations");
      const current = rows[0]?.v ?? 0;
      if (current > PG_MIGRATIONS.length)
        throw new Error(
          `the database has schema version ${current}; this build knows up to ${PG_MIGRATIONS.length}`,
        );
      for (let v = current; v < PG_MIGRATIONS.length; v++) {
        await c.query(PG_MIGRATIONS[v]!);
        await c.query("INSERT INTO schema_migrations (version) VALUES ($1)", [v + 1]);
      }
      await c.query("COMMIT");
    } catch (err) {
      await c.query("ROLLBACK");
      throw err;
    } finally {
      c.release();
    }
  }

  async insert(job: NewJob): Promise<JobRecord> {
    const owner = job.owner ?? ANONYMOUS;
    await this.pool.query(
      `INSERT INTO jobs (id, owner, status, created_at, request, seed, dataset_id, idempotency_key, request_hash, epochs)
       VALUES ($1, $2, 'queued', $3, $4, $5, $6, $7, $8, $9)`,
      [
        job.id,
        owner,
        job.createdAt,
        job.request,
        job.seed,
        job.datasetId,
        job.idempotencyKey === null ? null : `${owner} ${job.idempotencyKey}`,
        job.requestHash,
        job.epochs,
      ],
    );
    return (await this.get(job.id))!;
  }

  async get(id: string, owner?: string): Promise<JobRecord | undefined> {
    const { rows } = await this.pool.query<Row>(`SELECT ${COLUMNS} FROM jobs WHERE id = $1`, [id]);
    const row = rows[0];
    return row && (owner === undefined || row.owner === owner) ? record(row) : undefined;
  }

  async byIdempotencyKey(key: string, owner: string = ANONYMOUS): Promise<JobRecord | undefined> {
    const { rows } = await this.pool.query<Row>(`SELECT ${COLUMNS} FROM jobs WHERE idempotency_key = $1`, [
      `${owner} ${key}`,
    ]);
    return rows[0] && record(rows[0]);
  }

  /** As `JobStore.list`: `undefined` when `after` names no job of the owner. */
  async list(
    limit: number,
    options: { status?: JobStatus; after?: string; owner?: string } = {},
  ): Promise<{ items: JobRecord[]; hasMore: boolean } | undefined> {
    const owner = options.owner ?? ANONYMOUS;
    let below = Number.MAX_SAFE_INTEGER;
    if (options.after !== undefined) {
      const { rows } = await this.pool.query<{ seq: string }>(
        "SELECT seq FROM jobs WHERE id = $1 AND owner = $2",
        [options.after, owner],
      );
      if (!rows[0]) return undefined;
      below = Number(rows[0].seq);
    }
    const { rows } = options.status
      ? await this.pool.query<Row>(
          `SELECT ${COLUMNS} FROM jobs WHERE owner = $1 AND seq < $2 AND status = $3 ORDER BY seq DESC LIMIT $4`,
          [owner, below, options.status, limit + 1],
        )
      : await this.pool.query<Row>(
          `SELECT ${COLUMNS} FROM jobs WHERE owner = $1 AND seq < $2 ORDER BY seq DESC LIMIT $3`,
          [owner, below, limit + 1],
        );
    return { items: rows.slice(0, limit).map(record), hasMore: rows.length > limit };
  }

  async countByStatus(): Promise<Record<JobStatus, number>> {
    const counts = Object.fromEntries(JOB_STATUSES.map((s) => [s, 0])) as Record<JobStatus, number>;
    const { rows } = await this.pool.query<{ status: JobStatus; n: string }>(
      "SELECT status, count(*) AS n FROM jobs GROUP BY status",
    );
    for (const r of rows) counts[r.status] = Number(r.n);
    return counts;
  }

  async request(id: string): Promise<string | undefined> {
    const { rows } = await this.pool.query<{ request: string }>("SELECT request FROM jobs WHERE id = $1", [
      id,
    ]);
    return rows[0]?.request;
  }

  async result(id: string): Promise<string | undefined> {
    const { rows } = await this.pool.query<{ result: string | null }>(
      "SELECT result FROM jobs WHERE id = $1",
      [id],
    );
    return rows[0]?.result ?? undefined;
  }

  async markRunning(id: string, at: string): Promise<void> {
    await this.pool.query(
      `UPDATE jobs SET status = 'running', started_at = coalesce(started_at, $1), attempts = attempts + 1
       WHERE id = $2 AND status IN ('queued', 'running')`,
      [at, id],
    );
  }

  async saveCheckpoint(
    id: string,
    checkpoint: Checkpoint,
    progress: Record<string, unknown>,
    events: JobEvent[],
  ): Promise<void> {
    await this.transaction(async (c) => {
      await c.query(
        `INSERT INTO checkpoints (job_id, epochs_done, weights, optimizer_state, summary, created_at)
         VALUES ($1, $2, $3, $4, $5, $6)
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
      await c.query("UPDATE jobs SET epochs_done = $1, progress = $2 WHERE id = $3", [
        checkpoint.epochsDone,
        JSON.stringify(progress),
        id,
      ]);
      for (const e of events) await c.query(UPSERT_EVENT, [id, e.seq, e.type, e.data]);
    });
  }

  async loadCheckpoint(id: string): Promise<Checkpoint | undefined> {
    const { rows } = await this.pool.query<{
      epochs_done: number;
      weights: Buffer;
      optimizer_state: Buffer;
      summary: string;
    }>("SELECT epochs_done, weights, optimizer_state, summary FROM checkpoints WHERE job_id = $1", [id]);
    const row = rows[0];
    return (
      row && {
        epochsDone: row.epochs_done,
        weights: decodeTensors(row.weights).tensors,
        optimizerState: decodeOptimizerState(row.optimizer_state),
        summary: JSON.parse(row.summary),
      }
    );
  }

  /** As `JobStore.finish`: one transaction; false when the job had already finished. */
  async finish(id: string, end: JobEnd, events: JobEvent[]): Promise<boolean> {
    return this.transaction(async (c) => {
      const { rowCount } = await c.query(
        `UPDATE jobs SET status = $1, finished_at = $2, epochs_done = $3, progress = $4, error = $5, diverged = $6, result = $7
         WHERE id = $8 AND status IN ('queued', 'running')`,
        [
          end.status,
          end.finishedAt,
          end.epochsDone,
          end.progress && JSON.stringify(end.progress),
          end.error ? JSON.stringify(end.error) : null,
          end.diverged ? JSON.stringify(end.diverged) : null,
          end.result ?? null,
          id,
        ],
      );
      if (rowCount === 0) return false;
      await c.query("DELETE FROM checkpoints WHERE job_id = $1", [id]);
      for (const e of events) await c.query(UPSERT_EVENT, [id, e.seq, e.type, e.data]);
      return true;
    });
  }

  async events(id: string, afterSeq: number): Promise<JobEvent[]> {
    const { rows } = await this.pool.query<JobEvent>(
      "SELECT seq, type, data FROM job_events WHERE job_id = $1 AND seq > $2 ORDER BY seq",
      [id, afterSeq],
    );
    return rows;
  }

  /** Drops the schema and everything in it (test clean-up). */
  async dropSchema(): Promise<void> {
    await this.pool.query(`DROP SCHEMA IF EXISTS ${this.schema} CASCADE`);
  }

  async close(): Promise<void> {
    await this.pool.end();
  }

  private async transaction<T>(fn: (c: pg.PoolClient) => Promise<T>): Promise<T> {
    const c = await this.pool.connect();
    try {
      await c.query("BEGIN");
      const out = await fn(c);
      await c.query("COMMIT");
      return out;
    } catch (err) {
      await c.query("ROLLBACK").catch(() => {});
      throw err;
    } finally {
      c.release();
    }
  }
}
