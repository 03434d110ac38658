/**
 * The embedded job queue's order: waiting jobs start by `priority` (lower first), then in the
 * order they came; MAX_JOBS_PER_CLIENT caps one client's running jobs while others' go ahead.
 * (test/distributed/queue.test.ts checks the same over BullMQ and several workers.)
 */
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

  it("names the field of a bad priority", async () => {
    app = await buildTestApp();
    for (const bad of ["0", "1001", "1.5", "high"]) {
      const res = await app.inject({ method: "POST", url: `/jobs?priority=${bad}`, payload: iris(1, 1) });
      expect(res.statusCode).toBe(400);
      expect(res.json().errors[0].path).toBe("querystring.priority");
    }
  });
});
