/**
 * Tuning jobs in the distributed mode (PostgreSQL and Redis; skipped without them): the
 * coordinator runs in the API process, the trials on the workers. A search ends with its trials
 * stored in PostgreSQL; the same body run again through an API process killed (SIGKILL) mid-search
 * and replaced by a new one ends with the same trials, objectives and weights.
 */
import { afterAll, describe, expect, it } from "vitest";
import type { Job } from "../../src/schemas/jobs.js";
import type { TuningJob } from "../../src/schemas/tuning.js";
import { tuningExample } from "../../src/schemas/tuning-examples.js";
import { Cluster, skipReason } from "./cluster.js";

if (skipReason) console.warn(skipReason);

const cluster = new Cluster();
afterAll(() => cluster.cleanup(), 30_000);

const body = {
  ...tuningExample,
  base: { ...tuningExample.base, epochs: 60, batchSize: 2 },
  maxTrials: 4,
  parallelTrials: 2,
  earlyStopping: "median",
  seed: 23,
};

const getJson = async <T>(url: string): Promise<T> => (await fetch(url)).json() as Promise<T>;
const create = async (base: string) => {
  const res = await fetch(`${base}/tuning-jobs`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  expect(res.status).toBe(202);
  return (await res.json()) as TuningJob;
};

async function until<T>(read: () => Promise<T>, done: (v: T) => boolean): Promise<T> {
  for (;;) {
    const v = await read();
    if (done(v)) return v;
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The trials as results, with each trial job's weights. */
const results = (base: string, t: TuningJob) =>
  Promise.all(
    t.trials.map(async (x) => {
      const job = await getJson<Job>(`${base}/jobs/${x.jobId}`);
      expect(job.tuningJobId).toBe(t.id);
      return [x.parameters, x.seed, x.status, x.objective, x.epochsRun, job.result?.weightsSha256 ?? null];
    }),
  );

describe.skipIf(skipReason !== undefined)("tuning jobs in the distributed mode", () => {
  it("runs the trials on the workers, and a replaced API process takes a search up again", async () => {
    await Promise.all([cluster.worker(), cluster.worker()]);
    const api = await cluster.api();
    const first = await create(api.base);
    const done = await until(
      () => getJson<TuningJob>(`${api.base}/tuning-jobs/${first.id}`),
      (t) => t.status !== "running",
    );
    expect(done.status).toBe("succeeded");
    expect(done.trials).toHaveLength(4);
    expect(done.best).not.toBeNull();

    // The same body; the API process killed once a trial has started, another one started.
    const second = await create(api.base);
    await until(
      () => getJson<TuningJob>(`${api.base}/tuning-jobs/${second.id}`),
      (t) => t.trials.length > 0 || t.status !== "running",
    );
    api.proc.kill("SIGKILL");
    await api.exited;
    const next = await cluster.api();
    const resumed = await until(
      () => getJson<TuningJob>(`${next.base}/tuning-jobs/${second.id}`),
      (t) => t.status !== "running",
    );
    expect(resumed.status).toBe("succeeded");
    expect(await results(next.base, resumed)).toEqual(await results(next.base, done));
    const events = await (await fetch(`${next.base}/tuning-jobs/${second.id}/events`)).text();
    expect(events.match(/^event: trialStarted$/gm)).toHaveLength(4);
  }, 180_000);
});
