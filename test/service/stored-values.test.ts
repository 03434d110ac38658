/**
 * What a job stores is read back through a schema: a JSON column written straight into the store
 * (edited by hand, cut short, or by another version) that no longer fits never crashes a read.
 * A job's bad column shows as `/problems/stored-job-invalid` naming the job and the column, and its
 * runner fails the job with it; a checkpoint's bad summary fails its job with
 * `/problems/stored-checkpoint-invalid`; a data set's bad column is a 500 naming it. Against SQLite,
 * and PostgreSQL when TEST_DATABASE_URL is set (in a schema of its own, dropped afterwards).
 */
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config.js";
import { EngineService } from "../../src/service/engine-service.js";
import { ProblemError } from "../../src/service/errors.js";
import { jobList, jobView } from "../../src/service/jobs/job-view.js";
import { LocalEventBus } from "../../src/service/jobs/local/local-bus.js";
import { JobRunner } from "../../src/service/jobs/runner.js";
import type { EnginePool } from "../../src/service/pool.js";
import { PgDatabase } from "../../src/service/store/postgres/database.js";
import type { SqlDriver } from "../../src/service/store/sql/driver.js";
import { SqlDatasetStore } from "../../src/service/store/sql/sql-dataset-store.js";
import { SqlJobStore } from "../../src/service/store/sql/sql-job-store.js";
import { openDatabase, SqliteDriver } from "../../src/service/store/sqlite/database.js";
import { encodeTensors } from "../../src/service/store/tensor-codec.js";
import { irisJob } from "../fixtures.js";

const databaseUrl = process.env.TEST_DATABASE_URL;
const schema = `test_stored_${randomBytes(5).toString("hex")}`;

const adapters: { name: string; skip: boolean; make: () => Promise<SqlDriver> }[] = [
  { name: "SQLite", skip: false, make: async () => new SqliteDriver(openDatabase(":memory:")) },
  {
    name: "PostgreSQL",
    skip: !databaseUrl,
    make: async () => {
      const db = new PgDatabase(databaseUrl!, schema);
      await db.migrate();
      return db;
    },
  },
];

const newJob = (id: string, request: unknown = irisJob(6)) => ({
  id,
  request: JSON.stringify(request),
  seed: 7,
  datasetId: null,
  idempotencyKey: null,
  requestHash: null,
  epochs: 6,
  createdAt: new Date().toISOString(),
});

const state = {
  type: "sgd" as const,
  iterations: 4,
  epochsCompleted: 2,
  shuffleRng: [1, 2, 3, 4],
  shuffleOrder: [1, 0],
};
const weights = { "d/kernel": { shape: [1, 1], data: Float64Array.from([0.5]) } };

/** A runner whose engine plans requests (no pool: the stored values fail the job before a chunk runs). */
function runnerFor(store: SqlJobStore): JobRunner {
  const pool = {} as EnginePool;
  return new JobRunner(store, new LocalEventBus(), new EngineService(pool, loadConfig({})), pool, {
    checkpointEvery: 3,
  });
}

const take = (runner: JobRunner, id: string) => runner.run({ id, reportedBefore: 0, report: async () => {} });

describe.each(adapters)("stored values read back through their schemas ($name)", ({ skip, make }) => {
  let db: SqlDriver;
  let jobs: SqlJobStore;
  beforeAll(async () => {
    if (skip) return;
    db = await make();
    jobs = new SqlJobStore(db);
  });
  afterAll(async () => {
    if (db instanceof PgDatabase) {
      await db.dropSchema();
      await db.close();
    }
  });

  it.skipIf(skip)("reads good columns as they were stored", async () => {
    await jobs.insert(newJob("job_good"));
    await jobs.markRunning("job_good", new Date().toISOString());
    const progress = { epoch: 3, epochs: 6, loss: 0.5, accuracy: 0.75 };
    expect(
      await jobs.saveCheckpoint(
        "job_good",
        { epochsDone: 3, weights, optimizerState: state, summary: { n: 3 } },
        progress,
        [],
      ),
    ).toBe(true);
    const error = { type: "/problems/diverged", title: "Training diverged", status: 422, detail: "NaN" };
    const diverged = { epoch: 2, batch: 1, stage: "loss" as const, lastFiniteLoss: 3.5, message: "NaN" };
    await jobs.finish(
      "job_good",
      { status: "failed", finishedAt: new Date().toISOString(), from: "running", error, diverged },
      [],
      () => ({ seq: 7, type: "failed", data: "{}" }),
    );
    const record = await jobs.get("job_good");
    expect(record).toMatchObject({ status: "failed", epochsDone: 3, progress, error, diverged });
    expect(record?.invalid).toBeUndefined();
    expect(jobView(record!)).toMatchObject({ status: "failed", progress, error, diverged });
  });

  it.skipIf(skip)(
    "answers a job whose column no longer fits, naming the job and the column, in a GET and a list",
    async () => {
      await jobs.insert(newJob("job_bad_progress"));
      await db.run("UPDATE jobs SET status = 'succeeded', epochs_done = 6, progress = ? WHERE id = ?", [
        JSON.stringify({ epoch: 6, loss: "low" }),
        "job_bad_progress",
      ]);
      await jobs.insert(newJob("job_bad_error"));
      await db.run("UPDATE jobs SET status = 'failed', error = ? WHERE id = ?", [
        '{"type": "/problems/x", "tit',
        "job_bad_error",
      ]);

      const record = (await jobs.get("job_bad_progress"))!;
      expect(record.progress).toBeNull();
      expect(record.invalid).toEqual({
        type: "/problems/stored-job-invalid",
        title: "Stored job no longer valid",
        status: 422,
        detail: expect.stringMatching(
          /^the stored progress of job job_bad_progress does not fit its schema at loss: /,
        ),
      });
      // The view falls back to the row's epochs and shows the problem as the job's error.
      expect(jobView(record)).toMatchObject({
        status: "succeeded",
        progress: { epoch: 6, epochs: 6 },
        error: { type: "/problems/stored-job-invalid", status: 422 },
      });
      expect(jobView(record).progress).toEqual({ epoch: 6, epochs: 6 });

      const bad = (await jobs.get("job_bad_error"))!;
      expect(bad.error).toBeNull();
      expect(bad.invalid?.detail).toMatch(/^the stored error of job job_bad_error is not JSON \(/);

      const page = await jobs.list(10);
      const list = jobList({ limit: 10 }, page, (r) => jobView(r));
      const byId = Object.fromEntries(list.jobs.map((j) => [j.id, j]));
      expect(byId.job_bad_progress?.error?.detail).toMatch(/stored progress of job job_bad_progress/);
      expect(byId.job_bad_error?.error?.detail).toMatch(/stored error of job job_bad_error/);
      expect(byId.job_good?.error?.type).toBe("/problems/diverged");
    },
  );

  it.skipIf(skip)("fails a queued job whose column no longer fits when its runner takes it", async () => {
    await jobs.insert(newJob("job_bad_diverged"));
    await db.run("UPDATE jobs SET diverged = ? WHERE id = ?", [
      JSON.stringify({ epoch: "two", message: "?" }),
      "job_bad_diverged",
    ]);
    expect(await take(runnerFor(jobs), "job_bad_diverged")).toMatchObject({ status: "done" });
    const record = (await jobs.get("job_bad_diverged"))!;
    expect(record).toMatchObject({ status: "failed", attempts: 1, diverged: null });
    expect(record.invalid).toBeUndefined(); // the end rewrote the column
    expect(record.error).toMatchObject({ type: "/problems/stored-job-invalid", status: 422 });
    expect(record.error?.detail).toMatch(
      /^the stored diverged of job job_bad_diverged does not fit .* at epoch: /,
    );
    const events = await jobs.events("job_bad_diverged", 0);
    expect(events.map((e) => e.type)).toEqual(["failed"]);
    expect(JSON.parse(events[0]!.data)).toMatchObject({ status: "failed", error: record.error });
  });

  it.skipIf(skip)("fails a job whose checkpoint summary no longer fits, or is not JSON", async () => {
    for (const [id, summary, detail] of [
      [
        "job_bad_summary",
        JSON.stringify({ history: { loss: ["x"] }, epochsRun: 3, initialEpoch: 0, durationMs: 1 }),
        /^the stored checkpoint summary of job job_bad_summary does not fit its schema at history\.loss\.0: /,
      ],
      [
        "job_cut_summary",
        '{"history": {"loss": [0.5',
        /^the stored checkpoint summary of job job_cut_summary is not JSON/,
      ],
    ] as const) {
      await jobs.insert(newJob(id));
      await jobs.markRunning(id, new Date().toISOString());
      await jobs.saveCheckpoint(
        id,
        { epochsDone: 3, weights, optimizerState: state, summary: {} },
        { epoch: 3 },
        [{ seq: 3, type: "progress", data: JSON.stringify({ epoch: 3, epochs: 6 }) }],
      );
      await db.run("UPDATE checkpoints SET summary = ? WHERE job_id = ?", [summary, id]);
      expect(await take(runnerFor(jobs), id)).toMatchObject({ status: "done" });
      const record = (await jobs.get(id))!;
      expect(record).toMatchObject({ status: "failed", epochsDone: 3, attempts: 2 });
      expect(record.error).toMatchObject({
        type: "/problems/stored-checkpoint-invalid",
        title: "Stored checkpoint no longer valid",
        status: 422,
      });
      expect(record.error?.detail).toMatch(detail);
      expect(await jobs.loadCheckpoint(id)).toBeUndefined();
    }
  });

  it.skipIf(skip)("fails a job whose checkpoint weights or optimizer state do not decode", async () => {
    const meta = { type: "lion", iterations: 4, epochsCompleted: 2, shuffleRng: [1, 2, 3, 4] };
    for (const [id, column, blob, detail] of [
      [
        "job_bad_weights",
        "weights",
        Buffer.from([200, 0, 0, 0, 123]),
        /^the stored checkpoint weights of job job_bad_weights does not decode \(tensor blob truncated/,
      ],
      [
        "job_bad_state",
        "optimizer_state",
        encodeTensors({}, meta),
        /^the stored checkpoint optimizer_state of job job_bad_state does not decode \(optimizer state meta does not fit at type: /,
      ],
    ] as const) {
      await jobs.insert(newJob(id));
      await jobs.markRunning(id, new Date().toISOString());
      await jobs.saveCheckpoint(
        id,
        { epochsDone: 3, weights, optimizerState: state, summary: {} },
        { epoch: 3 },
        [],
      );
      await db.run(`UPDATE checkpoints SET ${column} = ? WHERE job_id = ?`, [blob, id]);
      const err = await jobs.loadCheckpoint(id).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ProblemError);
      expect(err).toMatchObject({ status: 422, type: "/problems/stored-checkpoint-invalid" });
      expect((err as Error).message).toMatch(detail);
      await take(runnerFor(jobs), id);
      const record = (await jobs.get(id))!;
      expect(record).toMatchObject({
        status: "failed",
        error: { type: "/problems/stored-checkpoint-invalid" },
      });
      expect(record.error?.detail).toMatch(detail);
    }
  });

  it.skipIf(skip)("a cancel ends the job at the latest event that reads as progress", async () => {
    await jobs.insert(newJob("job_cancel"));
    await jobs.markRunning("job_cancel", new Date().toISOString());
    const final = await jobs.finish(
      "job_cancel",
      { status: "cancelled", finishedAt: new Date().toISOString(), from: "active" },
      [
        { seq: 1, type: "progress", data: JSON.stringify({ epoch: 1, epochs: 6, loss: 0.9 }) },
        { seq: 2, type: "progress", data: JSON.stringify({ epoch: 2, loss: "nope" }) },
      ],
      (ended) => ({ seq: 7, type: "cancelled", data: JSON.stringify({ epoch: ended.epochsDone }) }),
    );
    expect(final?.data).toBe(JSON.stringify({ epoch: 1 }));
    expect(await jobs.get("job_cancel")).toMatchObject({
      status: "cancelled",
      epochsDone: 1,
      progress: { epoch: 1, epochs: 6, loss: 0.9 },
    });
    expect((await jobs.events("job_cancel", 0)).map((e) => e.seq)).toEqual([1, 7]);
  });

  it.skipIf(skip)("refuses a data set whose column no longer fits with a 500 naming it", async () => {
    const datasets = new SqlDatasetStore(db);
    const info = await datasets.insert({
      name: "two",
      format: "json",
      samples: 2,
      inputShape: [1],
      targetShape: [],
      x: Float64Array.from([1, 2]),
      y: Float64Array.from([0, 1]),
    });
    expect(await datasets.info(info.id)).toMatchObject({ inputShape: [1], targetShape: [] });
    await db.run("UPDATE datasets SET input_shape = ? WHERE id = ?", ['[1, "a"]', info.id]);
    const err = await Promise.resolve(datasets.info(info.id)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ProblemError);
    expect(err).toMatchObject({ status: 500, type: "/problems/stored-dataset-invalid" });
    expect((err as Error).message).toMatch(
      new RegExp(`^the stored input_shape of data set ${info.id} does not fit its schema at 1: `),
    );
    await db.run("UPDATE datasets SET input_shape = '[1]', columns = ? WHERE id = ?", ["{oops", info.id]);
    await expect(Promise.resolve(datasets.load(info.id))).rejects.toThrow(
      new RegExp(`^the stored columns of data set ${info.id} is not JSON`),
    );
  });
});
