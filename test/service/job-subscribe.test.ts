/**
 * One rule for a job's event stream in both modes, kept by the shared lifecycle
 * (`JobService.subscribe`) over either event bus: a subscriber that has the events up to its
 * Last-Event-ID never receives one with an id at or below it, live or from the backlog — not when
 * a job resumed from an earlier checkpoint emits those epochs again, nor when the id is far
 * ahead of the job. The Redis bus needs TEST_REDIS_URL (as CI sets).
 */
import { randomBytes } from "node:crypto";
import { Redis } from "ioredis";
import { afterAll, describe, expect, it } from "vitest";
import { names } from "../../src/service/distributed/names.js";
import { RedisEventBus } from "../../src/service/distributed/redis-bus.js";
import type { EngineService } from "../../src/service/engine-service.js";
import { JobService } from "../../src/service/jobs/job-service.js";
import { LocalEventBus } from "../../src/service/jobs/local/local-bus.js";
import type { EventBus, JobQueue } from "../../src/service/jobs/ports.js";
import type { JobEvent, JobRecord, JobStore } from "../../src/service/store/job-store.js";
import { redisUrl } from "../distributed/cluster.js";

const prefix = `test-subscribe-${randomBytes(4).toString("hex")}`;
const progress = (seq: number): JobEvent => ({ seq, type: "progress", data: JSON.stringify({ epoch: seq }) });
const JOB = "job_resumed";
const OWNER = "anonymous";

/** A running job of 100 epochs whose last checkpoint stored epochs 1–30 (what `subscribe` reads of the store). */
function storeAtCheckpoint30(): JobStore {
  const stored = Array.from({ length: 30 }, (_, i) => progress(i + 1));
  const record = { id: JOB, owner: OWNER, status: "running", epochs: 100 } as unknown as JobRecord;
  return {
    get: async (id: string) => (id === JOB ? record : undefined),
    events: async (_id: string, after: number) => stored.filter((e) => e.seq > after),
  } as unknown as JobStore;
}

const buses: { name: string; skip: boolean; make: () => EventBus }[] = [
  { name: "embedded: in memory", skip: false, make: () => new LocalEventBus() },
  { name: "distributed: Redis", skip: !redisUrl, make: () => new RedisEventBus(redisUrl!, names(prefix)) },
];

afterAll(async () => {
  if (!redisUrl) return;
  const redis = new Redis(redisUrl);
  const keys = await redis.keys(`${prefix}:*`);
  if (keys.length > 0) await redis.del(...keys);
  redis.disconnect();
});

describe.each(buses)("a job's event stream ($name)", ({ skip, make }) => {
  it.skipIf(skip)("never sends a subscriber an event whose id is at or below its Last-Event-ID", async () => {
    const bus = make();
    const service = new JobService({} as EngineService, {
      store: storeAtCheckpoint30(),
      bus,
      queue: {} as JobQueue,
    });
    await bus.start();
    try {
      // The job resumed from its checkpoint at 30: its runner opens it and emits 31, 32, … again.
      await bus.open(JOB);
      const received = new Map<number, number[]>();
      const subscriptions = [];
      for (const last of [0, 31, 33, 299_999]) {
        const seen: number[] = [];
        received.set(last, seen);
        const sub = await service.subscribe(JOB, last, (e) => e && seen.push(e.seq), OWNER);
        seen.push(...sub.backlog.map((e) => e.seq));
        subscriptions.push(sub);
      }
      for (let seq = 31; seq <= 35; seq++) bus.emit(JOB, progress(seq));
      await bus.flush(JOB);
      for (let i = 0; i < 100 && (received.get(33)?.length ?? 0) < 2; i++)
        await new Promise((r) => setTimeout(r, 10));
      await new Promise((r) => setTimeout(r, 50));
      const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);
      expect(received.get(0)).toEqual(range(1, 35));
      expect(received.get(31)).toEqual(range(32, 35));
      expect(received.get(33)).toEqual([34, 35]);
      expect(received.get(299_999)).toEqual([]);

      // The resumed run emits an epoch a subscriber already had (its pending copy was dropped): not resent.
      bus.emit(JOB, progress(34));
      bus.emit(JOB, progress(36));
      await bus.flush(JOB);
      for (let i = 0; i < 100 && (received.get(33)?.length ?? 0) < 3; i++)
        await new Promise((r) => setTimeout(r, 10));
      await new Promise((r) => setTimeout(r, 50));
      expect(received.get(33)).toEqual([34, 35, 36]);
      expect(received.get(299_999)).toEqual([]);
      for (const sub of subscriptions) sub.unsubscribe();
    } finally {
      await bus.stop();
    }
  });
});

describe("a job ending while its stream starts", () => {
  it("reads the stored events again when the job ended after they were read", async () => {
    // Stored: nothing when first read; then the job ends (epoch 1 and the final event stored
    // together) before its record is read.
    const ended = [
      progress(1),
      { seq: 61, type: "cancelled" as const, data: '{"status":"cancelled","epoch":1}' },
    ];
    let reads = 0;
    const record = (status: string) =>
      ({ id: JOB, owner: OWNER, status, epochs: 60 }) as unknown as JobRecord;
    let gets = 0;
    const store = {
      // subscribe reads the record once to check the owner, once after the events.
      get: async () => record(++gets === 1 ? "running" : "cancelled"),
      events: async (_id: string, after: number) => (reads++ === 0 ? [] : ended.filter((e) => e.seq > after)),
    } as unknown as JobStore;
    const bus = new LocalEventBus();
    const service = new JobService({} as EngineService, { store, bus, queue: {} as JobQueue });
    const live: (JobEvent | null)[] = [];
    const sub = await service.subscribe(JOB, 0, (e) => live.push(e), OWNER);
    expect(sub.backlog).toEqual(ended);
    expect(sub.finished).toBe(true);
    expect(reads).toBe(2);
    expect(live).toEqual([]);
  });
});
