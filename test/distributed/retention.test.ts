/**
 * JOB_RETENTION_DAYS over both stores (SQLite always; PostgreSQL with TEST_DATABASE_URL): only
 * finished jobs that ended before the cutoff go, with their events and idempotency keys.
 */
import { randomBytes } from "node:crypto";
import { afterAll, describe, expect, it } from "vitest";
import type { JobStore, NewJob } from "../../src/service/store/job-store.js";
import { PgDatabase } from "../../src/service/store/postgres/database.js";
import { SqlJobStore } from "../../src/service/store/sql/sql-job-store.js";
import { openDatabase, SqliteDriver } from "../../src/service/store/sqlite/database.js";
import { databaseUrl } from "./cluster.js";

const job = (id: string, key: string | null = null): NewJob => ({
  id,
  request: "{}",
  seed: 1,
  datasetId: null,
  idempotencyKey: key,
  requestHash: key && "h",
  epochs: 10,
  createdAt: "2026-01-01T00:00:00.000Z",
});
const end = (status: "succeeded" | "cancelled", finishedAt: string) => ({
  status,
  finishedAt,
  from: "active" as const,
  epochsDone: 10,
  progress: null,
  ...(status === "succeeded" ? { result: "{}" } : {}),
});

/** The same scenario on either store. */
async function scenario(store: JobStore) {
  const final = (seq: number) => () => ({ seq, type: "succeeded" as const, data: "{}" });
  for (const [id, key] of [
    ["old_done", "k1"],
    ["old_cancelled", null],
    ["new_done", null],
    ["running", null],
  ] as const)
    await store.insert(job(id, key));
  await store.finish("old_done", end("succeeded", "2026-01-10T00:00:00.000Z"), [], final(11));
  await store.finish("old_cancelled", end("cancelled", "2026-01-20T00:00:00.000Z"), [], final(11));
  await store.finish("new_done", end("succeeded", "2026-03-01T00:00:00.000Z"), [], final(11));
  expect(await store.deleteFinishedBefore("2026-02-01T00:00:00.000Z")).toBe(2);
  expect(await store.get("old_done")).toBeUndefined();
  expect(await store.get("old_cancelled")).toBeUndefined();
  expect(await store.events("old_done", 0)).toEqual([]);
  expect(await store.byIdempotencyKey("k1")).toBeUndefined(); // the key may be used again
  expect(await store.get("new_done")).toBeDefined();
  expect(await store.get("running")).toBeDefined(); // unfinished jobs are never deleted
  expect(await store.deleteFinishedBefore("2026-02-01T00:00:00.000Z")).toBe(0);
}

describe("deleting finished jobs (JOB_RETENTION_DAYS)", () => {
  it("in SQLite", async () => {
    await scenario(new SqlJobStore(new SqliteDriver(openDatabase(":memory:"))));
  });

  const schema = `test_retention_${randomBytes(4).toString("hex")}`;
  const pg = databaseUrl ? new PgDatabase(databaseUrl, schema) : undefined;
  afterAll(async () => {
    await pg?.dropSchema();
    await pg?.close();
  });
  it.skipIf(!pg)("in PostgreSQL", async () => {
    await pg!.migrate();
    await scenario(new SqlJobStore(pg!));
  });
});
