/**
 * SqlModelStore over both databases (SQLite always; PostgreSQL with TEST_DATABASE_URL, in a
 * schema of its own dropped afterwards): the same scenario on each. Weights come back bit for bit
 * (float64, -0, subnormals and a NaN's payload kept), owners see only their own models, lists
 * page newest first, retention deletes by creation time, and a job's model is stored in the
 * transaction that ends it: a succeeded end always leaves one, a cancel or an end that did not
 * apply none, and a model that cannot be stored rolls the end back.
 */
import { randomBytes } from "node:crypto";
import { afterAll, describe, expect, it } from "vitest";
import type { NamedTensors } from "../../src/engine/index.js";
import { ModelSpecSchema } from "../../src/schemas/model.js";
import { ownerOf } from "../../src/service/auth.js";
import { type NewModel, newModelId } from "../../src/service/models/model-store.js";
import type { JobEnd } from "../../src/service/store/job-store.js";
import { PgDatabase } from "../../src/service/store/postgres/database.js";
import type { SqlDriver } from "../../src/service/store/sql/driver.js";
import { SqlJobStore } from "../../src/service/store/sql/sql-job-store.js";
import { SqlModelStore } from "../../src/service/store/sql/sql-model-store.js";
import { openDatabase, SqliteDriver } from "../../src/service/store/sqlite/database.js";
import { databaseUrl } from "../distributed/cluster.js";

const ALICE = ownerOf("alice-key-0123456789abcdef");
const BOB = ownerOf("bob-key-0123456789abcdef00");

const spec = ModelSpecSchema.parse({
  inputShape: [2],
  layers: [
    { type: "dense", units: 2, activation: "tanh" },
    { type: "batchNormalization" },
    { type: "dense", units: 1, activation: "sigmoid" },
  ],
  loss: "binaryCrossentropy",
});

/** Weights whose bits a careless codec loses: -0, a subnormal, the extremes, a NaN with a payload. */
function awkwardWeights(): NamedTensors {
  const kernel = Float64Array.from([-0, 1e-310, Number.MAX_VALUE, 0.1 + 0.2]);
  const bias = Float64Array.from([Number.NEGATIVE_INFINITY, Number.NaN]);
  new DataView(bias.buffer).setBigUint64(8, 0x7ff8_0000_dead_beefn, true);
  const vec = (...v: number[]) => ({ shape: [v.length], data: Float64Array.from(v) });
  // Keys deliberately not in alphabetical order: the stored order is the model's.
  return {
    "dense/kernel": { shape: [2, 2], data: kernel },
    "dense/bias": { shape: [2], data: bias },
    "batch_normalization/gamma": vec(1, 1),
    "batch_normalization/beta": vec(0, 0),
    "batch_normalization/moving_mean": vec(0.25, -0.5),
    "batch_normalization/moving_variance": vec(1.5, 2),
    "dense_1/kernel": { shape: [2, 1], data: Float64Array.from([Math.PI, -Math.E]) },
    "dense_1/bias": vec(2 ** 53 + 2),
  };
}

const bits = (t: NamedTensors) =>
  Object.entries(t).map(([k, v]) => [
    k,
    v.shape,
    Buffer.from(v.data.buffer, v.data.byteOffset, v.data.byteLength).toString("hex"),
  ]);

function model(owner: string, over: Partial<NewModel> = {}): NewModel {
  return {
    id: newModelId(),
    owner,
    createdAt: "2026-03-01T00:00:00.000Z",
    source: "train",
    jobId: null,
    spec,
    optimizer: { type: "adam", learningRate: 0.01 },
    metrics: { epochs: 3, loss: 0.25, metrics: { accuracy: 0.75 } },
    dataset: { inline: { samples: 4 } },
    seed: 4_000_000_000,
    engineVersion: "1.2.3",
    weightsSha256: "ab".repeat(32),
    parameters: 18,
    lossGiven: true,
    baseModelId: "mdl_base00000000000000000000",
    weights: awkwardWeights(),
    ...over,
  };
}

const job = (id: string, owner: string) => ({
  id,
  owner,
  request: "{}",
  seed: 1,
  datasetId: null,
  idempotencyKey: null,
  requestHash: null,
  epochs: 3,
  createdAt: "2026-03-01T00:00:00.000Z",
});
const end = (status: JobEnd["status"], m?: NewModel): JobEnd => ({
  status,
  finishedAt: "2026-03-01T00:01:00.000Z",
  from: "running",
  epochsDone: 3,
  progress: null,
  ...(status === "succeeded" ? { result: "{}" } : {}),
  ...(m ? { model: m } : {}),
});
const final = (status: JobEnd["status"]) => () => ({ seq: 4, type: status, data: "{}" });

async function basics(models: SqlModelStore) {
  const m = model(ALICE);
  expect(m.id).toMatch(/^mdl_[A-Za-z0-9_-]{22}$/);
  const { weights, ...record } = m;
  const stored = await models.insert(m);
  expect(stored).toEqual({ ...record, seq: expect.any(Number) });
  expect(await models.get(m.id, ALICE)).toEqual(stored);
  expect(await models.get(m.id)).toEqual(stored);
  expect(await models.get(m.id, BOB)).toBeUndefined();
  expect(await models.get("mdl_0000000000000000000000")).toBeUndefined();

  const back = (await models.weights(m.id, ALICE))!;
  expect(bits(back)).toEqual(bits(weights));
  expect(Object.is(back["dense/kernel"]!.data[0], -0)).toBe(true);
  expect(back["dense/kernel"]!.data[1]).toBe(1e-310);
  expect(new DataView(back["dense/bias"]!.data.buffer).getBigUint64(8, true)).toBe(0x7ff8_0000_dead_beefn);
  expect(back["dense_1/bias"]!.data[0]).toBe(2 ** 53 + 2);
  expect(await models.weights(m.id, BOB)).toBeUndefined();

  // An import without a loss: no optimiser, metrics, data set, seed or base model.
  const imported = model(ALICE, {
    source: "import",
    optimizer: null,
    metrics: null,
    dataset: null,
    seed: null,
    lossGiven: false,
    baseModelId: null,
  });
  const got = await models.insert(imported);
  expect([got.optimizer, got.metrics, got.dataset, got.seed]).toEqual([null, null, null, null]);
  expect([got.lossGiven, got.baseModelId]).toEqual([false, null]);
  expect([stored.lossGiven, stored.baseModelId]).toEqual([true, "mdl_base00000000000000000000"]);

  // Another owner can neither see nor delete them.
  expect(await models.delete(m.id, BOB)).toBe(false);
  expect(await models.delete(m.id, ALICE)).toBe(true);
  expect(await models.delete(m.id, ALICE)).toBe(false);
  expect(await models.get(m.id)).toBeUndefined();
  expect(await models.weights(m.id)).toBeUndefined();
  expect(await models.delete(imported.id)).toBe(true);
}

async function paging(models: SqlModelStore) {
  const owner = ownerOf(`pager-${randomBytes(8).toString("hex")}`);
  const ids: string[] = [];
  for (let i = 0; i < 5; i++) ids.push((await models.insert(model(owner, { seed: i }))).id);
  await models.insert(model(BOB));
  const page1 = (await models.list(2, { owner }))!;
  expect(page1.items.map((m) => m.id)).toEqual([ids[4], ids[3]]);
  expect(page1.hasMore).toBe(true);
  const page2 = (await models.list(2, { owner, after: ids[3] }))!;
  expect(page2.items.map((m) => m.id)).toEqual([ids[2], ids[1]]);
  expect(page2.hasMore).toBe(true);
  const page3 = (await models.list(2, { owner, after: ids[1] }))!;
  expect(page3.items.map((m) => m.seed)).toEqual([0]);
  expect(page3.hasMore).toBe(false);
  // A cursor of another owner's model is no cursor; Bob's model is not in the owner's list.
  expect(await models.list(2, { owner: BOB, after: ids[1] })).toBeUndefined();
  expect((await models.list(10, { owner }))!.items).toHaveLength(5);
  expect((await models.list(10))!.items).toEqual([]); // nothing is anonymous's
}

async function retention(models: SqlModelStore) {
  const old = await models.insert(model(ALICE, { createdAt: "2020-01-01T00:00:00.000Z" }));
  const older = await models.insert(model(BOB, { createdAt: "2019-06-01T00:00:00.000Z" }));
  const recent = await models.insert(model(ALICE, { createdAt: "2026-06-01T00:00:00.000Z" }));
  expect(await models.deleteCreatedBefore("2021-01-01T00:00:00.000Z")).toBe(2);
  expect(await models.get(old.id)).toBeUndefined();
  expect(await models.get(older.id)).toBeUndefined();
  expect(await models.get(recent.id)).toBeDefined();
  expect(await models.deleteCreatedBefore("2021-01-01T00:00:00.000Z")).toBe(0);
}

async function jobEnds(db: SqlDriver, models: SqlModelStore) {
  const jobs = new SqlJobStore(db);
  const run = async (id: string) => {
    await jobs.insert(job(id, ALICE));
    await jobs.markRunning(id, "2026-03-01T00:00:01.000Z");
  };

  // Succeeded: the model is there, with its job's id.
  const jobId = `job_${randomBytes(12).toString("hex")}`;
  await run(jobId);
  const m = model(ALICE, { source: "job", jobId });
  expect(await jobs.finish(jobId, end("succeeded", m), [], final("succeeded"))).toBeDefined();
  expect((await models.get(m.id, ALICE))?.jobId).toBe(jobId);
  expect(bits((await models.weights(m.id))!)).toEqual(bits(m.weights));

  // A second end does not apply: no second model.
  const again = model(ALICE, { source: "job", jobId });
  expect(await jobs.finish(jobId, end("succeeded", again), [], final("succeeded"))).toBeUndefined();
  expect(await models.get(again.id)).toBeUndefined();

  // Cancelled or failed: none, even when one is passed.
  for (const status of ["cancelled", "failed"] as const) {
    const id = `job_${randomBytes(12).toString("hex")}`;
    await run(id);
    const none = model(ALICE, { source: "job", jobId: id });
    expect(await jobs.finish(id, end(status, none), [], final(status))).toBeDefined();
    expect(await models.get(none.id)).toBeUndefined();
  }

  // A model that cannot be stored (its id taken) rolls the end back: the job is still running.
  const stuck = `job_${randomBytes(12).toString("hex")}`;
  await run(stuck);
  await expect(
    jobs.finish(stuck, end("succeeded", { ...m, jobId: stuck }), [], final("succeeded")),
  ).rejects.toThrow();
  expect((await jobs.get(stuck))?.status).toBe("running");
  expect(await jobs.events(stuck, 0)).toEqual([]);
}

/** A row edited in the database reads as the 500 problem naming the model and the column. */
async function edited(db: SqlDriver, models: SqlModelStore) {
  const m = await models.insert(model(ALICE));
  await db.run("UPDATE models SET spec = ? WHERE id = ?", ['{"inputShape":[2],"layers":[]}', m.id]);
  await expect(models.get(m.id)).rejects.toMatchObject({
    status: 500,
    type: "/problems/stored-model-invalid",
    message: expect.stringMatching(
      new RegExp(`^the stored spec of model ${m.id} does not fit its schema at layers`),
    ),
  });
  await db.run("UPDATE models SET spec = ?, metrics = ? WHERE id = ?", [JSON.stringify(spec), "{cut", m.id]);
  await expect(models.get(m.id)).rejects.toThrow(`the stored metrics of model ${m.id} is not JSON`);
  await db.run("UPDATE models SET weights = ? WHERE id = ?", [Buffer.from([255, 0, 0, 0, 1]), m.id]);
  await expect(models.weights(m.id)).rejects.toMatchObject({
    status: 500,
    message: expect.stringMatching(new RegExp(`^the stored weights of model ${m.id} does not decode`)),
  });
  expect(await models.delete(m.id)).toBe(true);
}

async function scenario(db: SqlDriver) {
  const models = new SqlModelStore(db);
  await basics(models);
  await edited(db, models);
  await paging(models);
  await retention(models);
  await jobEnds(db, models);
}

describe("SqlModelStore", () => {
  it("in SQLite", async () => {
    const db = openDatabase(":memory:");
    try {
      await scenario(new SqliteDriver(db));
    } finally {
      db.close();
    }
  });

  const schema = `test_models_${randomBytes(4).toString("hex")}`;
  const pg = databaseUrl ? new PgDatabase(databaseUrl, schema) : undefined;
  if (!pg) console.warn("SqlModelStore (PostgreSQL) skipped: set TEST_DATABASE_URL (.ci/run does)");
  afterAll(async () => {
    await pg?.dropSchema();
    await pg?.close();
  });
  it.skipIf(!pg)("in PostgreSQL", async () => {
    await pg!.migrate();
    await scenario(pg!);
  });
});
