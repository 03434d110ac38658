/**
 * POST /tuning-jobs over HTTP (embedded mode): a search runs its trials as the owner's jobs, each
 * trial's result is the job's own, the best trial is the one with the best objective, and the
 * same body gives the same trials and results. Bodies are checked before anything runs.
 */
import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { TuningJob } from "../../src/schemas/tuning.js";
import { tuningExample } from "../../src/schemas/tuning-examples.js";
import { buildTestApp, getJob } from "./helper.js";
import { parseSse } from "./sse.js";

let app: FastifyInstance;
beforeAll(async () => {
  app = await buildTestApp({ MAX_CONCURRENT_JOBS: "2" });
});
afterAll(async () => {
  await app.close();
});

/** A small search: 4 random trials, 2 at a time, 8 epochs each. */
const smallSearch = {
  ...tuningExample,
  base: { ...tuningExample.base, epochs: 8 },
  maxTrials: 4,
  seed: 11,
};

async function create(body: object) {
  return app.inject({ method: "POST", url: "/tuning-jobs", payload: body });
}

async function tuning(id: string): Promise<TuningJob> {
  const res = await app.inject({ method: "GET", url: `/tuning-jobs/${id}` });
  expect(res.statusCode).toBe(200);
  return res.json();
}

/** Polls until the tuning job ends. */
async function waitForTuning(id: string): Promise<TuningJob> {
  for (;;) {
    const t = await tuning(id);
    if (t.status !== "running") return t;
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** What must be equal between two runs of one body. */
const outcome = (t: TuningJob) =>
  t.trials.map(({ index, parameters, seed, status, objective, epochsRun }) => ({
    index,
    parameters,
    seed,
    status,
    objective,
    epochsRun,
  }));

describe("POST /tuning-jobs", () => {
  let first: TuningJob;

  it("runs every trial as a job of its own and keeps the best", async () => {
    const res = await create(smallSearch);
    expect(res.statusCode).toBe(202);
    expect(res.headers.location).toBe(`/tuning-jobs/${res.json().id}`);
    first = await waitForTuning(res.json().id);
    expect(first.status).toBe("succeeded");
    expect(first.trials).toHaveLength(4);
    expect(first.trialsDone).toBe(4);
    const seeds = new Set(first.trials.map((t) => t.seed));
    expect(seeds.size).toBe(4);
    for (const t of first.trials) {
      expect(t.status).toBe("succeeded");
      expect(t.epochsRun).toBe(8);
      const lr = t.parameters["optimizer.learningRate"] as number;
      const units = t.parameters["model.layers[0].units"] as number;
      expect(lr).toBeGreaterThanOrEqual(0.0005);
      expect(lr).toBeLessThanOrEqual(0.1);
      expect(Number.isInteger(units) && units >= 2 && units <= 32).toBe(true);
      // The trial's job: its body is base with the values put in and the trial's seed; the objective is its last valLoss.
      const job = await getJob(app, t.jobId!);
      expect(job.tuningJobId).toBe(first.id);
      expect(job.seed).toBe(t.seed);
      expect(job.result!.history!.valLoss!.at(-1)).toBe(t.objective);
      expect(job.modelId).toBe(t.modelId);
      const model = (await app.inject({ method: "GET", url: `/models/${t.modelId}` })).json();
      expect(model.spec.layers[0].units).toBe(units);
    }
    const objectives = first.trials.map((t) => t.objective!);
    const bestIndex = objectives.indexOf(Math.min(...objectives));
    expect(first.best).toMatchObject({
      trial: bestIndex,
      objective: objectives[bestIndex],
      modelId: first.trials[bestIndex]!.modelId,
      parameters: first.trials[bestIndex]!.parameters,
    });
  });

  it("gives the same trials and results for the same body", async () => {
    const again = await waitForTuning((await create(smallSearch)).json().id);
    expect(outcome(again)).toEqual(outcome(first));
    expect(again.trials.map((t) => t.jobId)).not.toEqual(first.trials.map((t) => t.jobId));
  });

  it("streams trial starts and ends, new bests and the end; Last-Event-ID replays", async () => {
    const res = await app.inject({ method: "GET", url: `/tuning-jobs/${first.id}/events` });
    expect(res.statusCode).toBe(200);
    const events = parseSse(res.body);
    expect(events.filter((e) => e.event === "trialStarted")).toHaveLength(4);
    expect(events.filter((e) => e.event === "trialEnded")).toHaveLength(4);
    const bests = events
      .filter((e) => e.event === "newBest")
      .map((e) => JSON.parse(e.data).objective as number);
    expect(bests.at(-1)).toBe(first.best!.objective);
    for (let i = 1; i < bests.length; i++) expect(bests[i]!).toBeLessThan(bests[i - 1]!);
    expect(events.at(-1)!.event).toBe("succeeded");
    expect(events.map((e) => Number(e.id))).toEqual(events.map((_, i) => i + 1));
    const replay = await app.inject({
      method: "GET",
      url: `/tuning-jobs/${first.id}/events`,
      headers: { "last-event-id": String(events.length - 2) },
    });
    expect(parseSse(replay.body).map((e) => e.id)).toEqual(events.slice(-2).map((e) => e.id));
    const none = await app.inject({
      method: "GET",
      url: `/tuning-jobs/${first.id}/events`,
      headers: { "last-event-id": String(events.length) },
    });
    expect(none.statusCode).toBe(204);
  });

  it("lists tuning jobs newest first", async () => {
    const res = await app.inject({ method: "GET", url: "/tuning-jobs?limit=1" });
    expect(res.statusCode).toBe(200);
    const page = res.json();
    expect(page.tuningJobs).toHaveLength(1);
    expect(page.hasMore).toBe(true);
    const next = (await app.inject({ method: "GET", url: page.next })).json();
    expect(next.tuningJobs[0].id).toBe(first.id);
  });

  it("lists only the tuning jobs in ?status=, and its next link keeps the filter", async () => {
    const all = (await app.inject({ method: "GET", url: "/tuning-jobs" })).json().tuningJobs;
    expect(all.length).toBeGreaterThanOrEqual(2);
    const succeeded = await app.inject({ method: "GET", url: "/tuning-jobs?status=succeeded&limit=1" });
    expect(succeeded.statusCode).toBe(200);
    const page = succeeded.json();
    expect(page.tuningJobs.map((t: { status: string }) => t.status)).toEqual(["succeeded"]);
    expect(page.next).toMatch(/[?&]status=succeeded/);
    const running = (await app.inject({ method: "GET", url: "/tuning-jobs?status=running" })).json();
    expect(running.tuningJobs).toEqual([]);
    const bad = await app.inject({ method: "GET", url: "/tuning-jobs?status=done" });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().errors[0].path).toBe("querystring.status");
  });
});
