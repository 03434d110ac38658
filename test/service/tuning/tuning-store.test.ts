/**
 * SqlTuningStore on SQLite: a tuning job's trials are written only while it runs (a cancel
 * stored first leaves nothing to overwrite), an event key is stored once (a resumed coordinator
 * adds no repeats) with ids 1, 2, … in order, and a trial's job is found by its tuning job.
 */
import { describe, expect, it } from "vitest";
import { SqlJobStore } from "../../../src/service/store/sql/sql-job-store.js";
import { SqlTuningStore } from "../../../src/service/store/sql/sql-tuning-store.js";
import { openDatabase, SqliteDriver } from "../../../src/service/store/sqlite/database.js";
import type { TrialRecord } from "../../../src/service/store/tuning-store.js";

function stores() {
  const driver = new SqliteDriver(openDatabase(":memory:"));
  return { tuning: new SqlTuningStore(driver), jobs: new SqlJobStore(driver) };
}

const trial = (index: number, status: TrialRecord["status"] = "running"): TrialRecord => ({
  index,
  jobId: `job_${index}`,
  parameters: { "optimizer.learningRate": 0.01 * (index + 1), "model.layers[0].units": 4 },
  seed: 1000 + index,
  status,
  objective: status === "running" ? null : 0.5 / (index + 1),
  epochsRun: status === "running" ? 0 : 7,
  modelId: status === "succeeded" ? `mdl_${index}` : null,
  curve: status === "running" ? [] : [0.9, 0.7, 0.5 / (index + 1)],
  error: null,
});

const insert = (s: SqlTuningStore, id: string, owner = "anonymous") =>
  s.insert({ id, owner, createdAt: "2026-01-01T00:00:00Z", seed: 4_000_000_000, request: "{}" });

describe("SqlTuningStore", () => {
  it("keeps a tuning job's trials, by index, replacing a trial's row as it ends", async () => {
    const { tuning } = stores();
    const record = await insert(tuning, "tun_a");
    expect(record).toMatchObject({ id: "tun_a", status: "running", seed: 4_000_000_000, bestTrial: null });
    expect(await tuning.saveTrial("tun_a", trial(1))).toBe(true);
    expect(await tuning.saveTrial("tun_a", trial(0, "succeeded"))).toBe(true);
    expect(await tuning.saveTrial("tun_a", trial(1, "stopped"))).toBe(true);
    expect(await tuning.trials("tun_a")).toEqual([trial(0, "succeeded"), trial(1, "stopped")]);
    expect((await tuning.unfinished()).map((r) => r.id)).toEqual(["tun_a"]);
  });

  it("writes nothing for a tuning job that ended, and ends it once", async () => {
    const { tuning } = stores();
    await insert(tuning, "tun_b");
    const end = { status: "cancelled" as const, finishedAt: "2026-01-02T00:00:00Z", bestTrial: null };
    expect(await tuning.finish("tun_b", end)).toBe(true);
    expect(await tuning.finish("tun_b", { ...end, status: "succeeded", bestTrial: 0 })).toBe(false);
    expect(await tuning.saveTrial("tun_b", trial(0, "succeeded"))).toBe(false);
    expect(await tuning.trials("tun_b")).toEqual([]);
    expect(await tuning.get("tun_b")).toMatchObject({ status: "cancelled", finishedAt: end.finishedAt });
    expect(await tuning.unfinished()).toEqual([]);
  });

  it("deletes tuning jobs that ended before the cutoff, with their trials and events; never a running one", async () => {
    const { tuning } = stores();
    await insert(tuning, "tun_old");
    await insert(tuning, "tun_new");
    await insert(tuning, "tun_run");
    for (const id of ["tun_old", "tun_new", "tun_run"]) {
      await tuning.saveTrial(id, trial(0));
      await tuning.addEvent(id, "started 0", "trialStarted", { trial: 0 });
    }
    const end = { status: "succeeded" as const, bestTrial: 0 };
    await tuning.finish("tun_old", { ...end, finishedAt: "2026-01-01T00:00:00Z" });
    await tuning.finish("tun_new", { ...end, finishedAt: "2026-03-01T00:00:00Z" });
    expect(await tuning.deleteFinishedBefore("2026-02-01T00:00:00Z")).toBe(1);
    expect(await tuning.get("tun_old")).toBeUndefined();
    expect(await tuning.trials("tun_old")).toEqual([]);
    expect(await tuning.events("tun_old", 0)).toEqual([]);
    expect(await tuning.get("tun_new")).toBeDefined();
    expect(await tuning.deleteFinishedBefore("2027-01-01T00:00:00Z")).toBe(1);
    expect((await tuning.get("tun_run"))?.status).toBe("running");
    expect(await tuning.trials("tun_run")).toHaveLength(1);
  });

  it("stores an event key once, with ids in the order stored", async () => {
    const { tuning } = stores();
    await insert(tuning, "tun_c");
    const a = await tuning.addEvent("tun_c", "started 0", "trialStarted", { trial: 0 });
    const b = await tuning.addEvent("tun_c", "started 1", "trialStarted", { trial: 1 });
    expect(
      await tuning.addEvent("tun_c", "started 0", "trialStarted", { trial: 0, again: true }),
    ).toBeUndefined();
    const c = await tuning.addEvent("tun_c", "ended 1", "trialEnded", { trial: 1, objective: 0.25 });
    expect([a?.seq, b?.seq, c?.seq]).toEqual([1, 2, 3]);
    expect(await tuning.events("tun_c", 1)).toEqual([
      { seq: 2, type: "trialStarted", data: '{"trial":1}' },
      { seq: 3, type: "trialEnded", data: '{"trial":1,"objective":0.25}' },
    ]);
  });

  it("lists an owner's tuning jobs newest first, and finds the trial jobs still active", async () => {
    const { tuning, jobs } = stores();
    await insert(tuning, "tun_d", "alice");
    await insert(tuning, "tun_e", "alice");
    await insert(tuning, "tun_f", "bob");
    const page = await tuning.list(1, { owner: "alice" });
    expect(page).toMatchObject({ hasMore: true, items: [{ id: "tun_e" }] });
    expect((await tuning.list(5, { owner: "alice", after: "tun_e" }))?.items.map((r) => r.id)).toEqual([
      "tun_d",
    ]);
    expect(await tuning.list(5, { owner: "alice", after: "tun_f" })).toBeUndefined();
    expect(await tuning.get("tun_d", "bob")).toBeUndefined();
    const job = (id: string, tuningJobId: string | null) => ({
      id,
      owner: "alice",
      request: "{}",
      seed: 1,
      datasetId: null,
      idempotencyKey: null,
      requestHash: null,
      epochs: 5,
      createdAt: "2026-01-01T00:00:00Z",
      tuningJobId,
    });
    await jobs.insert(job("job_1", "tun_d"));
    await jobs.insert(job("job_2", "tun_d"));
    await jobs.insert(job("job_3", null));
    expect((await jobs.get("job_1"))?.tuningJobId).toBe("tun_d");
    expect((await jobs.get("job_3"))?.tuningJobId).toBeNull();
    await jobs.finish(
      "job_2",
      { status: "cancelled", finishedAt: "2026-01-01T00:01:00Z", from: "active" },
      [],
      (r) => ({
        seq: r.epochs + 1,
        type: "cancelled",
        data: "{}",
      }),
    );
    expect(await tuning.activeTrialJobs("tun_d")).toEqual(["job_1"]);
  });
});
