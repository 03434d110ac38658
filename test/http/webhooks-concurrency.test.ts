/**
 * Webhook deliveries are sent side by side: a receiver that never answers (API key A) holds only
 * its own deliveries, at most two tries of one endpoint at once, while another key's healthy
 * receiver (B) gets its delivery within the same timeout. WEBHOOK_TIMEOUT_MS is long (5 s), so A's
 * tries are still pending when B's delivery is recorded.
 */
import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildTestApp, sgd } from "./helper.js";
import { HANG, type Receiver, startReceiver } from "./webhook-receiver.js";

const A = { "x-api-key": "key-a-0123456789abcdef" };
const B = { "x-api-key": "key-b-0123456789abcdef" };

interface Delivery {
  id: string;
  jobId?: string;
  status: string;
  attempts: { statusCode: number | null }[];
}

describe("webhook deliveries of one endpoint that hangs", () => {
  let app: FastifyInstance;
  let hanging: Receiver;
  let healthy: Receiver;
  beforeAll(async () => {
    app = await buildTestApp({
      API_KEYS: `${A["x-api-key"]},${B["x-api-key"]}`,
      WEBHOOK_ALLOW_INSECURE: "1",
      WEBHOOK_POLL_MS: "10",
      WEBHOOK_TIMEOUT_MS: "5000",
      WEBHOOK_CONCURRENCY: "8",
    });
    hanging = await startReceiver([HANG, HANG, HANG]);
    healthy = await startReceiver();
  });
  afterAll(async () => {
    // The app first: its tries under way are aborted before the receiver drops them.
    await app.close();
    await Promise.all([hanging.close(), healthy.close()]);
  });

  const as = (headers: Record<string, string>, method: "GET" | "POST", url: string, payload?: object) =>
    app.inject({ method, url, headers, ...(payload ? { payload } : {}) });
  const runJob = async (headers: Record<string, string>) => {
    const res = await as(headers, "POST", "/jobs", {
      model: { inputShape: [2], layers: [{ type: "dense", units: 1 }], loss: "meanSquaredError" },
      dataset: { name: "xor" },
      optimizer: sgd,
      epochs: 1,
    });
    expect(res.statusCode, res.body).toBe(202);
    const id: string = res.json().id;
    for (;;) {
      const job = (await as(headers, "GET", `/jobs/${id}`)).json();
      if (job.status === "succeeded") return id;
      expect(job.status).toBeOneOf(["queued", "running"]);
      await new Promise((r) => setTimeout(r, 10));
    }
  };
  const deliveries = async (headers: Record<string, string>, webhookId: string) => {
    const res = await as(headers, "GET", `/webhooks/${webhookId}/deliveries`);
    expect(res.statusCode).toBe(200);
    return res.json().deliveries as Delivery[];
  };

  it("delivers another key's event while the hanging endpoint's tries are pending, two of them at most", async () => {
    const hookA = (await as(A, "POST", "/webhooks", { url: hanging.url, events: ["job.succeeded"] })).json();
    const hookB = (await as(B, "POST", "/webhooks", { url: healthy.url, events: ["job.succeeded"] })).json();
    // Three of A's deliveries due, before B's job ends.
    for (let i = 0; i < 3; i++) await runJob(A);
    await hanging.waitFor(2);
    const jobB = await runJob(B);
    let delivered: Delivery | undefined;
    for (;;) {
      [delivered] = await deliveries(B, hookB.id);
      if (delivered && delivered.status !== "pending") break;
      await new Promise((r) => setTimeout(r, 10));
    }
    // B's try came and was recorded while A's first tries still hang: none of A's is recorded yet.
    const ofA = await deliveries(A, hookA.id);
    expect(delivered).toMatchObject({ jobId: jobB, status: "delivered", attempts: [{ statusCode: 200 }] });
    expect(healthy.received).toHaveLength(1);
    expect(healthy.received[0]!.headers["webhook-id"]).toBe(delivered!.id);
    expect(ofA.map((d) => [d.status, d.attempts.length])).toEqual([
      ["pending", 0],
      ["pending", 0],
      ["pending", 0],
    ]);
    // A's third, due before B's, waits for a slot of its endpoint: two tries of A in flight, not three.
    expect(hanging.received).toHaveLength(2);
    expect(new Set(hanging.received.map((r) => r.headers["webhook-id"])).size).toBe(2);
  });
});
