import pg from "pg";
import { DEFAULT_PRIORITY, JOB_STATUSES } from "../../schemas/jobs.js";
import { ANONYMOUS } from "../auth.js";
import { unknownDataset } from "../store/dataset-store.js";
import {
  type Checkpoint,
  JOB_COLUMNS,
  type JobEnd,
  type JobEvent,
  type JobRecord,
  type JobRow,
  type JobStatus,
  jobRecord,
  type NewJob,
  scopedKey,
} from "../store/job-store.js";
import {
  decodeOptimizerState,
  decodeTensors,
  encodeOptimizerState,
  encodeTensors,
} from "../store/tensor-codec.js";
import { CONNECT_TIMEOUT_MS, redact } from "./connections.js";
import { inTransaction } from "./pg-transaction.js";

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
  // 2: stored data sets, shared by every API process and worker (as SQLite's `datasets`; x and y
  // hold float64 little-endian bytes), and the index DELETE /datasets/{id} counts unfinished jobs by.
  `
  CREATE TABLE datasets (
    seq          BIGSERIAL PRIMARY KEY,
    id           TEXT NOT NULL UNIQUE,
    owner        TEXT NOT NULL DEFAULT 'anonymous',
    name         TEXT,
    format       TEXT NOT NULL CHECK (format IN ('json', 'csv')),
    created_at   TEXT NOT NULL,
    samples      INTEGER NOT NULL,
    input_shape  TEXT NOT NULL,
    target_shape TEXT NOT NULL,
    classes      TEXT,
    columns      TEXT,
    x            BYTEA NOT NULL,
    y            BYTEA NOT NULL
  );
  CREATE INDEX datasets_by_owner ON datasets (owner, seq);
  CREATE INDEX jobs_by_dataset ON jobs (dataset_id) WHERE dataset_id IS NOT NULL;
  `,
  // 3: job priorities (lower runs sooner, as BullMQ's; the queue orders by it), and the index
  // MAX_JOBS_PER_CLIENT counts a client's running jobs by.
  `
  ALTER TABLE jobs ADD COLUMN priority INTEGER NOT NULL DEFAULT 100;
  CREATE INDEX jobs_running_by_owner ON jobs (owner) WHERE status = 'running';
  `,
];

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
    private readonly url: string,
    readonly schema = "public",
  ) {
    if (!/^[a-z_][a-z0-9_]*$/.test(schema)) throw new Error(`bad schema name ${schema}`);
    this.pool = new pg.Pool({
      connectionString: url,
      max: 5,
      options: `-c search_path=${schema}`,
      // A host that does not answer fails the query (and the start) instead of hanging it.
      connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
    });
    // An idle connection that breaks (PostgreSQL restarted) is dropped from the pool; the next
    // query opens a new one or fails with its own error. Unheard, this event would end the process.
    this.pool.on("error", () => {});
  }

  /** Creates the schema if needed and applies the migrations it has not seen (one transaction, under a lock). */
  async migrate(): Promise<void> {
    let c: pg.PoolClient;
    try {
      c = await this.pool.connect();
    } catch (err) {
      throw new Error(
        `cannot reach PostgreSQL at ${redact(this.url)} (DATABASE_URL): ${err instanceof Error ? err.message : err}`,
      );
    }
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

  /**
   * Stores a new job (queued). A job naming a stored data set is inserted only while the owner's
   * data set exists, under a FOR KEY SHARE lock on its row that holds off a concurrent
   * `PgDatasetStore.deleteUnlessUsed` until this job is committed (and so counted).
   * @throws NotFoundError naming `dataset.id` when the data set is gone (deleted a moment ago);
   *   pg's unique violation (23505) when the owner's idempotency key is already taken.
   */
  async insert(job: NewJob): Promise<JobRecord> {
    const owner = job.owner ?? ANONYMOUS;
    await this.transaction(async (c) => {
      if (job.datasetId !== null) {
        const { rowCount } = await c.query(
          "SELECT 1 FROM datasets WHERE id = $1 AND owner = $2 FOR KEY SHARE",
          [job.datasetId, owner],
        );
        if (rowCount === 0) throw unknownDataset(job.datasetId);
      }
      await c.query(
        `INSERT INTO jobs (id, owner, status, created_at, request, seed, dataset_id, idempotency_key, request_hash, epochs, priority)
       VALUES ($1, $2, 'queued', $3, $4, $5, $6, $7, $8, $9, $10)`,
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
        ],
      );
    });
    return (await this.get(job.id))!;
  }

  async get(id: string, owner?: string): Promise<JobRecord | undefined> {
    const { rows } = await this.pool.query<JobRow>(`SELECT ${JOB_COLUMNS} FROM jobs WHERE id = $1`, [id]);
    const row = rows[0];
    return row && (owner === undefined || row.owner === owner) ? jobRecord(row) : undefined;
  }

  async byIdempotencyKey(key: string, owner: string = ANONYMOUS): Promise<JobRecord | undefined> {
    const { rows } = await this.pool.query<JobRow>(
      `SELECT ${JOB_COLUMNS} FROM jobs WHERE idempotency_key = $1`,
      [scopedKey(owner, key)],
    );
    return rows[0] && jobRecord(rows[0]);
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
      ? await this.pool.query<JobRow>(
          `SELECT ${JOB_COLUMNS} FROM jobs WHERE owner = $1 AND seq < $2 AND status = $3 ORDER BY seq DESC LIMIT $4`,
          [owner, below, options.status, limit + 1],
        )
      : await this.pool.query<JobRow>(
          `SELECT ${JOB_COLUMNS} FROM jobs WHERE owner = $1 AND seq < $2 ORDER BY seq DESC LIMIT $3`,
          [owner, below, limit + 1],
        );
    return { items: rows.slice(0, limit).map(jobRecord), hasMore: rows.length > limit };
  }

  /** As `JobStore.deleteFinishedBefore`. */
  async deleteFinishedBefore(cutoff: string): Promise<number> {
    const { rowCount } = await this.pool.query(
      "DELETE FROM jobs WHERE status IN ('succeeded', 'failed', 'cancelled') AND finished_at < $1",
      [cutoff],
    );
    return rowCount ?? 0;
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

  /**
   * queued → running (or running again on another worker): stamps the first start, counts the
   * attempt. With `maxPerOwner`, only while the job's owner has fewer other jobs running (checked
   * and marked under a per-owner advisory lock, so workers racing for one owner's jobs take turns).
   * @returns false when the owner runs `maxPerOwner` jobs already (nothing written).
   */
  async markRunning(id: string, at: string, maxPerOwner?: number): Promise<boolean> {
    const mark = (c: pg.Pool | pg.PoolClient) =>
      c.query(
        `UPDATE jobs SET status = 'running', started_at = coalesce(started_at, $1), attempts = attempts + 1
         WHERE id = $2 AND status IN ('queued', 'running')`,
        [at, id],
      );
    if (maxPerOwner === undefined) {
      await mark(this.pool);
      return true;
    }
    return this.transaction(async (c) => {
      const { rows } = await c.query<{ owner: string }>("SELECT owner FROM jobs WHERE id = $1", [id]);
      const owner = rows[0]?.owner;
      if (owner === undefined) return true; // gone: nothing to mark, nothing to hold
      await c.query("SELECT pg_advisory_xact_lock(hashtext($1))", [`backprop-owner ${this.schema} ${owner}`]);
      const running = await c.query<{ n: string }>(
        "SELECT count(*) AS n FROM jobs WHERE owner = $1 AND status = 'running' AND id <> $2",
        [owner, id],
      );
      if (Number(running.rows[0]!.n) >= maxPerOwner) return false;
      await mark(c);
      return true;
    });
  }

  async saveCheckpoint(
    id: string,
    checkpoint: Checkpoint,
    progress: Record<string, unknown>,
    events: JobEvent[],
  ): Promise<void> {
    await this.transaction(async (c) => {
      // The job's row first, as `finish` (a cancel from an API process) locks it: the other order
      // deadlocks with a cancel's DELETE of this checkpoint.
      await c.query("UPDATE jobs SET epochs_done = $1, progress = $2 WHERE id = $3", [
        checkpoint.epochsDone,
        JSON.stringify(progress),
        id,
      ]);
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

  private transaction<T>(fn: (c: pg.PoolClient) => Promise<T>): Promise<T> {
    return inTransaction(this.pool, fn);
  }
}
