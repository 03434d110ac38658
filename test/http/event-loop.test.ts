/**
 * The event loop while built-in MNIST requests are handled (docs/performance.md, "Event-loop
 * stalls"): the digits are decoded once per process off the event loop, and every request's
 * samples are shared with the worker, not copied, so the main thread is never held for long.
 * Before, the first request held it 1-2 s (parsing the package's JSON), every later /train about
 * 270 ms (a 62 MB copy and a pass over it) and POST /jobs about 700 ms; the bound below is far
 * from both, and far above the 10-35 ms the longest gap measures now on a loaded 2-core machine.
 */
import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildTestApp, waitForJob } from "./helper.js";

/** Longest gap, ms, between ticks of a 5 ms interval timer while `run` runs (after a few ticks). */
async function longestGap(run: () => Promise<void>): Promise<number> {
  let last = performance.now();
  let longest = 0;
  const timer = setInterval(() => {
    const now = performance.now();
    longest = Math.max(longest, now - last);
    last = now;
  }, 5);
  try {
    await new Promise((r) => setTimeout(r, 30));
    await run();
  } finally {
    clearInterval(timer);
  }
  return Math.max(longest, performance.now() - last);
}

/** One epoch of softmax regression over the 10,000 digits: about 0.1 s of engine time. */
const body = {
  model: {
    inputShape: [28, 28, 1],
    layers: [{ type: "flatten" }, { type: "dense", units: 10, activation: "softmax" }],
    loss: "sparseCategoricalCrossentropy",
  },
  dataset: { name: "mnist" },
  optimizer: { type: "adam", learningRate: 0.003 },
  epochs: 1,
  batchSize: 256,
  seed: 1,
  return: ["history", "metrics"],
};

describe("the event loop during built-in MNIST requests", () => {
  let app: FastifyInstance;
  beforeAll(async () => {
    app = await buildTestApp();
    // Outside the measure: the first answers compile the OpenAPI checks of the tests (helper.ts), a
    // one-off 0.5 s of this test's own, and start an engine thread.
    const xor = { ...body, model: { ...body.model, inputShape: [2], layers: body.model.layers.slice(1) } };
    const warm = await app.inject({
      method: "POST",
      url: "/train",
      payload: { ...xor, dataset: { name: "xor" } },
    });
    expect(warm.statusCode).toBe(200);
    const job = await app.inject({
      method: "POST",
      url: "/jobs",
      payload: { ...xor, dataset: { name: "xor" } },
    });
    expect((await waitForJob(app, job.json().id)).status).toBe("succeeded");
  });
  afterAll(() => app.close());

  it("is never held 400 ms: the first /train (decoding the digits), a second, a job from POST /jobs to its end", async () => {
    const answers: number[] = [];
    const gap = await longestGap(async () => {
      for (let i = 0; i < 2; i++) {
        const r = await app.inject({ method: "POST", url: "/train", payload: body });
        answers.push(r.statusCode);
        expect(r.json().history.loss[0]).toBeGreaterThan(0);
      }
      const created = await app.inject({ method: "POST", url: "/jobs", payload: body });
      answers.push(created.statusCode);
      const job = await waitForJob(app, created.json().id);
      expect(job.status).toBe("succeeded");
    });
    expect(answers).toEqual([200, 200, 202]);
    // Measured 19–29 ms here (load 4); the code before measured 1,211–1,314 ms. The bound leaves
    // room for other test files sharing the 2 cores.
    expect(gap, `the event loop was held ${gap.toFixed(0)} ms`).toBeLessThan(400);
  });
});
