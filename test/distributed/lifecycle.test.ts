/**
 * The same lifecycle tests against both pairs of adapters (test/distributed/lifecycle.ts): the
 * embedded one always, the distributed one with TEST_DATABASE_URL and TEST_REDIS_URL (as CI sets).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { irisJob } from "../fixtures.js";
import { skipReason } from "./cluster.js";
import { distributed, embedded, type LifecycleAdapter, sleep } from "./lifecycle.js";

if (skipReason) console.warn(skipReason);

const adapters: { name: string; skip: boolean; make: () => Promise<LifecycleAdapter> }[] = [
  { name: "embedded", skip: false, make: () => embedded() },
  { name: "distributed", skip: skipReason !== undefined, make: () => distributed() },
];

/** A job of a few seconds, one sample a step: many checkpoints (every 3 epochs) while it runs. */
const longJob = (seed: number) => irisJob(3000, { batchSize: 4, seed });

describe.each(adapters)("the job lifecycle ($name)", ({ skip, make }) => {
  let a: LifecycleAdapter;
  beforeAll(async () => {
    if (!skip) a = await make();
  }, 60_000);
  afterAll(async () => {
    await a?.close();
  }, 30_000);

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
      let left = await a.leftovers(cancelled.map((c) => c.id));
      for (let t = 0; t < 40 && left.length > 0; t++) {
        await sleep(100);
        left = await a.leftovers(cancelled.map((c) => c.id));
      }
      for (const key of left) problems.push(`left behind: ${key}`);
      expect(problems).toEqual([]);
      expect(cancelled).toHaveLength(JOBS);
    },
    120_000,
  );
});
