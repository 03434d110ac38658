import pg from "pg";
import { CONNECT_TIMEOUT_MS, redact } from "../../distributed/connections.js";
import type { Dialect, SqlClient, SqlDriver } from "../sql/driver.js";
import { migrations } from "../sql/migrations.js";
import { inTransaction } from "./transaction.js";

export const POSTGRES: Dialect = { name: "postgres", keyShare: " FOR KEY SHARE", forUpdate: " FOR UPDATE" };

/** The migrations as PostgreSQL runs them (`migrations`). */
export const PG_MIGRATIONS: readonly string[] = migrations(POSTGRES);

/** `?` placeholders as PostgreSQL's `$1, $2, …` (the stores' SQL has no other `?`). */
function numbered(sql: string): string {
  let n = 0;
  return sql.replace(/\?/g, () => `$${++n}`);
}

/** A `SqlClient` over a pool or one of its connections. */
function client(on: pg.Pool | pg.PoolClient, schema: string): SqlClient {
  return {
    all: async <T>(sql: string, params: readonly unknown[] = []) =>
      (await on.query(numbered(sql), params as unknown[])).rows as T[],
    run: async (sql: string, params: readonly unknown[] = []) =>
      (await on.query(numbered(sql), params as unknown[])).rowCount ?? 0,
    lock: async (key: string) => {
      await on.query("SELECT pg_advisory_xact_lock(hashtext($1))", [`backprop ${schema} ${key}`]);
    },
  };
}

/**
 * The distributed mode's PostgreSQL database: a connection pool whose tables live in one schema
 * (`search_path`), so several deployments or test runs can share a database; the `SqlDriver`
 * the stores run on (`SqlJobStore`, `SqlDatasetStore`).
 */
export class PgDatabase implements SqlDriver {
  readonly pool: pg.Pool;
  readonly dialect = POSTGRES;
  private readonly client: SqlClient;

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
    this.client = client(this.pool, schema);
  }

  all<T>(sql: string, params?: readonly unknown[]): Promise<T[]> {
    return this.client.all<T>(sql, params);
  }

  run(sql: string, params?: readonly unknown[]): Promise<number> {
    return this.client.run(sql, params);
  }

  lock(key: string): Promise<void> {
    return this.client.lock(key);
  }

  transaction<T>(fn: (tx: SqlClient) => Promise<T>): Promise<T> {
    return inTransaction(this.pool, (c) => fn(client(c, this.schema)));
  }

  /** PostgreSQL's unique_violation (SQLSTATE 23505). */
  isUniqueViolation(err: unknown): boolean {
    return (err as { code?: unknown } | null)?.code === "23505";
  }

  /**
   * Creates the schema if needed and applies the migrations it has not seen (one transaction, under a lock).
   * @throws Error naming DATABASE_URL when PostgreSQL does not answer; when the schema is newer than this build.
   */
  async migrate(): Promise<void> {
    let c: pg.PoolClient;
    try {
      c = await this.pool.connect();
    } catch (err) {
      throw new Error(
        `cannot reach PostgreSQL at ${redact(this.url)} (DATABASE_URL): ${err instanceof Error ? err.message : err}`,
      );
    }
    c.release();
    await this.transaction(async (tx) => {
      await tx.lock("migrate");
      await tx.run(`CREATE SCHEMA IF NOT EXISTS ${this.schema}`);
      await tx.run("CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY)");
      const [row] = await tx.all<{ v: number | null }>("SELECT max(version) AS v FROM schema_migrations");
      const current = row?.v ?? 0;
      if (current > PG_MIGRATIONS.length)
        throw new Error(
          `the database has schema version ${current}; this build knows up to ${PG_MIGRATIONS.length}`,
        );
      for (let v = current; v < PG_MIGRATIONS.length; v++) {
        await tx.run(PG_MIGRATIONS[v]!);
        await tx.run("INSERT INTO schema_migrations (version) VALUES (?)", [v + 1]);
      }
    });
  }

  /** Drops the schema and everything in it (test clean-up). */
  async dropSchema(): Promise<void> {
    await this.pool.query(`DROP SCHEMA IF EXISTS ${this.schema} CASCADE`);
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}
