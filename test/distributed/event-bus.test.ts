/**
 * Both event buses keep a running job's events pending until stored, and take none once the job
 * was closed (a cancel): a batch that arrives after does not bring the pending events back. The
 * Redis one needs TEST_REDIS_URL (as CI sets).
 */
import { randomBytes } from "node:crypto";
import { Redis } from "ioredis";
import { afterAll, describe, expect, it } from "vitest";
import { names } from "../../src/service/distributed/names.js";
import { RedisEventBus } from "../../src/service/distributed/redis-bus.js";
import { LocalEventBus } from "../../src/service/jobs/local/local-bus.js";
import type { EventBus } from "../../src/service/jobs/ports.js";
import { redisUrl } from "./cluster.js";

const prefix = `test-bus-${randomBytes(4).toString("hex")}`;
const event = (seq: number) => ({ seq, type: "progress" as const, data: JSON.stringify({ epoch: seq }) });

const buses: { name: string; skip: boolean; make: () => EventBus }[] = [
  { name: "in memory", skip: false, make: () => new LocalEventBus() },
  {
    name: "Redis",
    skip: !redisUrl,
    make: () => new RedisEventBus(redisUrl!, names(prefix)),
  },
];

afterAll(async () => {
  if (!redisUrl) return;
  const redis = new Redis(redisUrl);
  const keys = await redis.keys(`${prefix}:*`);
  if (keys.length > 0) await redis.del(...keys);
  redis.disconnect();
});

describe.each(buses)("the event bus ($name)", ({ skip, make }) => {
  it.skipIf(skip)(
    "keeps an open job's events pending until dropped, and none once it is closed",
    async () => {
      const bus = make();
      await bus.start();
      try {
        const seen: number[] = [];
        const stop = await bus.listen("job_1", (e) => {
          if (e) seen.push(e.seq);
        });
        await bus.open("job_1");
        for (const seq of [1, 2, 3]) bus.emit("job_1", event(seq));
        await bus.flush("job_1");
        expect((await bus.pending("job_1", 0)).map((e) => e.seq)).toEqual([1, 2, 3]);
        expect((await bus.pending("job_1", 1)).map((e) => e.seq)).toEqual([2, 3]);
        await bus.dropPending("job_1", 2); // stored up to 2
        expect((await bus.pending("job_1", 0)).map((e) => e.seq)).toEqual([3]);
        for (let i = 0; i < 50 && seen.length < 3; i++) await new Promise((r) => setTimeout(r, 10));
        expect(seen).toEqual([1, 2, 3]);

        // A cancel closes the job; a batch emitted before and sent after is dropped.
        bus.emit("job_1", event(4));
        await bus.dropPending("job_1");
        await bus.flush("job_1");
        bus.emit("job_1", event(5));
        await bus.flush("job_1");
        expect(await bus.pending("job_1", 0)).toEqual([]);
        stop();
      } finally {
        await bus.stop();
      }
      if (redisUrl && !skip && bus instanceof RedisEventBus) {
        const redis = new Redis(redisUrl);
        expect(
          await redis.exists(names(prefix).pendingEvents("job_1"), names(prefix).openEvents("job_1")),
        ).toBe(0);
        redis.disconnect();
      }
    },
  );
});
