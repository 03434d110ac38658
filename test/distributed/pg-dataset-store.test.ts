/**
 * SqlDatasetStore against a real PostgreSQL (TEST_DATABASE_URL; skipped without it), in a schema
 * of its own dropped afterwards: values come back bit for bit (as SQLite keeps them), owners see
 * only their own, and a delete and a job insert racing for the same data set never both win.
 */
import { randomBytes } from "node:crypto";
import Database from "better-sqlite3";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ownerOf } from "../../src/service/auth.js";
import { NotFoundError } from "../../src/service/errors.js";
import type { NewDataset } from "../../src/service/store/dataset-store.js";
import { PgDatabase } from "../../src/service/store/postgres/database.js";
import { SqlDatasetStore } from "../../src/service/store/sql/sql-dataset-store.js";
import { SqlJobStore } from "../../src/service/store/sql/sql-job-store.js";
import { migrate, SqliteDriver } from "../../src/service/store/sqlite/database.js";
import { databaseUrl } from "./cluster.js";

const skip = databaseUrl
  ? undefined
  : "SqlDatasetStore (PostgreSQL) tests skipped: set TEST_DATABASE_URL (.ci/run does)";
if (skip) console.warn(skip);

const ALICE = ownerOf("alice-key-0123456789abcdef");
const BOB = ownerOf("bob-key-0123456789abcdef00");

/** Values whose bits a careless codec loses: -0, a subnormal, the extremes, NaN with a payload. */
function awkward(): Float64Array {
  const x = Float64Array.from([
    -0,
    0,
    1e-310,
    -5e-324,
    Number.MAX_VALUE,
    -Number.MAX_VALUE,
    Number.MIN_VALUE,
    0.1 + 0.2,
    Math.PI,
    Number.POSITIVE_INFINITY,
    Number.NEGATIVE_INFINITY,
    1e300 * 3,
    -123456789.12345679,
    2 ** 53 + 2,
    7,
    8,
  ]);
  // A NaN with a payload (not the canonical one), to show the bytes are kept, not the numbers.
  new DataView(x.buffer).setBigUint64(15 * 8, 0x7ff8_0000_dead_beefn, true);
  return x;
}

const dataset = (x: Float64Array, extra: Partial<NewDataset> = {}): NewDataset => ({
  name: "awkward",
  format: "json",
  samples: x.length / 2,
  inputShape: [2],
  targetShape: [],
  x,
  y: Float64Array.from({ length: x.length / 2 }, (_, i) => i % 3),
  ...extra,
});

const bytes = (a: Float64Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);

const newJob = (id: string, datasetId: string, owner: string) => ({
  id,
  owner,
  request: "{}",
  seed: 1,
  datasetId,
  idempotencyKey: null,
  requestHash: null,
  epochs: 10,
  createdAt: new Date().toISOString(),
});

describe.skipIf(skip !== undefined)("SqlDatasetStore (PostgreSQL)", () => {
  const schema = `test_ds_${randomBytes(5).toString("hex")}`;
  let database: PgDatabase;
  let jobs: SqlJobStore;
  let store: SqlDatasetStore;
  /** A second connection, to hold a transaction open while the store works. */
  let other: pg.Client;

  beforeAll(async () => {
    database = new PgDatabase(databaseUrl!, schema);
    await database.migrate();
    jobs = new SqlJobStore(database);
    store = new SqlDatasetStore(database);
    other = new pg.Client({ connectionString: databaseUrl, options: `-c search_path=${schema}` });
    await other.connect();
  });
  afterAll(async () => {
    await other?.end();
    await database?.dropSchema();
    await database?.close();
  });

  it("gives back the values bit for bit, the bytes SQLite stores, and the same info", async () => {
    const x = awkward();
    const data = dataset(x, {
      format: "csv",
      classes: ["a", "b", "c"],
      columns: { features: ["u", "v"], label: "w" },
    });
    const now = new Date("2025-01-02T03:04:05.678Z");
    const info = await store.insert(data, ALICE, now);
    expect(info).toEqual({
      id: expect.stringMatching(/^ds_[0-9a-f]{24}$/),
      name: "awkward",
      format: "csv",
      createdAt: now.toISOString(),
      samples: 8,
      inputShape: [2],
      targetShape: [],
      classes: ["a", "b", "c"],
      columns: { features: ["u", "v"], label: "w" },
    });
    const loaded = (await store.load(info.id))!;
    expect(bytes(loaded.x).equals(bytes(x))).toBe(true);
    expect(bytes(loaded.y).equals(bytes(data.y))).toBe(true);
    expect(Object.is(loaded.x[0], -0)).toBe(true);
    expect(loaded.x[2]).toBe(1e-310);
    expect(loaded.x[4]).toBe(Number.MAX_VALUE);
    expect(loaded).toEqual({ ...info, x: loaded.x, y: loaded.y });

    // Stored as float64 little-endian, exactly the blob SQLite keeps for the same data set.
    const { rows } = await database.pool.query<{ x: Buffer; y: Buffer }>(
      "SELECT x, y FROM datasets WHERE id = $1",
      [info.id],
    );
    const lite = new Database(":memory:");
    migrate(lite);
    const liteInfo = await new SqlDatasetStore(new SqliteDriver(lite)).insert(data, ALICE, now);
    const blob = lite.prepare("SELECT x, y FROM datasets WHERE id = ?").get(liteInfo.id) as {
      x: Buffer;
      y: Buffer;
    };
    expect(rows[0]!.x.equals(blob.x)).toBe(true);
    expect(rows[0]!.y.equals(blob.y)).toBe(true);
    expect(new DataView(rows[0]!.x.buffer, rows[0]!.x.byteOffset).getFloat64(2 * 8, true)).toBe(1e-310);
    expect({ ...liteInfo, id: info.id }).toEqual(info);
    lite.close();

    // A large one (≈ 8 MB of values) comes back whole.
    const big = Float64Array.from({ length: 1_000_000 }, (_, i) => Math.sin(i) * 10 ** ((i % 600) - 300));
    const bigInfo = await store.insert(dataset(big), ALICE);
    expect(bytes((await store.load(bigInfo.id))!.x).equals(bytes(big))).toBe(true);
    expect(await store.delete(bigInfo.id, ALICE)).toBe(true);
  });

  it("keeps owners apart and lists newest first, one page at a time", async () => {
    const a1 = await store.insert(dataset(awkward(), { name: "a1" }), BOB);
    const a2 = await store.insert(dataset(awkward(), { name: "a2" }), BOB);
    const a3 = await store.insert(dataset(awkward(), { name: "a3" }), BOB);
    expect((await store.info(a1.id, BOB))?.name).toBe("a1");
    expect(await store.info(a1.id, ALICE)).toBeUndefined();
    expect(await store.info(a1.id)).toEqual(a1);
    expect(await store.info("ds_000000000000000000000000")).toBeUndefined();
    expect(await store.load("ds_000000000000000000000000")).toBeUndefined();

    const first = (await store.list(2, undefined, BOB))!;
    expect(first.items.map((d) => d.id)).toEqual([a3.id, a2.id]);
    expect(first.hasMore).toBe(true);
    const second = (await store.list(2, a2.id, BOB))!;
    expect(second).toEqual({ items: [a1], hasMore: false });
    expect(await store.list(2, a2.id, ALICE)).toBeUndefined(); // not Alice's cursor
    expect((await store.list(10, undefined, ALICE))!.items.map((d) => d.id)).not.toContain(a1.id);

    expect(await store.delete(a1.id, ALICE)).toBe(false);
    expect(await store.deleteUnlessUsed(a1.id, ALICE)).toEqual({ status: "notFound" });
    expect(await store.delete(a1.id, BOB)).toBe(true);
    expect(await store.deleteUnlessUsed(a2.id, BOB)).toEqual({ status: "deleted" });
    expect(await store.info(a2.id)).toBeUndefined();
  });

  it("refuses to delete a data set an unfinished job trains on, and inserts no job for a gone one", async () => {
    const ds = await store.insert(dataset(awkward()), ALICE);
    await jobs.insert(newJob("job_uses_ds", ds.id, ALICE));
    expect(await store.deleteUnlessUsed(ds.id, ALICE)).toEqual({ status: "inUse", usedBy: ["job_uses_ds"] });
    // Another owner learns nothing about the jobs.
    expect(await store.deleteUnlessUsed(ds.id, BOB)).toEqual({ status: "notFound" });
    // Another owner cannot start a job on it either.
    await expect(jobs.insert(newJob("job_bob", ds.id, BOB))).rejects.toBeInstanceOf(NotFoundError);
    await jobs.finish(
      "job_uses_ds",
      { status: "cancelled", finishedAt: new Date().toISOString(), from: "active" },
      [],
      (ended) => ({ seq: ended.epochs + 1, type: "cancelled", data: "{}" }),
    );
    expect(await store.deleteUnlessUsed(ds.id, ALICE)).toEqual({ status: "deleted" });
    const gone = jobs.insert(newJob("job_late", ds.id, ALICE));
    await expect(gone).rejects.toBeInstanceOf(NotFoundError);
    await expect(gone).rejects.toMatchObject({ status: 404, errors: [{ path: "dataset.id" }] });
    expect(await jobs.get("job_late")).toBeUndefined();
  });

  it("a delete holding the data set's lock makes a concurrent job insert fail with 404, not succeed", async () => {
    const ds = await store.insert(dataset(awkward()), ALICE);
    // The delete's transaction, as deleteUnlessUsed runs it, paused after its lock.
    await other.query("BEGIN");
    await other.query("SELECT 1 FROM datasets WHERE id = $1 FOR UPDATE", [ds.id]);
    let settled = false;
    const insert = jobs.insert(newJob("job_racing_delete", ds.id, ALICE)).finally(() => {
      settled = true;
    });
    insert.catch(() => {});
    await new Promise((r) => setTimeout(r, 200));
    expect(settled).toBe(false); // waits for the delete to decide
    await other.query("DELETE FROM datasets WHERE id = $1", [ds.id]);
    await other.query("COMMIT");
    await expect(insert).rejects.toMatchObject({ status: 404, errors: [{ path: "dataset.id" }] });
    expect(await jobs.get("job_racing_delete")).toBeUndefined();
  });

  it("a job insert holding its lock makes a concurrent delete see the job (409), not delete", async () => {
    const ds = await store.insert(dataset(awkward()), ALICE);
    // The job insert's transaction, as SqlJobStore.insert runs it, paused before its commit.
    await other.query("BEGIN");
    await other.query("SELECT 1 FROM datasets WHERE id = $1 AND owner = $2 FOR KEY SHARE", [ds.id, ALICE]);
    await other.query(
      `INSERT INTO jobs (id, owner, status, created_at, request, seed, dataset_id, epochs)
       VALUES ('job_racing_create', $1, 'queued', $2, '{}', 1, $3, 10)`,
      [ALICE, new Date().toISOString(), ds.id],
    );
    let settled = false;
    const deletion = store.deleteUnlessUsed(ds.id, ALICE).finally(() => {
      settled = true;
    });
    await new Promise((r) => setTimeout(r, 200));
    expect(settled).toBe(false); // waits for the job's commit
    await other.query("COMMIT");
    expect(await deletion).toEqual({ status: "inUse", usedBy: ["job_racing_create"] });
    expect(await store.info(ds.id, ALICE)).toBeDefined();
  });
});
