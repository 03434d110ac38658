/**
 * What the SQL stores (`SqlJobStore`, `SqlDatasetStore`, `SqlModelStore`) need of a database: statements written
 * once with `?` placeholders, run by a driver for SQLite (better-sqlite3) or PostgreSQL (pg),
 * which also names the few spots where the two dialects differ.
 */

/** Where the dialects differ, as SQL fragments. */
export interface Dialect {
  name: "sqlite" | "postgres";
  /** Appended to a `SELECT` that must keep its row from being deleted until commit ("" in SQLite, where writers are serialised). */
  keyShare: string;
  /** Appended to a `SELECT` that locks its row for a change until commit. */
  forUpdate: string;
}

/** One connection, or one transaction: runs statements with `?` placeholders. */
export interface SqlClient {
  /** The rows a statement returns (BIGINT and count(*) may come as text: convert with `Number`). */
  all<T>(sql: string, params?: readonly unknown[]): Promise<T[]>;
  /** Runs a statement; @returns the rows it changed. */
  run(sql: string, params?: readonly unknown[]): Promise<number>;
  /**
   * Within a transaction, serialises with every other transaction taking the same `key` (a
   * PostgreSQL advisory lock; nothing in SQLite, whose writers take turns anyway).
   */
  lock(key: string): Promise<void>;
}

/** A database the stores run on. */
export interface SqlDriver extends SqlClient {
  readonly dialect: Dialect;
  /**
   * Runs `fn` in one transaction: committed when it resolves, rolled back when it throws (the
   * error is rethrown). Statements outside it wait for it in SQLite (one connection).
   */
  transaction<T>(fn: (tx: SqlClient) => Promise<T>): Promise<T>;
  /** Whether `err` is a unique-constraint violation (an idempotency key another create took). */
  isUniqueViolation(err: unknown): boolean;
}

/** The first row of `rows`, or undefined. */
export const first = <T>(rows: T[]): T | undefined => rows[0];

/**
 * One page of an owner's rows of `table`, newest first (by `seq`): at most `limit` of them, and
 * whether more follow. The page starts below the row `after` names (an id), else below `below`
 * (a cursor: a row's `seq`, which survives that row's deletion), else at the newest; `filter`
 * adds one condition (`status = ?`).
 * @returns undefined when `after` names no row of the owner.
 */
export async function pageNewestFirst<T>(
  db: SqlClient,
  query: {
    table: "jobs" | "models" | "datasets" | "tuning_jobs";
    columns: string;
    owner: string;
    limit: number;
    after?: string;
    below?: number;
    filter?: { sql: string; param: unknown };
  },
): Promise<{ rows: T[]; hasMore: boolean } | undefined> {
  const { table, owner, limit, filter } = query;
  let below = query.below ?? Number.MAX_SAFE_INTEGER;
  if (query.after !== undefined) {
    const row = first(
      await db.all<{ seq: number | string }>(`SELECT seq FROM ${table} WHERE id = ? AND owner = ?`, [
        query.after,
        owner,
      ]),
    );
    if (!row) return undefined;
    below = Number(row.seq);
  }
  const rows = await db.all<T>(
    `SELECT ${query.columns} FROM ${table} WHERE owner = ? AND seq < ?${filter ? ` AND ${filter.sql}` : ""} ORDER BY seq DESC LIMIT ?`,
    [owner, below, ...(filter ? [filter.param] : []), limit + 1],
  );
  return { rows: rows.slice(0, limit), hasMore: rows.length > limit };
}
