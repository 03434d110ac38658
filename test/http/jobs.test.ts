/**
 * Asynchronous jobs end to end (app.inject, and a real socket for live event streams): exact
 * chunked training, events, cancel, queueing, idempotency, failures, restart from a checkpoint.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { get, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { JobListSchema, JobSchema } from "../../src/schemas/jobs.js";
import { TrainResponseSchema } from "../../src/schemas/responses.js";
import { irisJob } from "../fixtures.js";
import { buildTestApp, getJob, waitForJob } from "./helper.js";
import { followSse, parseSse } from "./sse.js";

const dataDir = mkdtempSync(join(tmpdir(), "jobs-test-"));
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

const iris = irisJob;

/** A job that runs for many seconds unless stopped (one sample per step). */
const long = () => iris(5000, { batchSize: 1 });

type Job = ReturnType<typeof JobSchema.parse>;

async function create(app: FastifyInstance, body: object, headers: Record<string, string> = {}) {
  return app.inject({ method: "POST", url: "/jobs", payload: body, headers });
}

async function train(app: FastifyInstance, body: object) {
  const res = await app.inject({ method: "POST", url: "/train", payload: body });
  expect(res.statusCode, res.body).toBe(200);
  return res.json();
}

describe("jobs", () => {
  let app: FastifyInstance;
  beforeAll(async () => {
    app = await buildTestApp({ DATA_DIR: dataDir, MAX_CONCURRENT_JOBS: "1", CHECKPOINT_EVERY: "4" });
  });
  afterAll(async () => {
    await app.close();
  });

  it("answers 202 with the queued job and its Location, and ends with POST /train's weights, bit for bit", async () => {
    // 18 epochs in chunks of 4 (the last of 2), with a validation split.
    const body = iris(18, { validationSplit: 0.2 });
    const res = await create(app, body);
    expect(res.statusCode, res.body).toBe(202);
    const job = JobSchema.parse(res.json());
    expect(job).toMatchObject({ status: "queued", seed: 7, progress: { epoch: 0, epochs: 18 }, attempts: 0 });
    expect(res.headers.location).toBe(`/jobs/${job.id}`);
    expect(job.links).toEqual({
      self: `/jobs/${job.id}`,
      events: `/jobs/${job.id}/events`,
      cancel: `/jobs/${job.id}/cancel`,
    });
    expect(Date.parse(job.createdAt)).not.toBeNaN();

    const done = await waitForJob(app, job.id);
    expect(done.status, JSON.stringify(done.error)).toBe("succeeded");
    JobSchema.parse(done);
    const result = TrainResponseSchema.parse(done.result);
    const sync = await train(app, body);
    expect(result.weightsSha256).toBe(sync.weightsSha256);
    expect(result.weights).toEqual(sync.weights);
    expect(result.history).toEqual(sync.history); // concatenated over the chunks
    expect(result.gradients).toEqual(sync.gradients);
    expect(result.metrics).toEqual(sync.metrics);
    expect(result.epochsRun).toBe(18);
    expect(result.optimizerState).toBeUndefined(); // not asked for
    expect(done.progress).toMatchObject({ epoch: 18, epochs: 18, loss: sync.history.loss[17] });
    expect(done.progress.valLoss).toBe(sync.history.valLoss[17]);
    expect(done.checkpointEpoch).toBeNull();
    expect(Date.parse(done.finishedAt!)).toBeGreaterThanOrEqual(Date.parse(done.startedAt!));
  });

  it("concatenates telemetry over the chunks and returns the optimizer state when asked", async () => {
    const body = iris(9, {
      optimizer: { type: "sgd", learningRate: 0.05, momentum: 0.9 },
      telemetry: true,
      returnOptimizerState: true,
    });
    const { id } = (await create(app, body)).json();
    const done = await waitForJob(app, id);
    expect(done.status).toBe("succeeded");
    const sync = await train(app, body);
    expect(done.result!.weightsSha256).toBe(sync.weightsSha256);
    expect(done.result!.telemetry).toEqual(sync.telemetry);
    expect(done.result!.optimizerState).toEqual(sync.optimizerState);
  });

  it("continues a body's own optimizerState exactly (a job is itself a continuation)", async () => {
    const first = await train(app, iris(6, { returnOptimizerState: true }));
    const body = iris(7, { initialWeights: first.weights, optimizerState: first.optimizerState });
    const { id } = (await create(app, body)).json();
    const done = await waitForJob(app, id);
    expect(done.status, JSON.stringify(done.error)).toBe("succeeded");
    expect(done.result!.initialEpoch).toBe(6);
    expect(done.result!.weightsSha256).toBe((await train(app, iris(13))).weightsSha256);
    expect(done.progress.epoch).toBe(7); // the job's own epochs, from 1
  });

  it("streams one progress event per epoch, then the final one; late clients replay what they missed", async () => {
    const { id } = (await create(app, iris(10))).json();
    const done = await waitForJob(app, id);
    const res = await app.inject({ method: "GET", url: `/jobs/${id}/events` });
    expect(res.statusCode).toBe(200);
    expect(res.headers["content-type"]).toBe("text/event-stream; charset=utf-8");
    expect(res.headers["cache-control"]).toBe("no-cache");
    expect(res.body.startsWith("retry: ")).toBe(true);
    const events = parseSse(res.body);
    expect(events.map((e) => e.event)).toEqual([...Array(10).fill("progress"), "succeeded"]);
    expect(events.map((e) => e.id)).toEqual(["1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "11"]);
    const progress = events.slice(0, 10).map((e) => JSON.parse(e.data));
    expect(progress.map((p) => p.loss)).toEqual(done.result!.history!.loss);
    expect(progress.map((p) => p.accuracy)).toEqual(done.result!.history!.accuracy);
    expect(progress[3]).toMatchObject({ epoch: 4, epochs: 10 });
    const final = JSON.parse(events[10]!.data);
    expect(final).toMatchObject({
      status: "succeeded",
      epoch: 10,
      weightsSha256: done.result!.weightsSha256,
      metrics: done.result!.metrics,
    });

    const after7 = await app.inject({
      method: "GET",
      url: `/jobs/${id}/events`,
      headers: { "last-event-id": "7" },
    });
    expect(parseSse(after7.body).map((e) => e.id)).toEqual(["8", "9", "10", "11"]);
    const byQuery = await app.inject({ method: "GET", url: `/jobs/${id}/events?lastEventId=10` });
    expect(parseSse(byQuery.body).map((e) => e.event)).toEqual(["succeeded"]);
    const seenAll = await app.inject({
      method: "GET",
      url: `/jobs/${id}/events`,
      headers: { "last-event-id": "11" },
    });
    expect(seenAll.statusCode).toBe(204);
    const bad = await app.inject({
      method: "GET",
      url: `/jobs/${id}/events`,
      headers: { "last-event-id": "x" },
    });
    expect(bad.statusCode).toBe(400);
  });

  it("runs at most MAX_CONCURRENT_JOBS (1) at a time; the others wait in order", async () => {
    const ids: string[] = [];
    for (const seed of [1, 2, 3]) ids.push((await create(app, iris(12, { seed }))).json().id);
    const jobs = [];
    for (const id of ids) jobs.push(await waitForJob(app, id));
    expect(jobs.map((j) => j.status)).toEqual(["succeeded", "succeeded", "succeeded"]);
    for (let i = 1; i < jobs.length; i++)
      expect(Date.parse(jobs[i]!.startedAt!)).toBeGreaterThanOrEqual(Date.parse(jobs[i - 1]!.finishedAt!));
  });

  it("lists jobs newest first, filtered by status, one page at a time", async () => {
    const all = JobListSchema.parse((await app.inject({ method: "GET", url: "/jobs?limit=100" })).json());
    expect(all.jobs.length).toBeGreaterThanOrEqual(6);
    const created = all.jobs.map((j) => Date.parse(j.createdAt));
    expect([...created].sort((a, b) => b - a)).toEqual(created);
    expect(all.jobs.every((j) => j.result === undefined)).toBe(true);

    const page1 = (await app.inject({ method: "GET", url: "/jobs?limit=2" })).json();
    expect(page1.jobs.map((j: Job) => j.id)).toEqual(all.jobs.slice(0, 2).map((j) => j.id));
    expect(page1.hasMore).toBe(true);
    expect(page1.next).toMatch(/^\/jobs\?limit=2&cursor=\d+$/);
    const page2 = (await app.inject({ method: "GET", url: page1.next })).json();
    expect(page2.jobs.map((j: Job) => j.id)).toEqual(all.jobs.slice(2, 4).map((j) => j.id));
    // The id of the last job listed still works as a cursor.
    const byId = (await app.inject({ method: "GET", url: `/jobs?limit=2&after=${all.jobs[1]!.id}` })).json();
    expect(byId.jobs).toEqual(page2.jobs);

    const succeeded = (await app.inject({ method: "GET", url: "/jobs?status=succeeded&limit=100" })).json();
    expect(succeeded.jobs.length).toBe(all.jobs.filter((j) => j.status === "succeeded").length);
    expect(succeeded.next).toBeNull();

    for (const url of [
      "/jobs?status=done",
      "/jobs?limit=0",
      "/jobs?after=job_nope",
      "/jobs?cursor=x",
      "/jobs?after=job_nope&cursor=5",
    ]) {
      const res = await app.inject({ method: "GET", url });
      expect(res.statusCode, url).toBe(400);
      expect(res.headers["content-type"]).toMatch(/^application\/problem\+json/);
    }
  });

  it("returns the first job for a repeated Idempotency-Key, 422 when the body or priority differs", async () => {
    const headers = { "idempotency-key": "retry-me-1" };
    const first = await create(app, iris(3, { seed: 11 }), headers);
    expect(first.statusCode).toBe(202);
    // Same body, keys in another order: still the same request.
    const { seed, epochs, ...rest } = iris(3, { seed: 11 });
    const again = await create(app, { epochs, seed, ...rest }, headers);
    expect(again.statusCode).toBe(202);
    expect(again.json().id).toBe(first.json().id);
    expect(again.headers["idempotent-replayed"]).toBe("true");
    expect(again.headers.location).toBe(first.headers.location);
    const other = await create(app, iris(4, { seed: 11 }), headers);
    expect(other.statusCode).toBe(422);
    expect(other.json().type).toBe("/problems/idempotency-key-reused");
    // The same body at another priority is another request too.
    const urgent = await app.inject({
      method: "POST",
      url: "/jobs?priority=1",
      payload: iris(3, { seed: 11 }),
      headers,
    });
    expect(urgent.statusCode).toBe(422);
    expect(urgent.json().errors[0]).toMatchObject({ path: "querystring.priority" });
    expect(urgent.json().detail).toMatch(/different priority \(100\)/);
    const fresh = await create(app, iris(3, { seed: 11 }), { "idempotency-key": "retry-me-2" });
    expect(fresh.json().id).not.toBe(first.json().id);
    await waitForJob(app, fresh.json().id);
  });

  it("checks the body as POST /train does: 400 and 422 at once, no job created", async () => {
    const before = (await app.inject({ method: "GET", url: "/jobs?limit=100" })).json().jobs.length;
    const bad = await create(app, { ...iris(3), epochs: 0 });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().errors[0].path).toBe("epochs");
    const unfit = await create(app, { ...iris(3), model: { ...iris(3).model, inputShape: [5] } });
    expect(unfit.statusCode).toBe(422);
    const missing = await create(app, { ...iris(3), dataset: { id: "ds_missing" } });
    expect(missing.statusCode).toBe(404);
    expect((await app.inject({ method: "GET", url: "/jobs?limit=100" })).json().jobs.length).toBe(before);
  });

  it("cancels a queued job; 409 for a finished one; 404 for unknown ids", async () => {
    const running = (await create(app, long())).json();
    const queued = (await create(app, iris(5))).json();
    expect((await getJob(app, queued.id)).status).toBe("queued");
    const res = await app.inject({ method: "POST", url: `/jobs/${queued.id}/cancel` });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ status: "cancelled", progress: { epoch: 0 } });
    const events = parseSse((await app.inject({ method: "GET", url: `/jobs/${queued.id}/events` })).body);
    expect(events.map((e) => [e.id, e.event])).toEqual([["6", "cancelled"]]);
    const again = await app.inject({ method: "POST", url: `/jobs/${queued.id}/cancel` });
    expect(again.statusCode).toBe(409);
    expect(again.json()).toMatchObject({ type: "/problems/conflict", status: 409 });
    expect(again.json().detail).toMatch(/already been cancelled/);
    await app.inject({ method: "POST", url: `/jobs/${running.id}/cancel` });

    for (const [method, url] of [
      ["GET", "/jobs/job_nope"],
      ["POST", "/jobs/job_nope/cancel"],
      ["GET", "/jobs/job_nope/events"],
    ] as const) {
      const r = await app.inject({ method, url });
      expect(r.statusCode, url).toBe(404);
      expect(r.headers["content-type"]).toMatch(/^application\/problem\+json/);
      expect(r.json()).toMatchObject({ type: "/problems/not-found", detail: "there is no job job_nope" });
    }
  });

  it("cancels with an empty body whatever its Content-Type (application/json, a form type)", async () => {
    for (const type of ["application/json", "application/x-www-form-urlencoded"]) {
      const job = (await create(app, long())).json();
      const res = await app.inject({
        method: "POST",
        url: `/jobs/${job.id}/cancel`,
        headers: { "content-type": type, "content-length": "0" },
      });
      expect(res.statusCode, `${type}: ${res.body}`).toBe(200);
      expect(res.json()).toMatchObject({ id: job.id, status: "cancelled" });
    }
    // A body that is there is still read: malformed JSON is a 400.
    const job = (await create(app, long())).json();
    const bad = await app.inject({
      method: "POST",
      url: `/jobs/${job.id}/cancel`,
      headers: { "content-type": "application/json" },
      payload: "{",
    });
    expect(bad.statusCode).toBe(400);
    await app.inject({ method: "POST", url: `/jobs/${job.id}/cancel` });
  });

  it("ends a diverging job failed, with the epoch and the reason, and keeps serving", async () => {
    const body = {
      model: { inputShape: [1], layers: [{ type: "dense", units: 1 }], loss: "meanSquaredError" },
      dataset: { x: [[100], [200]], y: [1e6, 2e6] },
      optimizer: { type: "sgd", learningRate: 10 },
      epochs: 100,
      seed: 1,
    };
    const { id } = (await create(app, body)).json();
    const job = await waitForJob(app, id);
    expect(job.status).toBe("failed");
    expect(job.error).toMatchObject({ type: "/problems/diverged", title: "Training diverged", status: 422 });
    expect(job.error!.detail).toMatch(/^training diverged in epoch \d+/);
    expect(job.diverged).toMatchObject({ epoch: expect.any(Number), stage: expect.any(String) });
    expect(job.result).toBeUndefined();
    const events = parseSse((await app.inject({ method: "GET", url: `/jobs/${id}/events` })).body);
    const final = events.at(-1)!;
    expect([final.event, final.id]).toEqual(["failed", "101"]);
    expect(JSON.parse(final.data).diverged.epoch).toBe(job.diverged!.epoch);
    expect((await app.inject({ method: "GET", url: "/health" })).statusCode).toBe(200);
    const next = (await create(app, iris(2))).json();
    expect((await waitForJob(app, next.id)).status).toBe("succeeded");
  });

  it("exposes Prometheus metrics and readiness", async () => {
    const res = await app.inject({ method: "GET", url: "/metrics" });
    expect(res.statusCode).toBe(200);
    expect(res.headers["content-type"]).toMatch(/^text\/plain; version=0\.0\.4/);
    const text = res.body;
    expect(text).toMatch(/^http_requests_total\{method="POST",route="\/jobs",status_code="202"\} \d+$/m);
    expect(text).toMatch(/^http_requests_total\{method="GET",route="\/jobs\/:id",status_code="404"\} \d+$/m);
    expect(text).toMatch(/^training_jobs\{status="succeeded"\} [1-9]\d*$/m);
    expect(text).toMatch(/^training_jobs\{status="cancelled"\} [1-9]\d*$/m);
    expect(text).toMatch(/^training_job_duration_seconds_count\{status="succeeded"\} [1-9]\d*$/m);
    expect(text).toMatch(/^training_job_queue_depth \d+$/m);
    expect(text).toMatch(/^worker_pool_utilization [\d.]+$/m);
    // The worker threads' matrix-product kernels (native where `npm install` built them).
    expect(text).toMatch(
      /^engine_kernels_info\{kernels="(native-avx512|native-avx2|native|wasm|typescript)"\} 1$/m,
    );
    expect(text).toMatch(/^process_resident_memory_bytes \d+/m);
    const ready = await app.inject({ method: "GET", url: "/ready" });
    expect(ready.statusCode).toBe(200);
    expect(ready.json()).toMatchObject({
      status: "ready",
      checks: { database: { status: "ok" }, pool: { size: 2 } },
    });
  });
});

describe("a running job", () => {
  let app: FastifyInstance;
  let base: string;
  beforeAll(async () => {
    // One worker: after a cancel, anything else can only run if that worker was freed.
    app = await buildTestApp({ POOL_SIZE: "1", MAX_CONCURRENT_JOBS: "1" });
    await app.listen({ port: 0, host: "127.0.0.1" });
    base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await app.close();
  });

  it("streams its epochs live, is cancelled within one epoch, and frees its worker at once", async () => {
    await train(app, iris(1)); // the worker is warm
    const { id } = (await create(app, long())).json();
    let cancelledAt = 0;
    let healthMs = 0;
    const { status, events } = await followSse(`${base}/jobs/${id}/events`, (e) => {
      if (e.event === "progress" && Number(e.id) === 3) {
        // Live: the job is still running while its events arrive.
        void (async () => {
          const t = performance.now();
          await fetch(`${base}/health`);
          healthMs = performance.now() - t;
          const job = (await (await fetch(`${base}/jobs/${id}`)).json()) as Job;
          expect(job.status).toBe("running");
          cancelledAt = performance.now();
          const res = await fetch(`${base}/jobs/${id}/cancel`, { method: "POST" });
          expect(res.status).toBe(200);
        })();
      }
      return undefined;
    });
    const streamEnded = performance.now();
    expect(status).toBe(200);
    const last = events.at(-1)!;
    expect(last.event).toBe("cancelled");
    expect(last.id).toBe("5001");
    const progress = events.filter((e) => e.event === "progress");
    expect(progress.map((e) => Number(e.id))).toEqual(progress.map((_, i) => i + 1));
    expect(healthMs).toBeLessThan(200);
    // The stream ended as soon as the job was cancelled, not after its epoch.
    expect(streamEnded - cancelledAt).toBeLessThan(500);
    const job = await getJob(app, id);
    expect(job.status).toBe("cancelled");
    expect(job.progress.epoch).toBe(JSON.parse(last.data).epoch);
    expect(job.progress.epoch).toBeLessThan(5000);
    // The only worker is free: a short run is not stuck behind 5,000 epochs.
    const t = performance.now();
    await train(app, iris(1));
    expect(performance.now() - t).toBeLessThan(2000);
    expect((await app.inject({ method: "POST", url: `/jobs/${id}/cancel` })).statusCode).toBe(409);
  });
});

describe("faults", () => {
  it("a worker that runs out of memory fails only its job", async () => {
    const app = await buildTestApp({ POOL_SIZE: "1", MAX_CONCURRENT_JOBS: "1", WORKER_MAX_HEAP_MB: "32" });
    try {
      // 1,000,000 weights: the answer's nested arrays and JSON need far more than 32 MiB.
      const f = 1000;
      const big = {
        model: { inputShape: [f], layers: [{ type: "dense", units: 1000 }], loss: "meanSquaredError" },
        dataset: {
          x: [Array(f).fill(0.5), Array(f).fill(0.1)],
          y: [Array(1000).fill(1), Array(1000).fill(0)],
        },
        optimizer: { type: "sgd", learningRate: 0.01 },
        epochs: 1,
        seed: 1,
      };
      const doomed = (await create(app, big)).json();
      const fine = (await create(app, iris(3))).json();
      const failed = await waitForJob(app, doomed.id);
      expect(failed.status).toBe("failed");
      expect(failed.error).toMatchObject({ type: "/problems/worker-failed", status: 503 });
      expect(failed.error!.detail).toMatch(/memory/);
      const ok = await waitForJob(app, fine.id);
      expect(ok.status).toBe("succeeded");
      expect(ok.result!.weightsSha256).toBe((await train(app, iris(3))).weightsSha256);
    } finally {
      await app.close();
    }
  });

  it("a job interrupted by a shutdown resumes from its checkpoint and ends with the uninterrupted weights", async () => {
    const dir = mkdtempSync(join(tmpdir(), "jobs-restart-"));
    const env = { DATA_DIR: dir, POOL_SIZE: "1", MAX_CONCURRENT_JOBS: "1", CHECKPOINT_EVERY: "5" };
    try {
      // Long enough (≈ 0.5 s) to be caught between checkpoints.
      const body = iris(400, {
        batchSize: 1,
        model: {
          ...iris(1).model,
          layers: [
            { type: "dense", units: 16, activation: "tanh" },
            { type: "dense", units: 3, activation: "softmax" },
          ],
        },
      });
      let app = await buildTestApp(env);
      const { id } = (await create(app, body)).json();
      const queued = (await create(app, iris(4))).json();
      const before = await waitForJob(
        app,
        id,
        (j) => (j.checkpointEpoch ?? 0) >= 10 || j.status === "succeeded",
      );
      expect(before.status).toBe("running");
      await app.close();

      app = await buildTestApp(env);
      try {
        // Still unfinished in the database: the new app takes it up again.
        const resumed = await waitForJob(app, id);
        expect(resumed.status).toBe("succeeded");
        expect(resumed.attempts).toBe(2);
        expect(resumed.result!.epochsRun).toBe(400);
        expect(resumed.result!.history!.loss).toHaveLength(400);
        const sync = await train(app, body);
        expect(resumed.result!.weightsSha256).toBe(sync.weightsSha256);
        expect(resumed.result!.history).toEqual(sync.history);
        // One event per epoch across both runs, no gap and no repeat.
        const events = parseSse((await app.inject({ method: "GET", url: `/jobs/${id}/events` })).body);
        expect(events.map((e) => Number(e.id))).toEqual(Array.from({ length: 401 }, (_, i) => i + 1));
        // The job that was queued behind it ran after it.
        expect((await waitForJob(app, queued.id)).status).toBe("succeeded");
      } finally {
        await app.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("long jobs: bounded progress events, a replay that shares the event loop", () => {
  let app: FastifyInstance;
  let base: string;
  beforeAll(async () => {
    app = await buildTestApp({ MAX_CONCURRENT_JOBS: "1" });
    await app.listen({ port: 0, host: "127.0.0.1" });
    base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await app.close();
  });

  /** XOR by one sigmoid unit: the tester's long job, cheap per epoch. */
  const xor = (epochs: number) => ({
    model: {
      inputShape: [2],
      layers: [{ type: "dense", units: 1, activation: "sigmoid" }],
      loss: "binaryCrossentropy",
    },
    dataset: { name: "xor" },
    optimizer: { type: "sgd", learningRate: 0.5 },
    epochs,
    seed: 5,
  });

  it("emits one progress event every ceil(epochs / 10,000) epochs and each chunk's last, ids = epochs", async () => {
    // 25,000 epochs: one event every 3 epochs, plus the last epoch of each chunk and of the job.
    const { id } = (await create(app, xor(25_000))).json();
    const done = await waitForJob(app, id, undefined, 60_000);
    expect(done.status).toBe("succeeded");
    // The answer is unchanged: every epoch's loss is in the history.
    expect(done.result!.history!.loss).toHaveLength(25_000);
    const res = await app.inject({ method: "GET", url: `/jobs/${id}/events` });
    const events = parseSse(res.body);
    const progress = events.filter((e) => e.event === "progress");
    expect(events.at(-1)).toMatchObject({ event: "succeeded", id: "25001" });
    const ids = progress.map((e) => Number(e.id));
    // Ascending, each the epoch it reports, with that epoch's loss from the history.
    for (let i = 0; i < progress.length; i++) {
      if (i > 0) expect(ids[i]).toBeGreaterThan(ids[i - 1]!);
      const p = JSON.parse(progress[i]!.data);
      expect(p.epoch).toBe(ids[i]);
      expect(p.loss).toBe(done.result!.history!.loss[ids[i]! - 1]);
    }
    // Every third epoch is there; the others only as a chunk's last (a few dozen chunks at most).
    expect(ids.filter((e) => e % 3 === 0)).toHaveLength(8333);
    const offStride = ids.filter((e) => e % 3 !== 0);
    expect(offStride.at(-1)).toBe(25_000);
    expect(offStride.length).toBeLessThan(100);
    // Last-Event-ID resumes after any of them.
    const after = await app.inject({
      method: "GET",
      url: `/jobs/${id}/events`,
      headers: { "last-event-id": "3000" },
    });
    expect(parseSse(after.body)[0]!.id).toBe("3003");
  });

  it("replays 100,000 stored events a page at a time: /health answers while the replay is under way", async () => {
    // A cancelled job given 100,000 stored progress events (about 12 MB of stream).
    const { id } = (await create(app, xor(200_000))).json();
    await app.inject({ method: "POST", url: `/jobs/${id}/cancel` });
    await waitForJob(app, id, (j) => j.status === "cancelled");
    const total = 100_000;
    const insert = app.store.db.prepare(
      "INSERT OR REPLACE INTO job_events (job_id, seq, type, data) VALUES (?, ?, 'progress', ?)",
    );
    app.store.db.transaction(() => {
      for (let e = 1; e <= total; e++)
        insert.run(id, e, JSON.stringify({ epoch: e, epochs: 200_000, loss: 0.25 + 1 / e, accuracy: 0.75 }));
    })();

    // What the server had done with the stream when /health reached it.
    let stream: ServerResponse | undefined;
    let seenAtHealth: { ended: boolean; bytes: number } | undefined;
    let bytes = 0;
    const watch = (req: IncomingMessage, res: ServerResponse) => {
      if (req.url?.endsWith("/events")) {
        stream = res;
        const write = res.write.bind(res) as (chunk: string) => boolean;
        res.write = ((chunk: string) => {
          bytes += Buffer.byteLength(chunk);
          return write(chunk);
        }) as typeof res.write;
      } else if (req.url === "/health" && stream) seenAtHealth = { ended: stream.writableEnded, bytes };
    };
    app.server.on("request", watch);
    try {
      // A client that reads the first chunk, then stops reading until /health has answered.
      const body = await new Promise<string>((resolve, reject) => {
        const req = get(`${base}/jobs/${id}/events`, { agent: false }, (res) => {
          const chunks: Buffer[] = [];
          let paused = false;
          res.on("data", (chunk: Buffer) => {
            chunks.push(chunk);
            if (paused) return;
            paused = true;
            res.pause();
            fetch(`${base}/health`)
              .then((health) => {
                expect(health.status).toBe(200);
                res.resume();
              })
              .catch(reject);
          });
          res.on("end", () => resolve(Buffer.concat(chunks).toString()));
          res.on("error", reject);
        });
        req.on("error", reject);
      });
      // /health was served while the stream had been written only in part, and was still open.
      expect(seenAtHealth).toBeDefined();
      expect(seenAtHealth!.ended).toBe(false);
      expect(seenAtHealth!.bytes).toBeGreaterThan(0);
      expect(seenAtHealth!.bytes).toBeLessThan(bytes);
      // The whole backlog arrived, in order, then the final event.
      const events = parseSse(body);
      expect(events).toHaveLength(total + 1);
      expect(events[0]!.id).toBe("1");
      expect(events[total - 1]!.id).toBe(String(total));
      expect(events.every((e, i) => i === 0 || Number(e.id) > Number(events[i - 1]!.id))).toBe(true);
      expect(events[total]).toMatchObject({ event: "cancelled", id: "200001" });
    } finally {
      app.server.off("request", watch);
    }
  });
});
