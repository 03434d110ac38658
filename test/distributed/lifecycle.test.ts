/**
 * The same lifecycle tests against both pairs of adapters (test/distributed/lifecycle.ts): the
 * embedded one always, the distributed one with TEST_DATABASE_URL and TEST_REDIS_URL (as CI sets).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BOB, irisJob } from "../fixtures.js";
import { skipReason } from "./cluster.js";
import { distributed, embedded, type JobJson, type LifecycleAdapter, SLOTS, sleep } from "./lifecycle.js";

if (skipReason) console.warn(skipReason);

const adapters: { name: string; skip: boolean; make: () => Promise<LifecycleAdapter> }[] = [
  { name: "embedded", skip: false, make: () => embedded() },
  { name: "distributed", skip: skipReason !== undefined, make: () => distributed() },
];

/** A job of a few seconds, one sample a step: many checkpoints (every 3 epochs) while it runs. */
const longJob = (seed: number) => irisJob(3000, { batchSize: 4, seed });

/** What the queue and the bus still hold of the jobs once their runners have seen them end (polled up to 4 s). */
async function leftovers(a: LifecycleAdapter, ids: string[]): Promise<string[]> {
  let left = await a.leftovers(ids);
  for (let t = 0; t < 40 && left.length > 0; t++) {
    await sleep(100);
    left = await a.leftovers(ids);
  }
  return left;
}

/** Polls the job until `until` holds (default: it ended). */
async function waitFor(
  a: LifecycleAdapter,
  id: string,
  until: (job: JobJson) => boolean = (j) => j.status !== "queued" && j.status !== "running",
  headers: Record<string, string> = {},
): Promise<JobJson> {
  for (let t = 0; ; t++) {
    const job = (await a.request("GET", `/jobs/${id}`, undefined, headers)).json;
    if (until(job)) return job;
    if (t > 1200) throw new Error(`job ${id} still ${job.status}`);
    await sleep(25);
  }
}

describe.each(adapters)("the job lifecycle ($name)", ({ skip, make }) => {
  let a: LifecycleAdapter;
  beforeAll(async () => {
    if (!skip) a = await make();
  }, 60_000);
  afterAll(async () => {
    await a?.close();
  }, 30_000);

  it.skipIf(skip)(
    "runs a job in chunks to POST /train's weights, bit for bit, with every epoch's event",
    async () => {
      const body = irisJob(40, { batchSize: 8, seed: 11 });
      const train = await a.request("POST", "/train", body);
      expect(train.status).toBe(200);
      const created = await a.request("POST", "/jobs", body);
      expect(created.status).toBe(202);
      expect(created.json).toMatchObject({ status: "queued", seed: 11, progress: { epoch: 0, epochs: 40 } });
      const { id } = created.json;
      expect((await waitFor(a, id)).status).toBe("succeeded");
      const job = (await a.request("GET", `/jobs/${id}`)).json;
      expect(job).toMatchObject({
        status: "succeeded",
        checkpointEpoch: null,
        attempts: 1,
        progress: { epoch: 40 },
      });
      expect((job.result as { weightsSha256: string }).weightsSha256).toBe(train.json.weightsSha256);
      const stored = await a.inspect(id);
      expect(stored).toMatchObject({ status: "succeeded", epochsDone: 40, checkpoint: false });
      expect(stored.events.map((e) => [e.seq, e.type])).toEqual([
        ...Array.from({ length: 40 }, (_, i) => [i + 1, "progress"]),
        [41, "succeeded"],
      ]);
      expect(await leftovers(a, [id])).toEqual([]);
    },
  );

  it.skipIf(skip)(
    "answers a retried create with the first job; the same key with another body is a 422",
    async () => {
      const body = irisJob(5, { seed: 21 });
      const key = { "idempotency-key": `retry-${Math.random()}` };
      const first = await a.request("POST", "/jobs", body, key);
      expect(first.status).toBe(202);
      expect(first.headers["idempotent-replayed"]).toBeUndefined();
      const again = await a.request("POST", "/jobs", body, key);
      expect(again.status).toBe(202);
      expect(again.headers["idempotent-replayed"]).toBe("true");
      expect(again.json.id).toBe(first.json.id);
      const other = await a.request("POST", "/jobs", { ...body, seed: 22 }, key);
      expect(other.status).toBe(422);
      expect(other.json.type).toBe("/problems/idempotency-key-reused");
      expect((await waitFor(a, first.json.id)).status).toBe("succeeded");
    },
  );

  it.skipIf(skip)(
    "starts waiting jobs by priority; cancels a queued job at epoch 0; refuses a second cancel",
    async () => {
      // Long jobs take every slot: three of ALICE's (her limit), one of BOB's.
      const blockers: string[] = [];
      for (let i = 0; i < SLOTS; i++) {
        const as: Record<string, string> = i < SLOTS - 1 ? {} : { "x-api-key": BOB };
        const res = await a.request("POST", "/jobs", longJob(100 + i), as);
        expect(res.status).toBe(202);
        blockers.push(res.json.id);
        await waitFor(a, res.json.id, (j) => j.status === "running", as);
      }
      const low = (await a.request("POST", "/jobs?priority=1000", irisJob(5, { seed: 31 }))).json;
      const urgent = (await a.request("POST", "/jobs?priority=1", irisJob(5, { seed: 32 }))).json;
      const doomed = (await a.request("POST", "/jobs", irisJob(5, { seed: 33 }))).json;
      expect([low.priority, urgent.priority, doomed.priority]).toEqual([1000, 1, 100]);
      await sleep(200);
      expect((await a.request("GET", `/jobs/${doomed.id}`)).json.status).toBe("queued");

      const cancelled = await a.request("POST", `/jobs/${doomed.id}/cancel`, {});
      expect(cancelled.status).toBe(200);
      expect(cancelled.json).toMatchObject({ status: "cancelled", progress: { epoch: 0 } });
      expect((await a.inspect(doomed.id)).events.map((e) => [e.seq, e.type])).toEqual([[6, "cancelled"]]);
      const twice = await a.request("POST", `/jobs/${doomed.id}/cancel`, {});
      expect(twice.status).toBe(409);
      expect(twice.json.detail).toMatch(/already been cancelled/);

      // One slot frees: the urgent job runs in it, the low one only after it.
      expect((await a.request("POST", `/jobs/${blockers[0]}/cancel`, {})).status).toBe(200);
      const u = await waitFor(a, urgent.id);
      const l = await waitFor(a, low.id);
      expect([u.status, l.status]).toEqual(["succeeded", "succeeded"]);
      expect(Date.parse(l.startedAt as string)).toBeGreaterThanOrEqual(Date.parse(u.finishedAt as string));
      for (const id of blockers.slice(1, -1))
        expect((await a.request("POST", `/jobs/${id}/cancel`, {})).status).toBe(200);
      expect(
        (await a.request("POST", `/jobs/${blockers.at(-1)}/cancel`, {}, { "x-api-key": BOB })).status,
      ).toBe(200);
      expect(await leftovers(a, [...blockers, low.id, urgent.id, doomed.id])).toEqual([]);
    },
    60_000,
  );

  it.skipIf(skip)(
    "runs at most MAX_JOBS_PER_CLIENT of a client's jobs at once; another client's job takes the free slot",
    async () => {
      const alice: string[] = [];
      for (let i = 0; i < 4; i++) alice.push((await a.request("POST", "/jobs", longJob(200 + i))).json.id);
      for (const id of alice.slice(0, 3)) await waitFor(a, id, (j) => j.status === "running");
      await sleep(300);
      // A slot is free, but ALICE runs her three.
      expect((await a.request("GET", `/jobs/${alice[3]}`)).json.status).toBe("queued");
      const bob = (await a.request("POST", "/jobs", irisJob(5, { seed: 41 }), { "x-api-key": BOB })).json;
      expect((await waitFor(a, bob.id, undefined, { "x-api-key": BOB })).status).toBe("succeeded");
      expect((await a.request("GET", `/jobs/${alice[3]}`)).json.status).toBe("queued");
      // One of hers ends: the fourth runs.
      expect((await a.request("POST", `/jobs/${alice[0]}/cancel`, {})).status).toBe(200);
      await waitFor(a, alice[3]!, (j) => j.status === "running");
      for (const id of alice.slice(1))
        expect((await a.request("POST", `/jobs/${id}/cancel`, {})).status).toBe(200);
      expect(await leftovers(a, [...alice, bob.id])).toEqual([]);
    },
    60_000,
  );

  it.skipIf(skip)(
    "cancels running jobs at random moments (checkpoints included) into one consistent record each",
    async () => {
      const JOBS = 15;
      const cancelled: { id: string; epoch: number; checkpointEpoch: number | null }[] = [];
      const one = async (i: number) => {
        const created = await a.request("POST", "/jobs", longJob(i + 1));
        expect(created.status, JSON.stringify(created.json)).toBe(202);
        const { id } = created.json;
        // Wait until it runs and has stored a checkpoint or two, then cancel at a random moment.
        for (let t = 0; t < 400; t++) {
          const job = (await a.request("GET", `/jobs/${id}`)).json;
          if (job.status === "running" && (job.checkpointEpoch ?? 0) > 0) break;
          await sleep(25);
        }
        await sleep(Math.random() * 150);
        const res = await a.request("POST", `/jobs/${id}/cancel`, {});
        expect(res.status, JSON.stringify(res.json)).toBe(200);
        expect(res.json.status).toBe("cancelled");
        cancelled.push({ id, epoch: res.json.progress.epoch, checkpointEpoch: res.json.checkpointEpoch });
      };
      // Three at a time, as many as run at once.
      for (let i = 0; i < JOBS; i += 3) await Promise.all([0, 1, 2].map((k) => one(i + k)));
      // Time for a worker that missed the cancel to store a late checkpoint or event, if it could.
      await sleep(1500);
      const problems: string[] = [];
      for (const { id, epoch } of cancelled) {
        const stored = await a.inspect(id);
        const final = stored.events.at(-1);
        const finalEpoch = final ? (JSON.parse(final.data) as { epoch: number }).epoch : NaN;
        const view = (await a.request("GET", `/jobs/${id}`)).json;
        const late = stored.events.filter((e) => e.type === "progress" && e.seq > finalEpoch);
        const say = (what: string) => problems.push(`${id}: ${what}`);
        if (stored.status !== "cancelled") say(`status ${stored.status}`);
        if (final?.type !== "cancelled" || final.seq !== 3001) say(`last event ${final?.type} ${final?.seq}`);
        if (finalEpoch !== epoch)
          say(`cancel answered epoch ${epoch}, the cancelled event says ${finalEpoch}`);
        if (stored.checkpoint) say("a checkpoint row is left");
        if (stored.epochsDone !== finalEpoch)
          say(`epochs_done ${stored.epochsDone} ≠ cancelled at ${finalEpoch}`);
        if (view.progress.epoch !== finalEpoch)
          say(`GET says epoch ${view.progress.epoch}, not ${finalEpoch}`);
        if (late.length > 0)
          say(`${late.length} progress events past ${finalEpoch} (up to ${late.at(-1)!.seq})`);
      }
      for (const key of await leftovers(
        a,
        cancelled.map((c) => c.id),
      ))
        problems.push(`left behind: ${key}`);
      expect(problems).toEqual([]);
      expect(cancelled).toHaveLength(JOBS);
    },
    120_000,
  );
});
