/**
 * The server process killed (SIGKILL) mid-job and started again on the same DATA_DIR: the job
 * resumes from its last checkpoint and ends with exactly the weights of an uninterrupted run (also
 * with dropout and batch normalisation, and with a recurrent layer's dropout and recurrentDropout).
 * Runs the real server (`node --import tsx src/server.ts`, as the Docker image does).
 */
import type { ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { startServer as startRealServer } from "./server-process.js";
import { followSse, parseSse } from "./sse.js";

const dataDir = mkdtempSync(join(tmpdir(), "jobs-sigkill-"));
const running = new Set<ChildProcess>();
afterAll(() => {
  for (const p of running) p.kill("SIGKILL");
  rmSync(dataDir, { recursive: true, force: true });
});

/** Starts the server on a free port; resolves once it listens. */
function startServer(): Promise<{ proc: ChildProcess; base: string }> {
  return startRealServer(running, {
    DATA_DIR: dataDir,
    POOL_SIZE: "1",
    MAX_CONCURRENT_JOBS: "1",
    CHECKPOINT_EVERY: "10",
    CHECKPOINT_MIN_MS: "0", // a checkpoint every 10 epochs, however fast (the assertions count on it)
  });
}

const body = {
  model: {
    inputShape: [4],
    layers: [
      { type: "dense", units: 16, activation: "tanh" },
      { type: "dense", units: 3, activation: "softmax" },
    ],
    loss: "sparseCategoricalCrossentropy",
  },
  dataset: { name: "iris" },
  optimizer: { type: "adam", learningRate: 0.005 },
  epochs: 600,
  batchSize: 1,
  seed: 2024,
};

interface JobJson {
  id: string;
  status: string;
  checkpointEpoch: number;
  attempts: number;
  result: { weightsSha256: string; history: unknown };
}

const post = (url: string, payload: unknown) =>
  fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(payload),
  });

/** Posts `body` as a job, SIGKILLs the server mid-run, restarts it and checks the job ends as `/train` does. */
async function killAndResume(body: Record<string, unknown>): Promise<void> {
  const first = await startServer();
  const created = await post(`${first.base}/jobs`, body);
  expect(created.status).toBe(202);
  const { id } = (await created.json()) as JobJson;
  // Kill the process once a few checkpoints are stored, without any warning.
  let killedAt = 0;
  await followSse(`${first.base}/jobs/${id}/events`, (e) => {
    if (e.event === "progress" && Number(e.id) >= 35) {
      first.proc.kill("SIGKILL");
      killedAt = Number(e.id);
      return true;
    }
    return undefined;
  });
  await new Promise((r) => first.proc.once("exit", r));
  expect(killedAt).toBeGreaterThanOrEqual(35);
  expect(killedAt).toBeLessThan(600);

  const t0 = performance.now();
  const second = await startServer();
  const listening = performance.now() - t0;
  const job = (await (await fetch(`${second.base}/jobs/${id}`)).json()) as JobJson;
  expect(["queued", "running"]).toContain(job.status);
  expect(job.checkpointEpoch).toBeGreaterThanOrEqual(30);
  // The kill lands after the epoch the stream showed, by however far the stream lags behind the
  // run on a busy machine (15 epochs seen); what matters is that the run was cut short.
  expect(job.checkpointEpoch).toBeLessThan(body.epochs as number);
  // Follow it to the end; the stream replays the stored epochs first.
  let resumedAt = 0;
  const { events } = await followSse(`${second.base}/jobs/${id}/events`, (e) => {
    if (!resumedAt && e.event === "progress" && Number(e.id) > job.checkpointEpoch)
      resumedAt = performance.now() - t0;
    return undefined;
  });
  console.log(
    `restart: listening after ${listening.toFixed(0)} ms, first resumed epoch after ${resumedAt.toFixed(0)} ms ` +
      `(killed at epoch ${killedAt}, checkpoint ${job.checkpointEpoch})`,
  );
  expect(events.map((e) => Number(e.id))).toEqual(Array.from({ length: 601 }, (_, i) => i + 1));
  expect(events.at(-1)!.event).toBe("succeeded");

  const done = (await (await fetch(`${second.base}/jobs/${id}`)).json()) as JobJson;
  expect(done.status).toBe("succeeded");
  expect(done.attempts).toBe(2);
  const sync = (await (await post(`${second.base}/train`, body)).json()) as JobJson["result"];
  expect(done.result.weightsSha256).toBe(sync.weightsSha256);
  expect(done.result.history).toEqual(sync.history);
  expect(JSON.parse(events.at(-1)!.data).weightsSha256).toBe(sync.weightsSha256);

  // A late reader of the finished job gets the same stream in one go.
  const replay = parseSse(await (await fetch(`${second.base}/jobs/${id}/events`)).text());
  expect(replay).toEqual(events);

  second.proc.kill("SIGTERM"); // graceful this time
  const code = await new Promise((r) => second.proc.once("exit", r));
  expect(code).toBe(0);
}

describe("SIGKILL mid-job", () => {
  it("resumes from the last checkpoint after a restart and ends with the uninterrupted run's weights", async () => {
    await killAndResume(body);
  }, 60_000);

  it("resumes bit-identically with nadam and clipping: its checkpoint carries m and v, Π is rebuilt", async () => {
    await killAndResume({
      ...body,
      optimizer: { type: "nadam", learningRate: 0.004, globalClipnorm: 0.5 },
    });
  }, 60_000);

  it("resumes bit-identically with dropout and batch normalisation: the checkpoint carries the dropout stream and the moving statistics", async () => {
    await killAndResume({
      ...body,
      model: {
        inputShape: [4],
        layers: [
          { type: "dense", units: 16, activation: "tanh" },
          { type: "batchNormalization" },
          { type: "dropout", rate: 0.3 },
          { type: "dense", units: 3, activation: "softmax" },
        ],
        loss: "sparseCategoricalCrossentropy",
      },
    });
  }, 60_000);

  it("resumes bit-identically with an lstm's dropout and recurrentDropout: the checkpoint carries the layer's mask stream", async () => {
    await killAndResume({
      ...body,
      model: {
        inputShape: [4],
        layers: [
          // iris' 4 features as 4 steps of 1.
          { type: "reshape", targetShape: [4, 1] },
          { type: "lstm", units: 6, dropout: 0.2, recurrentDropout: 0.3 },
          { type: "dense", units: 3, activation: "softmax" },
        ],
        loss: "sparseCategoricalCrossentropy",
      },
    });
  }, 90_000);
});

describe("one server per DATA_DIR", () => {
  it("refuses to start a second server on a directory in use, which then takes none of its jobs", async () => {
    const first = await startServer();
    try {
      const created = await post(`${first.base}/jobs`, { ...body, epochs: 200_000 });
      expect(created.status).toBe(202);
      const { id } = (await created.json()) as JobJson;
      await expect(startServer()).rejects.toThrow(
        new RegExp(`DATA_DIR .* is in use by another server \\(pid ${first.proc.pid}\\)`),
      );
      const job = (await (await fetch(`${first.base}/jobs/${id}`)).json()) as JobJson;
      expect(job.status).toBe("running");
      expect(job.attempts).toBe(1);
      await fetch(`${first.base}/jobs/${id}/cancel`, { method: "POST" });
    } finally {
      first.proc.kill("SIGTERM");
      await new Promise((r) => first.proc.once("exit", r));
    }
    // Stopped cleanly, it left the directory free (a SIGKILLed one's lock is taken over: above).
    const again = await startServer();
    again.proc.kill("SIGTERM");
    await new Promise((r) => again.proc.once("exit", r));
  }, 60_000);
});
