/**
 * The median stopping rule over HTTP, checked against the trials' own job events: a stopped
 * trial's job is cancelled, and the rule holds at the epoch it stopped and at no epoch before;
 * a trial that ran to the end was never below the rule. Also a grid, and cancelling a search.
 */
import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { TuningJob } from "../../src/schemas/tuning.js";
import { tuningExample } from "../../src/schemas/tuning-examples.js";
import { medianStops } from "../../src/service/tuning/median.js";
import { buildTestApp, getJob, waitForJob } from "./helper.js";
import { parseSse } from "./sse.js";

let app: FastifyInstance;
beforeAll(async () => {
  app = await buildTestApp({ MAX_CONCURRENT_JOBS: "2" });
});
afterAll(async () => {
  await app.close();
});

async function tuning(id: string): Promise<TuningJob> {
  return (await app.inject({ method: "GET", url: `/tuning-jobs/${id}` })).json();
}

async function waitForTuning(
  id: string,
  until = (t: TuningJob) => t.status !== "running",
): Promise<TuningJob> {
  for (;;) {
    const t = await tuning(id);
    if (until(t)) return t;
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** A job's valLoss per epoch, from its stored progress events. */
async function valLosses(jobId: string): Promise<number[]> {
  const res = await app.inject({ method: "GET", url: `/jobs/${jobId}/events` });
  return parseSse(res.body)
    .filter((e) => e.event === "progress")
    .map((e) => JSON.parse(e.data).valLoss as number);
}

describe("earlyStopping: median", () => {
  it("stops a trial at the first epoch its best is worse than the median of the earlier batches' running averages", async () => {
    const body = {
      ...tuningExample,
      base: { ...tuningExample.base, epochs: 20 },
      searchSpace: { "optimizer.learningRate": { type: "logUniform", min: 0.00001, max: 0.05 } },
      maxTrials: 8,
      parallelTrials: 2,
      seed: 3,
      earlyStopping: "median",
    };
    const res = await app.inject({ method: "POST", url: "/tuning-jobs", payload: body });
    expect(res.statusCode).toBe(202);
    const done = await waitForTuning(res.json().id);
    expect(done.status).toBe("succeeded");
    const stopped = done.trials.filter((t) => t.status === "stopped");
    expect(stopped.length).toBeGreaterThan(0);
    const curves: number[][] = [];
    for (const t of done.trials) {
      const job = await waitForJob(app, t.jobId!);
      const losses = await valLosses(t.jobId!);
      const references = curves.slice(0, t.index - (t.index % body.parallelTrials));
      if (t.status === "stopped") {
        expect(job.status).toBe("cancelled");
        const s = t.epochsRun;
        expect(s).toBeLessThan(20);
        expect(t.objective).toBe(losses[s - 1]);
        expect(medianStops(losses.slice(0, s), references, "minimize")).toBe(true);
        curves[t.index] = losses.slice(0, s);
      } else {
        expect(t.status).toBe("succeeded");
        expect(t.epochsRun).toBe(20);
        curves[t.index] = losses;
      }
      for (let s = 1; s < t.epochsRun; s++)
        expect(medianStops(losses.slice(0, s), references, "minimize"), `trial ${t.index} epoch ${s}`).toBe(
          false,
        );
    }
    // The first batch has nothing to compare with.
    expect(done.trials.slice(0, 2).every((t) => t.status === "succeeded")).toBe(true);
    const events = parseSse(
      (await app.inject({ method: "GET", url: `/tuning-jobs/${done.id}/events` })).body,
    );
    expect(events.filter((e) => e.event === "trialStopped").map((e) => JSON.parse(e.data).trial)).toEqual(
      expect.arrayContaining(stopped.map((t) => t.index)),
    );
    // Reproducible: the same body stops the same trials at the same epochs.
    const again = await waitForTuning(
      (await app.inject({ method: "POST", url: "/tuning-jobs", payload: body })).json().id,
    );
    const table = (t: TuningJob) => t.trials.map((x) => [x.parameters, x.status, x.objective, x.epochsRun]);
    expect(table(again)).toEqual(table(done));
  });
});

describe("grid search", () => {
  it("runs every combination, first parameter slowest", async () => {
    const body = {
      ...tuningExample,
      base: { ...tuningExample.base, epochs: 3 },
      searchSpace: {
        "model.layers[0].activation": { type: "choice", values: ["tanh", "relu"] },
        "model.layers[0].units": { type: "int", min: 4, max: 12, step: 4 },
      },
      algorithm: "grid",
      maxTrials: 50,
    };
    const done = await waitForTuning(
      (await app.inject({ method: "POST", url: "/tuning-jobs", payload: body })).json().id,
    );
    expect(done.maxTrials).toBe(6);
    expect(done.trials.map((t) => Object.values(t.parameters))).toEqual([
      ["tanh", 4],
      ["tanh", 8],
      ["tanh", 12],
      ["relu", 4],
      ["relu", 8],
      ["relu", 12],
    ]);
    expect(done.trials.every((t) => t.status === "succeeded")).toBe(true);
  });
});

describe("POST /tuning-jobs/{id}/cancel", () => {
  it("cancels the tuning job and every trial still queued or running", async () => {
    const body = {
      ...tuningExample,
      base: { ...tuningExample.base, epochs: 3000, batchSize: 1 },
      maxTrials: 6,
    };
    const id = (await app.inject({ method: "POST", url: "/tuning-jobs", payload: body })).json().id;
    const started = await waitForTuning(id, (t) => t.trials.some((x) => x.status === "running"));
    expect(started.status).toBe("running");
    const res = await app.inject({ method: "POST", url: `/tuning-jobs/${id}/cancel` });
    expect(res.statusCode).toBe(200);
    expect(res.json().status).toBe("cancelled");
    for (const t of (await tuning(id)).trials)
      expect((await waitForJob(app, t.jobId!)).status).toBe("cancelled");
    const trials = (await tuning(id)).trials.length;
    expect(trials).toBeLessThanOrEqual(2);
    expect((await app.inject({ method: "POST", url: `/tuning-jobs/${id}/cancel` })).statusCode).toBe(409);
    const events = parseSse((await app.inject({ method: "GET", url: `/tuning-jobs/${id}/events` })).body);
    expect(events.at(-1)!.event).toBe("cancelled");
    // Said as the other ends say it: the trials that ended (none here: each was still running).
    expect(JSON.parse(events.at(-1)!.data)).toEqual({ status: "cancelled", trialsDone: 0 });
    const job = await getJob(app, (await tuning(id)).trials[0]!.jobId!);
    expect(job.tuningJobId).toBe(id);
  });
});
