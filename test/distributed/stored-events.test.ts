/**
 * What the distributed mode reads back from Redis goes through a schema: a message on a job's
 * event channel or a pending member that is not a job event is dropped (the subscriber goes on
 * with the next), and a queue job's progress that is not a `JobProgress` is none (the stored
 * progress stands in). Needs TEST_REDIS_URL (as CI sets).
 */
import { randomBytes } from "node:crypto";
import { Queue } from "bullmq";
import { Redis } from "ioredis";
import { afterAll, describe, expect, it } from "vitest";
import { BullQueue } from "../../src/service/distributed/bull-queue.js";
import { names } from "../../src/service/distributed/names.js";
import { RedisEventBus } from "../../src/service/distributed/redis-bus.js";
import type { JobRecord } from "../../src/service/store/job-store.js";
import { redisUrl } from "./cluster.js";

const prefix = `test-stored-${randomBytes(4).toString("hex")}`;
const skip = !redisUrl;
if (skip) console.warn("Redis read-back tests skipped: set TEST_REDIS_URL (.ci/run does)");

afterAll(async () => {
  if (!redisUrl) return;
  const redis = new Redis(redisUrl);
  const keys = await redis.keys(`${prefix}:*`);
  if (keys.length > 0) await redis.del(...keys);
  redis.disconnect();
});

const progress = (seq: number) => ({
  seq,
  type: "progress",
  data: JSON.stringify({ epoch: seq, epochs: 9 }),
});

describe("read back from Redis", () => {
  it.skipIf(skip)("drops event messages and pending members that are not job events", async () => {
    const n = names(prefix);
    const bus = new RedisEventBus(redisUrl!, n);
    const redis = new Redis(redisUrl!);
    await bus.start();
    try {
      const seen: number[] = [];
      await bus.listen("job_x", (e) => {
        if (e) seen.push(e.seq);
      });
      const channel = n.eventChannel("job_x");
      for (const message of [
        "{not json",
        JSON.stringify({ seq: "one", type: "progress", data: "{}" }),
        JSON.stringify([progress(1), { seq: 2, type: "nope", data: "{}" }]),
        JSON.stringify([progress(2), progress(3)]),
        JSON.stringify(progress(4)),
      ])
        await redis.publish(channel, message);
      for (let i = 0; i < 100 && seen.length < 3; i++) await new Promise((r) => setTimeout(r, 10));
      // The bad batch is dropped whole; the good ones after it arrive, in order.
      expect(seen).toEqual([2, 3, 4]);

      await redis.zadd(
        n.pendingEvents("job_x"),
        1,
        JSON.stringify(progress(1)),
        2,
        "garbage",
        3,
        JSON.stringify({ seq: 3, type: "progress" }),
        4,
        JSON.stringify(progress(4)),
      );
      expect((await bus.pending("job_x", 0)).map((e) => e.seq)).toEqual([1, 4]);
      expect(await bus.pending("job_x", 1)).toEqual([progress(4)]);
    } finally {
      await bus.stop();
      redis.disconnect();
    }
  });

  it.skipIf(skip)("takes a queue job's progress only when it is a JobProgress", async () => {
    const queue = new BullQueue({ redisUrl: redisUrl!, prefix, names: names(prefix) });
    // The queue as a worker sees it, to put progress on the job.
    const raw = new Queue(names(prefix).queue, { connection: { url: redisUrl! }, prefix });
    try {
      const record = { id: "job_q", owner: "anonymous", priority: 5 } as JobRecord;
      await queue.add(record);
      expect(await queue.progress("job_q")).toBeUndefined();
      const job = await raw.getJob("job_q");
      await job!.updateProgress({ epoch: 3, epochs: 9, loss: 0.25 });
      expect(await queue.progress("job_q")).toEqual({ epoch: 3, epochs: 9, loss: 0.25 });
      await job!.updateProgress({ epoch: 4, epochs: 9, loss: "low" });
      expect(await queue.progress("job_q")).toBeUndefined();
      await job!.updateProgress(7);
      expect(await queue.progress("job_q")).toBeUndefined();
    } finally {
      await raw.close();
      await queue.stop();
    }
  });
});
