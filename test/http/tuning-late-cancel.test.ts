/**
 * The median rule when the coordinator's cancel never reaches a stopped trial's job (a busy
 * queue, a crash between the decision and the cancel): the job stops itself at the epoch the
 * rule says, cancelled with no model, so the search ends as one whose cancels landed at once.
 * A second tuning service over the app's store and job service drops every cancel it sends.
 */
import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Job } from "../../src/schemas/jobs.js";
import type { TuningJob, TuningRequest } from "../../src/schemas/tuning.js";
import { tuningExample } from "../../src/schemas/tuning-examples.js";
import type { JobsApi } from "../../src/service/jobs/jobs-api.js";
import { medianStops } from "../../src/service/tuning/median.js";
import { TuningService } from "../../src/service/tuning/tuning-service.js";
import { buildTestApp, getJob, waitForJob } from "./helper.js";
import { parseSse } from "./sse.js";

let app: FastifyInstance;
beforeAll(async () => {
  app = await buildTestApp({ MAX_CONCURRENT_JOBS: "2" });
});
afterAll(async () => {
  await app.close();
});

const body = {
  ...tuningExample,
  base: { ...tuningExample.base, epochs: 40 },
  searchSpace: { "optimizer.learningRate": { type: "logUniform", min: 0.00001, max: 0.05 } },
  maxTrials: 6,
  parallelTrials: 2,
  seed: 3,
  earlyStopping: "median",
} as const;

async function waitFor(read: () => Promise<TuningJob>): Promise<TuningJob> {
  for (;;) {
    const t = await read();
    if (t.status !== "running") return t;
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

/** Each trial as results: values, status, objective, epochs, and its job's status, epoch and weights. */
const results = (t: TuningJob) =>
  Promise.all(
    t.trials.map(async (x) => {
      const job = (await app.inject({ method: "GET", url: `/jobs/${x.jobId}` })).json() as Job;
      return [
        x.parameters,
        x.status,
        x.objective,
        x.epochsRun,
        job.status,
        job.progress.epoch,
        job.result?.weightsSha256 ?? null,
      ];
    }),
  );

describe("earlyStopping: median, the cancel of a stopped trial lost", () => {
  it("stops the trial's job at the rule's epoch by itself, with the results of a run whose cancels landed", async () => {
    const cancels: string[] = [];
    const jobs = app.jobs as JobsApi;
    const deaf: JobsApi = Object.assign(Object.create(jobs) as JobsApi, {
      cancel: async (id: string) => {
        cancels.push(id);
        return getJob(app, id);
      },
    });
    const lossy = new TuningService({ store: app.store.tuning, jobs: deaf, engine: app.engine });
    const lost = await lossy.create(body as unknown as TuningRequest, "anonymous");
    const alone = await waitFor(() => lossy.get(lost.id, "anonymous"));
    expect(alone.status).toBe("succeeded");

    const stopped = alone.trials.filter((t) => t.status === "stopped");
    expect(stopped.length).toBeGreaterThan(0);
    // Every stopped trial's cancel was sent and dropped; its job ended where the rule stopped it.
    expect(cancels).toEqual(expect.arrayContaining(stopped.map((t) => t.jobId)));
    const curves: number[][] = [];
    for (const t of alone.trials) {
      const job = await waitForJob(app, t.jobId!);
      const losses = await valLosses(t.jobId!);
      curves[t.index] = losses;
      if (t.status !== "stopped") continue;
      const references = curves.slice(0, t.index - (t.index % body.parallelTrials));
      expect(job.status).toBe("cancelled");
      expect(job.modelId).toBeUndefined();
      expect(losses).toHaveLength(t.epochsRun);
      expect(job.progress.epoch).toBe(t.epochsRun);
      expect(medianStops(losses, references, "minimize")).toBe(true);
      expect(medianStops(losses.slice(0, -1), references, "minimize")).toBe(false);
    }

    // The same body through the app's own service, its cancels delivered.
    const res = await app.inject({ method: "POST", url: "/tuning-jobs", payload: body });
    expect(res.statusCode).toBe(202);
    const landed = await waitFor(
      async () =>
        (await app.inject({ method: "GET", url: `/tuning-jobs/${res.json().id}` })).json() as TuningJob,
    );
    expect(await results(alone)).toEqual(await results(landed));
  });
});
