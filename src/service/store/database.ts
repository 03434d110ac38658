import { mkdirSync } from "node:fs";
import { join } from "node:path";
import Database from "better-sqlite3";
import { MIGRATIONS } from "./migrations.js";

export type Db = Database.Database;

/** The database file inside `DATA_DIR`. */
export const DATABASE_FILE = "service.sqlite";

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
  if (current > MIGRATIONS.length)
    throw new Error(
      `the database has schema version ${current}; this build knows only up to ${MIGRATIONS.length} (downgrade?)`,
    );
  for (let version = current; version < MIGRATIONS.length; version++) {
    db.transaction(() => {
      db.exec(MIGRATIONS[version] as string);
      db.pragma(`user_version = ${version + 1}`);
    })();
  }
}
