/**
 * The distributed mode's queue features with real PostgreSQL and Redis (skipped without
 * TEST_DATABASE_URL / TEST_REDIS_URL): job priorities, the per-client limit MAX_JOBS_PER_CLIENT
 * over all workers, a running job's progress between checkpoints on GET /jobs/{id}, and the
 * queue gauges and readiness as BullMQ and PostgreSQL report them.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ALICE, BOB, irisJob } from "../fixtures.js";
import { followSse } from "../http/sse.js";
import { Cluster, type Proc, skipReason } from "./cluster.js";

if (skipReason) console.warn(skipReason);

const cluster = new Cluster();
afterAll(() => cluster.cleanup(), 30_000);

const bodyFor = (seed: number, epochs: number) => irisJob(epochs, { batchSize: 4, seed }, 12);

interface JobJson {
  id: string;
  status: string;
  priority: number;
  startedAt: string | null;
  finishedAt: string | null;
  checkpointEpoch: number | null;
  progress: { epoch: number; epochs: number; loss?: number };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe.skipIf(skipReason !== undefined)("the distributed queue", () => {
  let api: Proc & { base: string };
  const request = (key: string, path: string, init: RequestInit = {}) =>
    fetch(`${api.base}${path}`, {
      ...init,
      headers: { "content-type": "application/json", "x-api-key": key, ...(init.headers ?? {}) },
    });
  const create = async (key: string, body: unknown, query = "") => {
    const res = await request(key, `/jobs${query}`, { method: "POST", body: JSON.stringify(body) });
    const json = await res.json();
    expect(res.status, JSON.stringify(json)).toBe(202);
    return json as JobJson;
  };
  const get = async (key: string, id: string) =>
    (await (await request(key, `/jobs/${id}`)).json()) as JobJson;
  const settle = async (key: string, id: string) => {
    for (;;) {
      const job = await get(key, id);
      if (job.status !== "queued" && job.status !== "running") return job;
      await sleep(50);
    }
  };

  beforeAll(async () => {
    api = await cluster.api({ API_KEYS: `${ALICE},${BOB}` });
  }, 60_000);

  it("runs at most MAX_JOBS_PER_CLIENT of a client's jobs at once, over all workers; others' jobs go first", async () => {
    // Two workers, two jobs each: four slots, but alice may use one at a time. A held job is
    // released when her running job ends; the hold time is long, so only that release can start it in time.
    const env = { POOL_SIZE: "2", WORKER_CONCURRENCY: "2", MAX_JOBS_PER_CLIENT: "1", JOB_HOLD_MS: "60000" };
    const workers = await Promise.all([cluster.worker(env), cluster.worker(env)]);
    const alice = [];
    for (let i = 0; i < 3; i++) alice.push(await create(ALICE, bodyFor(i, 150)));
    const bob = await create(BOB, bodyFor(9, 150));
    const aliceDone = await Promise.all(alice.map((j) => settle(ALICE, j.id)));
    const bobDone = await settle(BOB, bob.id);
    expect([...aliceDone, bobDone].map((j) => j.status)).toEqual([
      "succeeded",
      "succeeded",
      "succeeded",
      "succeeded",
    ]);
    // Alice's jobs ran one after another (in the order the workers took them: two workers taking
    // two of her jobs at the same moment may start the second first) …
    const spans = aliceDone
      .map((j) => [Date.parse(j.startedAt!), Date.parse(j.finishedAt!)] as const)
      .sort((x, y) => x[0] - y[0]);
    for (let i = 1; i < spans.length; i++) expect(spans[i]![0]).toBeGreaterThanOrEqual(spans[i - 1]![1]);
    // … while bob's ran beside her first one.
    expect(Date.parse(bobDone.startedAt!)).toBeLessThan(spans[0]![1]);
    const logs = workers.map((w) => w.out()).join("");
    expect(logs).toMatch(/"msg":"job held: its client runs its limit"/);
    await Promise.all(
      workers.map((w) => {
        w.proc.kill("SIGTERM");
        return w.exited;
      }),
    );
  }, 90_000);

  it("takes waiting jobs by priority, then in the order they came; counts them on /metrics and /ready", async () => {
    // No worker runs: the jobs wait on the queue.
    const low = await create(ALICE, bodyFor(1, 20), "?priority=500");
    const normal = await create(ALICE, bodyFor(2, 20));
    const urgent = await create(BOB, bodyFor(3, 20), "?priority=1");
    const urgent2 = await create(ALICE, bodyFor(4, 20), "?priority=1");
    expect([low.priority, normal.priority, urgent.priority]).toEqual([500, 100, 1]);
    const bad = await request(ALICE, "/jobs?priority=0", {
      method: "POST",
      body: JSON.stringify(bodyFor(1, 2)),
    });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { errors: { path: string }[] }).errors[0]!.path).toBe(
      "querystring.priority",
    );

    const metrics = await (await request(ALICE, "/metrics")).text();
    expect(metrics).toMatch(/^training_job_queue_depth 4$/m);
    expect(metrics).toMatch(/^training_jobs\{status="queued"\} 4$/m);
    const ready = await fetch(`${api.base}/ready`);
    expect(ready.status).toBe(200);
    expect(((await ready.json()) as { checks: { jobs: unknown } }).checks.jobs).toEqual({
      status: "ok",
      queued: 4,
      running: 0,
    });

    const worker = await cluster.worker({ POOL_SIZE: "1", WORKER_CONCURRENCY: "1" });
    const done = [
      await settle(ALICE, low.id),
      await settle(ALICE, normal.id),
      await settle(BOB, urgent.id),
      await settle(ALICE, urgent2.id),
    ];
    const order = [...done]
      .sort((a, b) => Date.parse(a.startedAt!) - Date.parse(b.startedAt!))
      .map((j) => j.id);
    expect(order).toEqual([urgent.id, urgent2.id, normal.id, low.id]);
    worker.proc.kill("SIGTERM");
    await worker.exited;
  }, 90_000);

  it("shows a running job's latest epoch on GET /jobs/{id}, between checkpoints", async () => {
    const worker = await cluster.worker({
      POOL_SIZE: "1",
      WORKER_CONCURRENCY: "1",
      CHECKPOINT_EVERY: "100000",
    });
    const job = await create(ALICE, { ...bodyFor(5, 10_000), batchSize: 1 });
    const seen: number[] = [];
    while (seen.length < 3) {
      const now = await get(ALICE, job.id);
      if (now.status === "running" && now.progress.epoch > (seen.at(-1) ?? 0)) {
        expect(now.checkpointEpoch).toBe(0); // no checkpoint yet: the epoch comes from the worker
        expect(now.progress.loss).toBeGreaterThan(0);
        seen.push(now.progress.epoch);
      }
      await sleep(30);
    }
    const listed = (await (await request(ALICE, "/jobs?status=running")).json()) as { jobs: JobJson[] };
    expect(listed.jobs.find((j) => j.id === job.id)!.progress.epoch).toBeGreaterThanOrEqual(seen.at(-1)!);
    const metrics = await (await request(ALICE, "/metrics")).text();
    expect(metrics).toMatch(/^training_jobs\{status="running"\} 1$/m);
    expect((await request(ALICE, `/jobs/${job.id}/cancel`, { method: "POST", body: "{}" })).status).toBe(200);
    worker.proc.kill("SIGTERM");
    await worker.exited;
  }, 60_000);

  it("gives a stream that joins between two checkpoints every event once, in order", async () => {
    // The bug a tester found: a late stream got the stored events and the live ones, but not those
    // of the running chunk published before it subscribed (up to CHECKPOINT_EVERY of them).
    const worker = await cluster.worker({ POOL_SIZE: "1", WORKER_CONCURRENCY: "1", CHECKPOINT_EVERY: "25" });
    const epochs = 2000;
    const job = await create(ALICE, irisJob(epochs, { batchSize: 1, seed: 11 }));
    const headers = { "x-api-key": ALICE };
    const streams: Promise<{ events: { id?: string }[] }>[] = [];
    for (let i = 0; i < 8; i++) {
      const after: Record<string, string> = i % 2 === 0 ? {} : { "last-event-id": String(3 * i) };
      streams.push(followSse(`${api.base}/jobs/${job.id}/events`, () => undefined, { ...headers, ...after }));
      await sleep(120);
    }
    const all = await Promise.all(streams);
    for (const [i, s] of all.entries()) {
      const first = i % 2 === 0 ? 1 : 3 * i + 1;
      expect(s.events.map((e) => Number(e.id))).toEqual(
        Array.from({ length: epochs + 2 - first }, (_, k) => first + k),
      );
    }
    worker.proc.kill("SIGTERM");
    await worker.exited;
  }, 90_000);

  it("counts a client's rate limit over every API process (in Redis)", async () => {
    const env = { API_KEYS: `${ALICE},${BOB}`, RATE_LIMIT_MAX: "5", RATE_LIMIT_WINDOW_MS: "60000" };
    const [a, b] = await Promise.all([cluster.api(env), cluster.api(env)]);
    const get = (base: string, key: string) => fetch(`${base}/jobs`, { headers: { "x-api-key": key } });
    const statuses = [];
    for (let i = 0; i < 6; i++) statuses.push((await get(i % 2 ? b.base : a.base, ALICE)).status);
    expect(statuses).toEqual([200, 200, 200, 200, 200, 429]); // 3 on each process: 6 in all
    expect((await get(b.base, BOB)).status).toBe(200); // another client counts alone
    for (const p of [a, b]) p.proc.kill("SIGTERM");
  }, 60_000);
});
