/**
 * GET /jobs/{id} (`JobService.get`, `getJson`, `list`) never shows a job's progress going back.
 * The race forced here: a GET reads the running job's record (its last checkpoint at epoch 160),
 * then the job ends before the GET reads the queue's progress (the runner's 300): the end is
 * stored and the queue job, with its progress, leaves the queue. Both modes' queues drop a job's
 * progress when it ends, so the stored checkpoint alone would show 160 after 300.
 */
import { describe, expect, it } from "vitest";
import type { JobProgress } from "../../src/schemas/jobs.js";
import type { EngineService } from "../../src/service/engine-service.js";
import { JobService } from "../../src/service/jobs/job-service.js";
import type { EventBus, JobQueue } from "../../src/service/jobs/ports.js";
import type { JobRecord, JobStore } from "../../src/service/store/job-store.js";

const JOB = "job_ending";
const OWNER = "anonymous";
const RESULT = '{"weightsSha256":"ab"}';

function record(status: JobRecord["status"], epochsDone: number): JobRecord {
  return {
    seq: 1,
    id: JOB,
    owner: OWNER,
    status,
    createdAt: "2026-01-01T00:00:00.000Z",
    startedAt: "2026-01-01T00:00:01.000Z",
    finishedAt: status === "running" ? null : "2026-01-01T00:00:09.000Z",
    seed: 1,
    datasetId: null,
    priority: 0,
    idempotencyKey: null,
    requestHash: null,
    epochs: 300,
    epochsDone,
    progress: { epoch: epochsDone, epochs: 300, loss: 1 / epochsDone },
    attempts: 2,
    error: null,
    diverged: null,
  } as JobRecord;
}

/** A job running at epoch 300 (checkpoint 160) that ends while the next read of the queue is on its way. */
function endingJob() {
  let stored = record("running", 160);
  let live: JobProgress | undefined = { epoch: 300, epochs: 300, loss: 1 / 300 } as JobProgress;
  let endOnNextRead = false;
  const store = {
    get: async (id: string) => (id === JOB ? stored : undefined),
    list: async () => ({ items: [stored], hasMore: false }),
    result: async () => RESULT,
  } as unknown as JobStore;
  const queue = {
    progress: async (id: string) => {
      if (id !== JOB) return undefined;
      if (endOnNextRead) {
        // The runner stores the end, then the queue drops the job (and its progress).
        stored = record("succeeded", 300);
        live = undefined;
      }
      return live;
    },
  } as unknown as JobQueue;
  const service = new JobService({} as EngineService, { store, bus: {} as EventBus, queue });
  return { service, endNext: () => (endOnNextRead = true) };
}

describe("a job's progress on GET /jobs/{id} and GET /jobs", () => {
  it("GET /jobs/{id}: shows the end, not the older checkpoint, when the job ends between the two reads", async () => {
    const { service, endNext } = endingJob();
    const before = await service.get(JOB, OWNER);
    expect([before.status, before.progress.epoch, before.checkpointEpoch]).toEqual(["running", 300, 160]);
    endNext();
    const after = await service.get(JOB, OWNER);
    expect([after.status, after.progress.epoch, after.checkpointEpoch]).toEqual(["succeeded", 300, null]);
  });

  it("the JSON text has the end's result too", async () => {
    const { service, endNext } = endingJob();
    expect(JSON.parse(await service.getJson(JOB, OWNER)).progress.epoch).toBe(300);
    endNext();
    const after = JSON.parse(await service.getJson(JOB, OWNER));
    expect([after.status, after.progress.epoch, after.result]).toEqual([
      "succeeded",
      300,
      JSON.parse(RESULT),
    ]);
  });

  it("GET /jobs: the same", async () => {
    const { service, endNext } = endingJob();
    const before = (await service.list({ limit: 10 }, OWNER)).jobs[0]!;
    expect([before.status, before.progress.epoch]).toEqual(["running", 300]);
    endNext();
    const after = (await service.list({ limit: 10 }, OWNER)).jobs[0]!;
    expect([after.status, after.progress.epoch]).toEqual(["succeeded", 300]);
  });
});
