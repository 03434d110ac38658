/**
 * The server process killed (SIGKILL) mid-search and started again on the same DATA_DIR: the
 * tuning job's coordinator is taken up again, its running trials resume from their checkpoints,
 * and it ends with the trials, objectives and weights of an uninterrupted run of the same body.
 * Runs the real server (`node --import tsx src/server.ts`), as the job restart test does.
 */
import type { ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import type { Job } from "../../src/schemas/jobs.js";
import type { TuningJob } from "../../src/schemas/tuning.js";
import { tuningExample } from "../../src/schemas/tuning-examples.js";
import { startServer as startRealServer } from "./server-process.js";
import { parseSse } from "./sse.js";

const dataDir = mkdtempSync(join(tmpdir(), "tuning-sigkill-"));
const running = new Set<ChildProcess>();
afterAll(() => {
  for (const p of running) p.kill("SIGKILL");
  rmSync(dataDir, { recursive: true, force: true });
});

function startServer(): Promise<{ proc: ChildProcess; base: string }> {
  return startRealServer(running, {
    DATA_DIR: dataDir,
    POOL_SIZE: "2",
    MAX_CONCURRENT_JOBS: "2",
    CHECKPOINT_EVERY: "10",
    CHECKPOINT_MIN_MS: "0",
  });
}

const body = {
  ...tuningExample,
  base: { ...tuningExample.base, epochs: 300, batchSize: 1 },
  maxTrials: 4,
  parallelTrials: 2,
  earlyStopping: "median",
  seed: 19,
};

const getJson = async <T>(url: string): Promise<T> => (await fetch(url)).json() as Promise<T>;
const create = async (base: string) =>
  (await (
    await fetch(`${base}/tuning-jobs`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
    })
  ).json()) as TuningJob;

async function until<T>(read: () => Promise<T>, done: (v: T) => boolean): Promise<T> {
  for (;;) {
    const v = await read();
    if (done(v)) return v;
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** The trials as the results see them, and each trial job's weights. */
async function results(base: string, t: TuningJob) {
  return Promise.all(
    t.trials.map(async (x) => {
      const job = await getJson<Job>(`${base}/jobs/${x.jobId}`);
      return {
        parameters: x.parameters,
        seed: x.seed,
        status: x.status,
        objective: x.objective,
        epochsRun: x.epochsRun,
        weights: job.result?.weightsSha256 ?? null,
      };
    }),
  );
}

describe("SIGKILL mid-search", () => {
  it("takes the tuning job up again and ends with the uninterrupted run's trials and weights", async () => {
    const first = await startServer();
    const { id } = await create(first.base);
    // Kill once a trial of the second batch has a checkpoint: the first batch is stored, the second mid-run.
    await until(
      async () => {
        const t = await getJson<TuningJob>(`${first.base}/tuning-jobs/${id}`);
        const second = t.trials.filter((x) => x.index >= 2 && x.status === "running");
        const jobs = await Promise.all(second.map((x) => getJson<Job>(`${first.base}/jobs/${x.jobId}`)));
        return jobs.some((j) => (j.checkpointEpoch ?? 0) >= 10) || t.status !== "running";
      },
      (ready) => ready,
    );
    first.proc.kill("SIGKILL");
    await new Promise((r) => first.proc.once("exit", r));

    const second = await startServer();
    const before = await getJson<TuningJob>(`${second.base}/tuning-jobs/${id}`);
    expect(before.status, JSON.stringify(before.trials)).toBe("running");
    const done = await until(
      () => getJson<TuningJob>(`${second.base}/tuning-jobs/${id}`),
      (t) => t.status !== "running",
    );
    expect(done.status).toBe("succeeded");
    expect(done.trials).toHaveLength(4);
    const resumed = await Promise.all(done.trials.map((x) => getJson<Job>(`${second.base}/jobs/${x.jobId}`)));
    expect(
      resumed.some((j) => j.attempts === 2),
      JSON.stringify(resumed.map((j) => [j.status, j.attempts])),
    ).toBe(true);
    // Each event once, in order, ending with the end.
    const events = parseSse(await (await fetch(`${second.base}/tuning-jobs/${id}/events`)).text());
    expect(events.map((e) => Number(e.id))).toEqual(events.map((_, i) => i + 1));
    expect(events.filter((e) => e.event === "trialStarted")).toHaveLength(4);
    expect(events.at(-1)!.event).toBe("succeeded");

    const fresh = await until(
      async () => getJson<TuningJob>(`${second.base}/tuning-jobs/${(await create(second.base)).id}`),
      () => true,
    );
    const uninterrupted = await until(
      () => getJson<TuningJob>(`${second.base}/tuning-jobs/${fresh.id}`),
      (t) => t.status !== "running",
    );
    expect(await results(second.base, done)).toEqual(await results(second.base, uninterrupted));
    expect(done.trials.some((t) => t.status === "stopped")).toBe(true); // the median rule took part
    expect(done.best).toEqual({
      ...uninterrupted.best,
      jobId: done.best!.jobId,
      modelId: done.best!.modelId,
    });

    second.proc.kill("SIGTERM");
    expect(await new Promise((r) => second.proc.once("exit", r))).toBe(0);
  }, 120_000);
});
