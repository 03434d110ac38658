import { mkdirSync } from "node:fs";
import { join } from "node:path";
import Database from "better-sqlite3";
import type { Dialect, SqlClient, SqlDriver } from "../sql/driver.js";
import { migrations } from "../sql/migrations.js";

export type Db = Database.Database;

/** The database file inside `DATA_DIR`. */
export const DATABASE_FILE = "service.sqlite";

export const SQLITE: Dialect = { name: "sqlite", keyShare: "", forUpdate: "" };

/** The migrations as SQLite runs them (`migrations`). */
export const SQLITE_MIGRATIONS: readonly string[] = migrations(SQLITE);

/**
 * Opens (creating when needed) the service's SQLite database under `dataDir` and brings its
 * schema up to date. `":memory:"` gives a private in-memory database that keeps nothing (the
 * OpenAPI generator, tests that need no persistence).
 *
 * WAL with `synchronous = NORMAL`: a committed transaction survives the process being killed
 * (SIGKILL, a crash); only an operating-system crash or power loss can lose the latest ones.
 */
export function openDatabase(dataDir: string): Db {
  let file = ":memory:";
  if (dataDir !== ":memory:") {
    mkdirSync(dataDir, { recursive: true });
    file = join(dataDir, DATABASE_FILE);
  }
  const db = new Database(file);
  db.pragma("journal_mode = WAL");
  db.pragma("synchronous = NORMAL");
  db.pragma("foreign_keys = ON");
  // Another process on the same file (a second instance during a rolling restart) waits, not fails.
  db.pragma("busy_timeout = 5000");
  migrate(db);
  return db;
}

/**
 * Applies the migrations the database has not seen yet, each in its own transaction, recording
 * the schema version in `PRAGMA user_version`.
 * @throws Error when the database is newer than this code (a downgrade).
 */
export function migrate(db: Db): void {
  const current = db.pragma("user_version", { simple: true }) as number;
  if (current > SQLITE_MIGRATIONS.length)
    throw new Error(
      `the database has schema version ${current}; this build knows only up to ${SQLITE_MIGRATIONS.length} (downgrade?)`,
    );
  for (let version = current; version < SQLITE_MIGRATIONS.length; version++) {
    db.transaction(() => {
      db.exec(SQLITE_MIGRATIONS[version] as string);
      db.pragma(`user_version = ${version + 1}`);
    })();
  }
}

/**
 * `SqlDriver` over one better-sqlite3 connection. Its calls are synchronous; a transaction of
 * the stores spans awaits, so while one is open every other statement waits for it (one
 * connection: a statement run in between would join the transaction).
 */
export class SqliteDriver implements SqlDriver {
  readonly dialect = SQLITE;
  private readonly statements = new Map<string, Database.Statement>();
  /** Settles when the open transaction ends; undefined when none is open. */
  private busy: Promise<void> | undefined;

  constructor(readonly db: Db) {}

  async all<T>(sql: string, params: readonly unknown[] = []): Promise<T[]> {
    while (this.busy) await this.busy;
    return this.direct.all<T>(sql, params);
  }

  async run(sql: string, params: readonly unknown[] = []): Promise<number> {
    while (this.busy) await this.busy;
    return this.direct.run(sql, params);
  }

  async lock(): Promise<void> {}

  async transaction<T>(fn: (tx: SqlClient) => Promise<T>): Promise<T> {
    while (this.busy) await this.busy;
    let done!: () => void;
    this.busy = new Promise((r) => {
      done = r;
    });
    try {
      this.db.exec("BEGIN IMMEDIATE");
      try {
        const out = await fn(this.direct);
        this.db.exec("COMMIT");
        return out;
      } catch (err) {
        if (this.db.inTransaction) this.db.exec("ROLLBACK");
        throw err;
      }
    } finally {
      this.busy = undefined;
      done();
    }
  }

  isUniqueViolation(err: unknown): boolean {
    return (err as { code?: unknown } | null)?.code === "SQLITE_CONSTRAINT_UNIQUE";
  }

  /** Statements run at once, as the open transaction's own do. */
  private readonly direct: SqlClient = {
    all: async <T>(sql: string, params: readonly unknown[] = []) => this.prepare(sql).all(...params) as T[],
    run: async (sql: string, params: readonly unknown[] = []) => this.prepare(sql).run(...params).changes,
    lock: async () => {},
  };

  private prepare(sql: string): Database.Statement {
    let statement = this.statements.get(sql);
    if (!statement) {
      statement = this.db.prepare(sql);
      this.statements.set(sql, statement);
    }
    return statement;
  }
}
