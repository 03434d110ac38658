/**
 * The distributed mode with real components: two API processes and two worker processes against
 * PostgreSQL and Redis (TEST_DATABASE_URL, TEST_REDIS_URL; skipped without them). Jobs go in
 * through both APIs, one worker is killed (SIGKILL) mid-run, and every job still ends with the
 * weights of a synchronous POST /train of the same body, and exactly one stored model of them.
 */
import { afterAll, describe, expect, it } from "vitest";
import { PgDatabase } from "../../src/service/store/postgres/database.js";
import { followSse, type SseEvent } from "../http/sse.js";
import { Cluster, databaseUrl, skipReason } from "./cluster.js";

if (skipReason) console.warn(skipReason);

const cluster = new Cluster();
afterAll(() => cluster.cleanup(), 30_000);

const EPOCHS = 300;
const bodyFor = (seed: number) => ({
  model: {
    inputShape: [4],
    layers: [
      { type: "dense", units: 12, activation: "tanh" },
      { type: "dense", units: 3, activation: "softmax" },
    ],
    loss: "sparseCategoricalCrossentropy",
  },
  dataset: { name: "iris" },
  optimizer: { type: "adam", learningRate: 0.01 },
  epochs: EPOCHS,
  batchSize: 2,
  seed,
});

interface JobJson {
  id: string;
  status: string;
  checkpointEpoch: number | null;
  attempts: number;
  modelId?: string;
  result?: { weightsSha256: string; modelId?: string };
}

const post = (url: string, payload: unknown) =>
  fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(payload),
  });
const getJob = async (base: string, id: string) =>
  (await (await fetch(`${base}/jobs/${id}`)).json()) as JobJson;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The job ids a worker took and has not finished, from its log. */
function activeJobs(log: string): string[] {
  const taken = new Set<string>();
  for (const line of log.split("\n")) {
    if (!line.startsWith("{")) continue;
    const entry = JSON.parse(line) as { msg: string; job?: string };
    if (entry.msg === "job taken") taken.add(entry.job!);
    if (entry.msg === "job finished" || entry.msg === "job cancelled") taken.delete(entry.job!);
  }
  return [...taken];
}

describe.skipIf(skipReason !== undefined)("distributed mode (BullMQ on Redis, PostgreSQL)", () => {
  it("runs 20 jobs from two APIs on two workers; a worker killed mid-job loses nothing", async () => {
    const worker = { POOL_SIZE: "2", WORKER_CONCURRENCY: "2", CHECKPOINT_EVERY: "10", JOB_LOCK_MS: "2000" };
    const [a, b, w1, w2] = await Promise.all([
      cluster.api(),
      cluster.api(),
      cluster.worker(worker),
      cluster.worker(worker),
    ]);
    const apis = [a.base, b.base];
    const t0 = performance.now();
    const ids: string[] = [];
    for (let i = 0; i < 20; i++) {
      const res = await post(`${apis[i % 2]}/jobs`, bodyFor(100 + i));
      expect(res.status).toBe(202);
      ids.push(((await res.json()) as JobJson).id);
    }

    // Kill worker 1 (no warning) once a job it runs has a checkpoint.
    let victims: string[] = [];
    for (;;) {
      const active = activeJobs(w1.out());
      const jobs = await Promise.all(active.map((id) => getJob(a.base, id)));
      if (jobs.some((j) => j.status === "running" && (j.checkpointEpoch ?? 0) >= 10)) {
        w1.proc.kill("SIGKILL");
        victims = activeJobs(w1.out());
        break;
      }
      await sleep(20);
    }
    await w1.exited;
    expect(victims.length).toBeGreaterThan(0);
    const victim = victims[0]!;
    const checkpoint = (await getJob(b.base, victim)).checkpointEpoch;
    // GET /jobs/{id} never shows the victim going back, though its new worker repeats the epochs
    // after its checkpoint (the queue job's progress stays at the highest epoch reported).
    const seenEpochs: number[] = [];
    const watching = (async () => {
      for (;;) {
        const j = (await (await fetch(`${a.base}/jobs/${victim}`)).json()) as JobJson & {
          progress: { epoch: number };
        };
        seenEpochs.push(j.progress.epoch);
        if (j.status !== "queued" && j.status !== "running") return;
        await sleep(15);
      }
    })();

    // The other API streams the victim's events: every epoch once, in order, whichever worker runs it.
    const stream = await followSse(
      `${apis[(ids.indexOf(victim) + 1) % 2]}/jobs/${victim}/events`,
      () => undefined,
    );
    expect(stream.events.map((e: SseEvent) => Number(e.id))).toEqual(
      Array.from({ length: EPOCHS + 1 }, (_, i) => i + 1),
    );
    expect(stream.events.at(-1)!.event).toBe("succeeded");

    // Every job succeeds, with the weights of the synchronous run.
    const finished: JobJson[] = [];
    for (const [i, id] of ids.entries()) {
      for (;;) {
        const job = await getJob(apis[(i + 1) % 2]!, id);
        if (job.status !== "queued" && job.status !== "running") {
          finished.push(job);
          break;
        }
        await sleep(50);
      }
    }
    const seconds = (performance.now() - t0) / 1000;
    expect(finished.map((j) => j.status)).toEqual(ids.map(() => "succeeded"));
    await watching;
    expect(seenEpochs.length).toBeGreaterThan(5);
    expect(seenEpochs).toEqual([...seenEpochs].sort((x, y) => x - y));
    const sync = await Promise.all(
      ids.map(
        async (_, i) =>
          ((await (await post(`${a.base}/train`, bodyFor(100 + i))).json()) as { weightsSha256: string })
            .weightsSha256,
      ),
    );
    expect(finished.map((j) => j.result!.weightsSha256)).toEqual(sync);
    // The workers stored each job's model in PostgreSQL as they ended it: one per job, resumed ones included.
    const db = new PgDatabase(databaseUrl!, cluster.schema);
    try {
      const rows = await db.all<{ id: string; job_id: string; weights_sha256: string }>(
        "SELECT id, job_id, weights_sha256 FROM models WHERE source = 'job'",
      );
      const byJob = new Map(rows.map((r) => [r.job_id, r]));
      expect(rows).toHaveLength(ids.length);
      for (const [i, job] of finished.entries()) {
        expect(job.modelId).toBe(job.result!.modelId);
        expect(byJob.get(job.id)).toEqual({ id: job.modelId, job_id: job.id, weights_sha256: sync[i] });
      }
    } finally {
      await db.close();
    }
    for (const id of victims) expect(finished[ids.indexOf(id)]!.attempts).toBeGreaterThanOrEqual(2);
    const resumedBy = activeJobs(w2.out()); // none left
    expect(resumedBy).toEqual([]);
    console.log(
      `distributed: 20 jobs in ${seconds.toFixed(1)} s (${((20 / seconds) * 60).toFixed(0)} jobs/min, one worker ` +
        `killed); victims ${victims.join(", ")}: checkpoint at epoch ${checkpoint} when killed, ` +
        `attempts ${victims.map((id) => finished[ids.indexOf(id)]!.attempts).join(", ")}`,
    );

    // Cancel through one API reaches the worker running the job.
    const long = await post(`${a.base}/jobs`, { ...bodyFor(7), epochs: 5000 });
    const { id: longId } = (await long.json()) as JobJson;
    while ((await getJob(a.base, longId)).status !== "running") await sleep(20);
    const cancelled = await post(`${b.base}/jobs/${longId}/cancel`, {});
    expect(cancelled.status).toBe(200);
    expect(((await cancelled.json()) as JobJson).status).toBe("cancelled");
    for (let i = 0; i < 200 && !/"job cancelled"/.test(w2.out()); i++) await sleep(25);
    expect(w2.out()).toContain(`"job":"${longId}","msg":"job cancelled"`);
    expect((await post(`${a.base}/jobs/${longId}/cancel`, {})).status).toBe(409);

    // SIGTERM: the worker gives its job back at once; a new worker resumes it from the checkpoint.
    const handed = bodyFor(8);
    const { id: handedId } = (await (
      await post(`${b.base}/jobs`, { ...handed, epochs: 600 })
    ).json()) as JobJson;
    while (((await getJob(a.base, handedId)).checkpointEpoch ?? 0) < 20) await sleep(20);
    w2.proc.kill("SIGTERM");
    expect(await w2.exited).toBe(0);
    const w3 = await cluster.worker(worker);
    let handedJob = await getJob(a.base, handedId);
    while (handedJob.status === "queued" || handedJob.status === "running") {
      await sleep(50);
      handedJob = await getJob(a.base, handedId);
    }
    expect(w2.out()).toContain(`"job":"${handedId}"`);
    expect(w2.out()).toMatch(/"msg":"job given back"/);
    expect(handedJob.status).toBe("succeeded");
    expect(handedJob.attempts).toBe(2);
    expect(w3.out()).toContain(`"job":"${handedId}"`);
    const handedSync = (await (await post(`${a.base}/train`, { ...handed, epochs: 600 })).json()) as {
      weightsSha256: string;
    };
    expect(handedJob.result!.weightsSha256).toBe(handedSync.weightsSha256);
  }, 90_000);
});
