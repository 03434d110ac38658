/**
 * The embedded job queue's order: waiting jobs start by `priority` (lower first), then in the
 * order they came; MAX_JOBS_PER_CLIENT caps one client's running jobs while others' go ahead.
 * (test/distributed/queue.test.ts checks the same over BullMQ and several workers.)
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import type { FastifyInstance } from "fastify";
import { afterEach, describe, expect, it } from "vitest";
import type { JobSchema } from "../../src/schemas/jobs.js";
import { ALICE, BOB, irisJob } from "../fixtures.js";
import { buildTestApp } from "./helper.js";

type Job = ReturnType<typeof JobSchema.parse>;

const iris = (epochs: number, seed: number) => irisJob(epochs, { batchSize: 4, seed });

let app: FastifyInstance;
afterEach(async () => {
  await app?.close();
});

async function create(key: string, body: object, query = ""): Promise<Job> {
  const res = await app.inject({
    method: "POST",
    url: `/jobs${query}`,
    payload: body,
    headers: { "x-api-key": key },
  });
  expect(res.statusCode, res.body).toBe(202);
  return res.json();
}

async function settle(key: string, id: string): Promise<Job> {
  for (;;) {
    const job: Job = (await app.inject({ url: `/jobs/${id}`, headers: { "x-api-key": key } })).json();
    if (job.status !== "queued" && job.status !== "running") return job;
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe("the embedded job queue", () => {
  it("starts waiting jobs by priority, then in the order they came", async () => {
    app = await buildTestApp({ MAX_CONCURRENT_JOBS: "1", API_KEYS: `${ALICE},${BOB}` });
    const blocker = await create(ALICE, iris(400, 1));
    const low = await create(ALICE, iris(5, 2), "?priority=1000");
    const normal = await create(BOB, iris(5, 3));
    const urgent = await create(ALICE, iris(5, 4), "?priority=1");
    const normal2 = await create(ALICE, iris(5, 5), "?priority=100");
    expect([low.priority, normal.priority, urgent.priority]).toEqual([1000, 100, 1]);
    const done = [
      await settle(ALICE, blocker.id),
      await settle(ALICE, low.id),
      await settle(BOB, normal.id),
      await settle(ALICE, urgent.id),
      await settle(ALICE, normal2.id),
    ];
    expect(done.every((j) => j.status === "succeeded")).toBe(true);
    const order = [...done]
      .sort((a, b) => Date.parse(a.startedAt!) - Date.parse(b.startedAt!))
      .map((j) => j.id);
    expect(order).toEqual([blocker.id, urgent.id, normal.id, normal2.id, low.id]);
  }, 30_000);

  it("runs at most MAX_JOBS_PER_CLIENT of a client's jobs; another client's job goes ahead", async () => {
    app = await buildTestApp({
      MAX_CONCURRENT_JOBS: "2",
      MAX_JOBS_PER_CLIENT: "1",
      API_KEYS: `${ALICE},${BOB}`,
    });
    const a1 = await create(ALICE, iris(300, 1));
    const a2 = await create(ALICE, iris(300, 2));
    const b1 = await create(BOB, iris(300, 3));
    const now = (await app.inject({ url: `/jobs/${a2.id}`, headers: { "x-api-key": ALICE } })).json() as Job;
    expect(now.status).toBe("queued"); // a slot is free, but alice runs her one
    const [d1, d2, e1] = [await settle(ALICE, a1.id), await settle(ALICE, a2.id), await settle(BOB, b1.id)];
    expect([d1.status, d2.status, e1.status]).toEqual(["succeeded", "succeeded", "succeeded"]);
    expect(Date.parse(d2.startedAt!)).toBeGreaterThanOrEqual(Date.parse(d1.finishedAt!));
    expect(Date.parse(e1.startedAt!)).toBeLessThan(Date.parse(d1.finishedAt!));
  }, 30_000);

  it("names the field of a bad priority, and takes decimal digits only, once", async () => {
    app = await buildTestApp();
    for (const bad of [
      "0",
      "1001",
      "1.5",
      "high",
      "",
      "%20",
      "0x10",
      "1e2",
      "%2B5",
      "-1",
      "1%262",
      "1&priority=2",
    ]) {
      const res = await app.inject({ method: "POST", url: `/jobs?priority=${bad}`, payload: iris(1, 1) });
      expect(res.statusCode, bad).toBe(400);
      const error = res.json().errors[0];
      expect(error.path, bad).toBe("querystring.priority");
      if (bad.includes("&")) expect(error.message).toMatch(/more than once/);
    }
    const ok = await app.inject({ method: "POST", url: "/jobs?priority=007", payload: iris(1, 1) });
    expect(ok.json().priority).toBe(7);
    // The same rule for the other integer parameters.
    for (const url of [
      "/jobs?limit=0x10",
      "/jobs?limit=",
      "/datasets?limit=1e1",
      `/jobs/${ok.json().id}/events?lastEventId=`,
    ]) {
      const res = await app.inject({ url });
      expect(res.statusCode, url).toBe(400);
      expect(res.json().errors[0].path, url).toMatch(/^querystring\.(limit|lastEventId)$/);
    }
  });
});

describe("CHECKPOINT_MIN_MS", () => {
  it("doubles a fast job's chunks, with the same weights as fixed chunks and as POST /train", async () => {
    const body = iris(600, 3);
    const run = async (env: Record<string, string>) => {
      app = await buildTestApp({ CHECKPOINT_EVERY: "5", ...env });
      const job = await create(ALICE, body);
      const events: number[] = [];
      let done: Job;
      for (;;) {
        done = (await app.inject({ url: `/jobs/${job.id}` })).json() as Job;
        if (done.checkpointEpoch !== null && !events.includes(done.checkpointEpoch))
          events.push(done.checkpointEpoch);
        if (done.status === "succeeded") break;
        await new Promise((r) => setTimeout(r, 1));
      }
      const sync = (await app.inject({ method: "POST", url: "/train", payload: body })).json();
      const result = (await app.inject({ url: `/jobs/${job.id}` })).json().result;
      await app.close();
      return { sha: result.weightsSha256 as string, sync: sync.weightsSha256 as string, checkpoints: events };
    };
    const fixed = await run({ CHECKPOINT_MIN_MS: "0" });
    const growing = await run({ CHECKPOINT_MIN_MS: "60000" });
    expect(growing.sha).toBe(fixed.sha);
    expect(growing.sha).toBe(growing.sync);
    // Fixed: every checkpoint a multiple of 5. Growing: 5, 15, 35, 75, … (chunks 5, 10, 20, 40, …).
    for (const c of growing.checkpoints.filter((c) => c > 0)) expect([5, 15, 35, 75, 155, 315]).toContain(c);
  }, 30_000);
});

describe("JOB_RETENTION_DAYS", () => {
  it("deletes finished jobs older than it when the service starts, and keeps the rest", async () => {
    const dir = mkdtempSync(join(tmpdir(), "retention-"));
    try {
      app = await buildTestApp({ DATA_DIR: dir });
      const old = await create(ALICE, iris(2, 1));
      const recent = await create(ALICE, iris(2, 2));
      await settle(ALICE, old.id);
      await settle(ALICE, recent.id);
      await app.close();
      const db = new Database(join(dir, "service.sqlite"));
      db.prepare("UPDATE jobs SET finished_at = '2020-01-01T00:00:00.000Z' WHERE id = ?").run(old.id);
      db.close();
      app = await buildTestApp({ DATA_DIR: dir, JOB_RETENTION_DAYS: "30" });
      expect((await app.inject({ url: `/jobs/${old.id}` })).statusCode).toBe(404);
      expect((await app.inject({ url: `/jobs/${recent.id}` })).json().status).toBe("succeeded");
    } finally {
      await app.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
