/**
 * Faults of synchronous requests: a request over SYNC_TIMEOUT_MS (waiting for a worker included)
 * is stopped and answered 504; a saturated pool refuses work before reading its body (503); a
 * worker thread that dies (over WORKER_MAX_HEAP_MB) fails only its own request (503) and the
 * pool replaces it.
 */
import { describe, expect, it } from "vitest";
import { trainExample } from "../../src/schemas/examples.js";
import { buildTestApp, type ProblemBody } from "./helper.js";

const long = { ...trainExample, epochs: 10_000, batchSize: 1 };
const short = { ...trainExample, epochs: 1 };

describe("SYNC_TIMEOUT_MS", () => {
  it("stops a request that runs too long, and one that waited too long, with 504 pointing to POST /jobs", async () => {
    const app = await buildTestApp({ POOL_SIZE: "1", SYNC_TIMEOUT_MS: "400" });
    try {
      const post = (payload: object) => app.inject({ method: "POST", url: "/train", payload }).then((r) => r);
      const started = performance.now();
      // The first runs past the limit; the second waits behind it for the only worker until its own
      // limit passes.
      const [running, waiting] = await Promise.all([post(long), post(long)]);
      const elapsed = performance.now() - started;
      for (const res of [running, waiting]) {
        expect(res.statusCode).toBe(504);
        expect(res.headers["content-type"]).toMatch(/^application\/problem\+json/);
        const problem = res.json() as ProblemBody;
        expect(problem).toMatchObject({ type: "/problems/timeout", status: 504, title: "Request timed out" });
        expect(problem.detail).toContain("400 ms");
        expect(problem.detail).toContain("POST /jobs");
      }
      expect(elapsed).toBeGreaterThanOrEqual(390);
      expect(elapsed).toBeLessThan(3000);
      // The worker was stopped, not left training: the pool is idle and a short run answers at once.
      expect(app.pool.pending).toBe(0);
      const t = performance.now();
      const ok = await post(short);
      expect(ok.statusCode).toBe(200);
      expect(performance.now() - t).toBeLessThan(2000);
      // /gradients and /predict run under the same limit (here well within it).
      const grads = await app.inject({
        method: "POST",
        url: "/gradients",
        payload: { model: trainExample.model, seed: 1, x: [5.1, 3.5, 1.4, 0.2], y: 0 },
      });
      expect(grads.statusCode).toBe(200);
    } finally {
      await app.close();
    }
  });
});

describe("overload", () => {
  it("refuses work with 503 before reading the body when every worker is busy and the queue is full", async () => {
    const app = await buildTestApp({ POOL_SIZE: "1", MAX_QUEUE: "0", SYNC_TIMEOUT_MS: "1000" });
    try {
      const running = app.inject({ method: "POST", url: "/train", payload: long }).then((r) => r);
      while (app.pool.pending === 0) await new Promise((r) => setTimeout(r, 5));
      // Malformed JSON would be a 400 if it were parsed: the refusal comes first.
      const refused = await app.inject({
        method: "POST",
        url: "/gradients",
        payload: "{not json",
        headers: { "content-type": "application/json" },
      });
      expect(refused.statusCode).toBe(503);
      expect(refused.headers["retry-after"]).toBe("5");
      expect(refused.json()).toMatchObject({ type: "/problems/overloaded", status: 503 });
      // Routes that do not need a worker still answer.
      expect((await app.inject({ method: "GET", url: "/health" })).statusCode).toBe(200);
      expect((await running).statusCode).toBe(504);
    } finally {
      await app.close();
    }
  });
});

describe("a worker thread that dies", () => {
  it("fails only its own POST /train with 503 worker-failed; the pool replaces the thread", async () => {
    const app = await buildTestApp({ POOL_SIZE: "1", WORKER_MAX_HEAP_MB: "32" });
    try {
      // 1,000,000 weights: the answer's nested arrays and JSON text need far more than 32 MiB.
      const f = 1000;
      const doomed = {
        model: { inputShape: [f], layers: [{ type: "dense", units: 1000 }], loss: "meanSquaredError" },
        dataset: {
          x: [Array(f).fill(0.5), Array(f).fill(0.1)],
          y: [Array(1000).fill(1), Array(1000).fill(0)],
        },
        optimizer: { type: "sgd", learningRate: 0.01 },
        epochs: 1,
        seed: 1,
      };
      const post = (payload: object) => app.inject({ method: "POST", url: "/train", payload }).then((r) => r);
      // A request queued behind the doomed one on the same (only) worker is not affected.
      const [failed, queued] = await Promise.all([post(doomed), post(short)]);
      expect(failed.statusCode).toBe(503);
      expect(failed.headers["content-type"]).toMatch(/^application\/problem\+json/);
      const problem = failed.json() as ProblemBody;
      expect(problem).toMatchObject({ type: "/problems/worker-failed", status: 503 });
      expect(problem.detail).toMatch(/out of memory/);
      expect(failed.headers["retry-after"]).toBeUndefined(); // the same request would fail again
      expect(queued.statusCode).toBe(200);
      const next = await post(short);
      expect(next.statusCode).toBe(200);
      expect(next.json().weightsSha256).toBe(queued.json().weightsSha256);
      expect((await app.inject({ method: "GET", url: "/ready" })).json().checks.pool.threads).toBe(1);
    } finally {
      await app.close();
    }
  });
});

describe("INLINE_MAX_WORK", () => {
  it("answers a tiny /predict and /gradients at once while a long /train holds the only worker", async () => {
    const app = await buildTestApp({ POOL_SIZE: "1", SYNC_TIMEOUT_MS: "2000" });
    const off = await buildTestApp({ POOL_SIZE: "1", INLINE_MAX_WORK: "0" });
    try {
      const running = app.inject({ method: "POST", url: "/train", payload: long }).then((r) => r);
      while (app.pool.pending === 0) await new Promise((r) => setTimeout(r, 5));
      const weights = (await app.inject({ method: "POST", url: "/train", payload: short })).json().weights;
      const predict = { model: trainExample.model, weights, x: [[5.1, 3.5, 1.4, 0.2]] };
      const gradients = {
        model: trainExample.model,
        weights,
        seed: 1,
        x: [5.1, 3.5, 1.4, 0.2],
        y: 0,
        numericalCheck: true,
      };
      const [p, g] = await Promise.all([
        app.inject({ method: "POST", url: "/predict", payload: predict }),
        app.inject({ method: "POST", url: "/gradients", payload: gradients }),
      ]);
      expect([p.statusCode, g.statusCode]).toEqual([200, 200]);
      expect(app.pool.pending).toBe(1); // the long run still holds the worker: these did not wait for it
      // The pool gives the same answers (the same engine code), bit for bit.
      const [p2, g2] = await Promise.all([
        off.inject({ method: "POST", url: "/predict", payload: predict }),
        off.inject({ method: "POST", url: "/gradients", payload: gradients }),
      ]);
      expect(p.body).toBe(p2.body);
      expect(g.json().gradients).toEqual(g2.json().gradients);
      expect(g.json().numerical).toEqual(g2.json().numerical);
      expect((await running).statusCode).toBe(504); // stopped at SYNC_TIMEOUT_MS
    } finally {
      await Promise.all([app.close(), off.close()]);
    }
  }, 30_000);
});
