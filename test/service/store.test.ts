import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterAll, describe, expect, it } from "vitest";
import { ownerOf } from "../../src/service/auth.js";
import { SqlDatasetStore } from "../../src/service/store/sql/sql-dataset-store.js";
import { SqlJobStore } from "../../src/service/store/sql/sql-job-store.js";
import {
  type Db,
  SQLITE_MIGRATIONS as MIGRATIONS,
  migrate,
  openDatabase,
  SqliteDriver,
} from "../../src/service/store/sqlite/database.js";

const JobStore = class extends SqlJobStore {
  constructor(db: Db) {
    super(new SqliteDriver(db));
  }
};
const DatasetStore = class extends SqlDatasetStore {
  constructor(db: Db) {
    super(new SqliteDriver(db));
  }
};

const dir = mkdtempSync(join(tmpdir(), "store-test-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const newJob = (id: string) => ({
  id,
  request: "{}",
  seed: 1,
  datasetId: null,
  idempotencyKey: null,
  requestHash: null,
  epochs: 10,
  createdAt: new Date().toISOString(),
});

describe("the SQLite store", () => {
  it("migrates a new database once, keeps its data across opens, and refuses a newer schema", async () => {
    const db = openDatabase(dir);
    expect(db.pragma("user_version", { simple: true })).toBe(MIGRATIONS.length);
    expect(db.pragma("journal_mode", { simple: true })).toBe("wal");
    await new JobStore(db).insert(newJob("job_a"));
    db.close();
    const again = openDatabase(dir);
    expect((await new JobStore(again).get("job_a"))?.status).toBe("queued");
    again.pragma(`user_version = ${MIGRATIONS.length + 1}`);
    expect(() => migrate(again)).toThrow(/downgrade/);
    again.close();
  });

  it("keeps one checkpoint per job, and lets a job end once", async () => {
    const db = openDatabase(":memory:");
    const jobs = new JobStore(db);
    await jobs.insert(newJob("job_b"));
    await jobs.markRunning("job_b", new Date().toISOString());
    const state = {
      type: "sgd" as const,
      iterations: 4,
      epochsCompleted: 2,
      shuffleRng: [1, 2, 3, 4],
      shuffleOrder: [1, 0],
    };
    const weights = { "d/kernel": { shape: [1, 1], data: Float64Array.from([0.5]) } };
    const event = (seq: number) => ({ seq, type: "progress" as const, data: "{}" });
    await jobs.saveCheckpoint(
      "job_b",
      { epochsDone: 2, weights, optimizerState: state, summary: {} },
      { epoch: 2 },
      [event(1), event(2)],
    );
    await jobs.saveCheckpoint(
      "job_b",
      { epochsDone: 4, weights, optimizerState: { ...state, epochsCompleted: 4 }, summary: { n: 4 } },
      { epoch: 4 },
      [event(3), event(4)],
    );
    expect(db.prepare("SELECT count(*) FROM checkpoints").pluck().get()).toBe(1);
    expect(await jobs.loadCheckpoint("job_b")).toMatchObject({ epochsDone: 4, summary: { n: 4 } });
    expect(await jobs.get("job_b")).toMatchObject({ status: "running", epochsDone: 4, attempts: 1 });
    const end = { finishedAt: new Date().toISOString(), epochsDone: 4, progress: { epoch: 4 } };
    const final = (type: "cancelled" | "succeeded") => () => ({ seq: 11, type, data: "{}" });
    expect(
      await jobs.finish("job_b", { status: "cancelled", from: "active", ...end }, [], final("cancelled")),
    ).toEqual({ seq: 11, type: "cancelled", data: "{}" });
    expect(
      await jobs.finish(
        "job_b",
        { status: "succeeded", from: "active", ...end, result: "{}" },
        [],
        final("succeeded"),
      ),
    ).toBeUndefined();
    expect((await jobs.get("job_b"))?.status).toBe("cancelled");
    expect(await jobs.loadCheckpoint("job_b")).toBeUndefined();
    expect((await jobs.events("job_b", 2)).map((e) => e.seq)).toEqual([3, 4, 11]);
    // A cancelled job takes no checkpoint (and gets none back).
    expect(
      await jobs.saveCheckpoint(
        "job_b",
        { epochsDone: 6, weights, optimizerState: state, summary: {} },
        { epoch: 6 },
        [event(5), event(6)],
      ),
    ).toBe(false);
    expect(await jobs.loadCheckpoint("job_b")).toBeUndefined();
    expect((await jobs.get("job_b"))?.epochsDone).toBe(4);
    expect((await jobs.events("job_b", 2)).map((e) => e.seq)).toEqual([3, 4, 11]);
    expect(await jobs.countByStatus()).toEqual({
      queued: 0,
      running: 0,
      succeeded: 0,
      failed: 0,
      cancelled: 1,
    });
    db.close();
  });

  it("migration 2 gives rows from before owners to anonymous and scopes idempotency keys per owner", async () => {
    const db = new Database(":memory:");
    db.exec(MIGRATIONS[0]!);
    db.pragma("user_version = 1");
    db.prepare(
      `INSERT INTO jobs (id, status, created_at, request, seed, idempotency_key, request_hash, epochs)
       VALUES ('job_old', 'succeeded', '2026-01-01T00:00:00Z', '{}', 1, 'retry-1', 'h', 5)`,
    ).run();
    db.prepare(
      `INSERT INTO datasets (id, created_at, format, samples, input_shape, target_shape, x, y)
       VALUES ('ds_old', '2026-01-01T00:00:00Z', 'json', 0, '[1]', '[]', x'', x'')`,
    ).run();
    migrate(db);
    // Brought to the latest version (7: a trial job's stop rule), whatever came after migration 2.
    expect(db.pragma("user_version", { simple: true })).toBe(MIGRATIONS.length);
    expect(MIGRATIONS.length).toBe(7);
    expect(db.prepare("SELECT count(*) AS n FROM models").get()).toEqual({ n: 0 });
    expect(db.prepare("SELECT count(*) AS n FROM webhook_deliveries").get()).toEqual({ n: 0 });
    expect(db.prepare("SELECT count(*) AS n FROM tuning_jobs").get()).toEqual({ n: 0 });
    const jobs = new JobStore(db);
    // Migration 3 gives them the default priority.
    expect(await jobs.get("job_old")).toMatchObject({
      owner: "anonymous",
      idempotencyKey: "retry-1",
      priority: 100,
      tuningJobId: null, // migration 6: a job from before is no trial
      stopRule: null, // nor has it a stop rule (migration 7)
    });
    expect((await jobs.byIdempotencyKey("retry-1"))?.id).toBe("job_old");
    const alice = ownerOf("alice-key-0123456789");
    expect(await jobs.byIdempotencyKey("retry-1", alice)).toBeUndefined();
    // The same key for another owner is another job, not a constraint violation.
    await jobs.insert({ ...newJob("job_alice"), owner: alice, idempotencyKey: "retry-1", requestHash: "h2" });
    expect((await jobs.byIdempotencyKey("retry-1", alice))?.id).toBe("job_alice");
    expect(await jobs.get("job_alice", "anonymous")).toBeUndefined();
    expect((await jobs.list(10, { owner: alice }))?.items.map((j) => j.id)).toEqual(["job_alice"]);
    expect((await jobs.list(10))?.items.map((j) => j.id)).toEqual(["job_old"]);
    const datasets = new DatasetStore(db);
    expect((await datasets.info("ds_old", "anonymous"))?.id).toBe("ds_old");
    expect(await datasets.info("ds_old", alice)).toBeUndefined();
    expect(await datasets.delete("ds_old", alice)).toBe(false);
    expect((await datasets.list(10, undefined, alice))?.items).toEqual([]);
    db.close();
  });
});
