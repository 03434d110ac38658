/**
 * Webhooks in the distributed mode, with real components: two API processes and one worker
 * against PostgreSQL and Redis (TEST_DATABASE_URL, TEST_REDIS_URL; skipped without them). The
 * worker ends the job and writes its deliveries in the same transaction; the API processes both
 * poll the shared table, and a delivery's try is claimed by one of them at a time.
 */
import { Webhook } from "standardwebhooks";
import { afterAll, describe, expect, it } from "vitest";
import { ALICE, BOB, xor, xorModel } from "../fixtures.js";
import { startReceiver } from "../http/webhook-receiver.js";
import { Cluster, skipReason } from "./cluster.js";

if (skipReason) console.warn(skipReason);

const cluster = new Cluster();
afterAll(() => cluster.cleanup(), 30_000);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Delivery {
  id: string;
  jobId: string;
  status: string;
  attempts: { attempt: number; statusCode: number | null }[];
}

describe.skipIf(skipReason !== undefined)("webhooks, distributed (PostgreSQL)", () => {
  it("a job run by a worker is delivered once per try by one of the API processes, after a failed try", async () => {
    const receiver = await startReceiver([500]);
    try {
      const env = {
        API_KEYS: `${ALICE},${BOB}`,
        WEBHOOK_ALLOW_INSECURE: "1",
        WEBHOOK_POLL_MS: "20",
        WEBHOOK_RETRY_DELAYS_MS: "100,100",
      };
      const [a, b] = await Promise.all([
        cluster.api(env),
        cluster.api(env),
        cluster.worker({ POOL_SIZE: "1" }),
      ]);
      const call = (base: string, key: string, path: string, init: RequestInit = {}) =>
        fetch(`${base}${path}`, { ...init, headers: { "x-api-key": key, ...(init.headers ?? {}) } });
      const post = (base: string, key: string, path: string, payload: unknown) =>
        call(base, key, path, {
          method: "POST",
          body: JSON.stringify(payload),
          headers: { "content-type": "application/json" },
        });

      const created = await post(a.base, ALICE, "/webhooks", {
        url: receiver.url,
        events: ["job.succeeded"],
      });
      expect(created.status).toBe(201);
      const hook = (await created.json()) as { id: string; secret: string };
      // Seen through the other API process, and only by its owner.
      expect((await call(b.base, ALICE, `/webhooks/${hook.id}`)).status).toBe(200);
      expect((await call(b.base, BOB, `/webhooks/${hook.id}`)).status).toBe(404);

      const job = await post(a.base, ALICE, "/jobs", {
        model: xorModel,
        dataset: xor,
        optimizer: { type: "sgd", learningRate: 0.1 },
        epochs: 3,
      });
      expect(job.status).toBe(202);
      const jobId = ((await job.json()) as { id: string }).id;

      let delivery: Delivery | undefined;
      for (;;) {
        const list = (await (await call(b.base, ALICE, `/webhooks/${hook.id}/deliveries`)).json()) as {
          deliveries: Delivery[];
        };
        delivery = list.deliveries[0];
        if (delivery && delivery.status !== "pending") break;
        await sleep(50);
      }
      expect(delivery).toMatchObject({ jobId, status: "delivered" });
      expect(delivery.attempts.map((t) => [t.attempt, t.statusCode])).toEqual([
        [1, 500],
        [2, 200],
      ]);
      // Two API processes polling, two tries sent: none sent twice.
      expect(receiver.received).toHaveLength(2);
      for (const got of receiver.received) {
        expect(got.headers["webhook-id"]).toBe(delivery.id);
        expect(
          new Webhook(hook.secret).verify(got.body, got.headers as Record<string, string>),
        ).toMatchObject({
          type: "job.succeeded",
          data: { id: jobId, status: "succeeded" },
        });
      }
    } finally {
      await receiver.close();
    }
  }, 60_000);
});
