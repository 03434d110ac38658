/**
 * Webhooks end to end, against a real receiver on loopback (WEBHOOK_ALLOW_INSECURE): registration
 * per API key, signed deliveries verified with the standardwebhooks package, retries on the
 * configured schedule, redirects not followed, secret rotation, refused addresses, isolation.
 */
import type { FastifyInstance, InjectOptions } from "fastify";
import { Webhook } from "standardwebhooks";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { tuningExample } from "../../src/schemas/tuning-examples.js";
import { buildTestApp, sgd, waitForJob } from "./helper.js";
import { type Receiver, startReceiver } from "./webhook-receiver.js";

const xorJob = (epochs: number) => ({
  model: {
    inputShape: [2],
    layers: [{ type: "dense", units: 1, activation: "sigmoid" }],
    loss: "binaryCrossentropy",
  },
  dataset: { name: "xor" },
  optimizer: sgd,
  epochs,
  seed: 7,
});

const receivers: Receiver[] = [];
async function receiver(answers: number[] = []): Promise<Receiver> {
  const r = await startReceiver(answers);
  receivers.push(r);
  return r;
}
afterEach(async () => {
  await Promise.all(receivers.splice(0).map((r) => r.close()));
});

interface Delivery {
  id: string;
  type: string;
  jobId?: string;
  tuningJobId?: string;
  status: string;
  attempts: { attempt: number; statusCode: number | null; outcome: string }[];
}

/** Polls a webhook's deliveries until `until` holds of the first (the newest). */
async function deliveryOf(
  app: FastifyInstance,
  webhookId: string,
  until: (d: Delivery) => boolean,
  headers: Record<string, string> = {},
): Promise<Delivery> {
  for (;;) {
    const res = await app.inject({ method: "GET", url: `/webhooks/${webhookId}/deliveries`, headers });
    expect(res.statusCode).toBe(200);
    const [d] = res.json().deliveries as Delivery[];
    if (d && until(d)) return d;
    await new Promise((r) => setTimeout(r, 10));
  }
}

async function runJob(
  app: FastifyInstance,
  epochs = 2,
  headers: Record<string, string> = {},
): Promise<string> {
  const res = await app.inject({ method: "POST", url: "/jobs", payload: xorJob(epochs), headers });
  expect(res.statusCode).toBe(202);
  return res.json().id;
}

describe("webhooks with a loopback receiver", () => {
  let app: FastifyInstance;
  beforeAll(async () => {
    app = await buildTestApp({
      WEBHOOK_ALLOW_INSECURE: "1",
      WEBHOOK_RETRY_DELAYS_MS: "20,20",
      WEBHOOK_POLL_MS: "10",
      WEBHOOK_TIMEOUT_MS: "5000",
      CHECKPOINT_MIN_MS: "0",
    });
  });
  afterAll(async () => {
    await app.close();
  });
  // Each test's endpoints go with it: a later job's events reach only the endpoints of its test.
  afterEach(async () => {
    for (const { id } of (await app.inject({ method: "GET", url: "/webhooks" })).json().webhooks)
      await app.inject({ method: "DELETE", url: `/webhooks/${id}` });
  });

  const create = async (url: string, events: string[]) => {
    const res = await app.inject({ method: "POST", url: "/webhooks", payload: { url, events } });
    expect(res.statusCode, res.body).toBe(201);
    return res.json() as { id: string; secret: string; url: string; events: string[] };
  };

  it("registers, shows (without the secret), lists, rotates and deletes an endpoint", async () => {
    const r = await receiver();
    const created = await create(r.url, ["job.succeeded", "job.failed"]);
    expect(created.id).toMatch(/^wh_[0-9a-f]{24}$/);
    expect(created.secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    expect(Buffer.from(created.secret.slice(6), "base64")).toHaveLength(32);
    const got = await app.inject({ method: "GET", url: `/webhooks/${created.id}` });
    expect(got.json()).toEqual({
      id: created.id,
      url: r.url,
      events: ["job.succeeded", "job.failed"],
      createdAt: expect.any(String),
      links: { self: `/webhooks/${created.id}`, deliveries: `/webhooks/${created.id}/deliveries` },
    });
    const list = (await app.inject({ method: "GET", url: "/webhooks" })).json().webhooks;
    expect(list[0]).toEqual(got.json());
    // No paging here (at most 20 per key): a query parameter is a 400, as on the other lists.
    const paged = await app.inject({ method: "GET", url: "/webhooks?limit=5" });
    expect(paged.statusCode).toBe(400);
    expect(paged.json().errors[0]).toMatchObject({ path: "querystring.limit" });
    const rotated = await app.inject({ method: "POST", url: `/webhooks/${created.id}/rotate-secret` });
    expect(rotated.statusCode).toBe(200);
    expect(rotated.json().secret).toMatch(/^whsec_/);
    expect(rotated.json().secret).not.toBe(created.secret);
    expect((await app.inject({ method: "DELETE", url: `/webhooks/${created.id}` })).statusCode).toBe(204);
    for (const [method, url] of [
      ["GET", `/webhooks/${created.id}`],
      ["DELETE", `/webhooks/${created.id}`],
      ["POST", `/webhooks/${created.id}/rotate-secret`],
      ["GET", `/webhooks/${created.id}/deliveries`],
    ] as const)
      expect((await app.inject({ method, url })).statusCode, `${method} ${url}`).toBe(404);
  });

  it("delivers a job's end once, signed: Webhook.verify accepts it and the body is the job", async () => {
    const r = await receiver();
    const hook = await create(r.url, ["job.succeeded"]);
    const other = await create(r.url, ["job.failed"]);
    const jobId = await runJob(app);
    const job = await waitForJob(app, jobId);
    expect(job.status).toBe("succeeded");
    const delivery = await deliveryOf(app, hook.id, (d) => d.status !== "pending");
    const [got] = await r.waitFor(1);
    expect(r.received).toHaveLength(1);
    expect(got!.path).toBe("/hook");
    expect(got!.headers["content-type"]).toBe("application/json");
    expect(got!.headers["webhook-id"]).toBe(delivery.id);
    const payload = new Webhook(hook.secret).verify(got!.body, got!.headers as Record<string, string>);
    const { result, ...shown } = job;
    expect(result).toBeDefined();
    expect(payload).toEqual({ type: "job.succeeded", timestamp: job.finishedAt, data: shown });
    // Another secret, or a body changed by one byte, does not verify.
    expect(() => new Webhook(other.secret).verify(got!.body, got!.headers as Record<string, string>)).toThrow(
      /No matching signature/,
    );
    expect(() =>
      new Webhook(hook.secret).verify(
        got!.body.replace("succeeded", "succeedeD"),
        got!.headers as Record<string, string>,
      ),
    ).toThrow(/No matching signature/);
    expect(delivery).toEqual({
      id: expect.stringMatching(/^msg_[0-9a-f]{24}$/),
      type: "job.succeeded",
      jobId,
      status: "delivered",
      createdAt: job.finishedAt,
      nextAttemptAt: null,
      attempts: [{ attempt: 1, at: expect.any(String), statusCode: 200, outcome: "200 OK" }],
    });
    // The endpoint subscribed to job.failed only got nothing: its deliveries were written (none)
    // in the transaction that ended the job.
    const none = await app.inject({ method: "GET", url: `/webhooks/${other.id}/deliveries` });
    expect(none.json()).toEqual({ deliveries: [] });
  });

  it("tries again after failures: a receiver failing twice gets the event on the third try, same id each time", async () => {
    const r = await receiver([500, 503]);
    const hook = await create(r.url, ["job.succeeded"]);
    const jobId = await runJob(app);
    const delivery = await deliveryOf(app, hook.id, (d) => d.jobId === jobId && d.status !== "pending");
    expect(delivery.status).toBe("delivered");
    expect(delivery.attempts.map((a) => [a.attempt, a.statusCode, a.outcome])).toEqual([
      [1, 500, "500 Internal Server Error"],
      [2, 503, "503 Service Unavailable"],
      [3, 200, "200 OK"],
    ]);
    expect(r.received).toHaveLength(3);
    expect(new Set(r.received.map((g) => g.headers["webhook-id"]))).toEqual(new Set([delivery.id]));
    for (const g of r.received) new Webhook(hook.secret).verify(g.body, g.headers as Record<string, string>);
  });

  it("gives up after the last delay, and follows no redirect (a 3xx is a failed try)", async () => {
    const r = await receiver([302, 302, 302]);
    const hook = await create(r.url, ["job.succeeded"]);
    const jobId = await runJob(app);
    const delivery = await deliveryOf(app, hook.id, (d) => d.jobId === jobId && d.status !== "pending");
    expect(delivery.status).toBe("failed");
    expect(delivery.attempts.map((a) => [a.statusCode, a.outcome])).toEqual(
      Array(3).fill([302, "302 Found (redirects are not followed)"]),
    );
    expect(r.received.map((g) => g.path)).toEqual(["/hook", "/hook", "/hook"]);
  });

  it("delivers job.cancelled, signed by the old secret too for a day after a rotation", async () => {
    const r = await receiver();
    const hook = await create(r.url, ["job.cancelled"]);
    const rotated = (await app.inject({ method: "POST", url: `/webhooks/${hook.id}/rotate-secret` })).json();
    const jobId = await runJob(app, 100_000);
    expect((await app.inject({ method: "POST", url: `/jobs/${jobId}/cancel` })).statusCode).toBe(200);
    const delivery = await deliveryOf(app, hook.id, (d) => d.status !== "pending");
    expect(delivery).toMatchObject({ type: "job.cancelled", jobId, status: "delivered" });
    const [got] = r.received;
    expect(String(got!.headers["webhook-signature"]).split(" ")).toHaveLength(2);
    for (const secret of [rotated.secret, hook.secret]) {
      const payload = new Webhook(secret).verify(got!.body, got!.headers as Record<string, string>) as {
        type: string;
        data: { id: string; status: string };
      };
      expect([payload.type, payload.data.id, payload.data.status]).toEqual([
        "job.cancelled",
        jobId,
        "cancelled",
      ]);
    }
  });

  it("delivers a tuning job's end (tuning.succeeded), signed, with its best trial; its trials' ends as job events", async () => {
    const r = await receiver();
    const hook = await create(r.url, ["tuning.succeeded", "tuning.cancelled"]);
    const jobs = await create(r.url, ["job.succeeded"]);
    const body = {
      ...tuningExample,
      base: { ...tuningExample.base, epochs: 3 },
      maxTrials: 2,
      parallelTrials: 1,
      seed: 3,
    };
    const created = await app.inject({ method: "POST", url: "/tuning-jobs", payload: body });
    expect(created.statusCode, created.body).toBe(202);
    const id = created.json().id as string;
    const delivery = await deliveryOf(app, hook.id, (d) => d.status !== "pending");
    expect(delivery).toMatchObject({ type: "tuning.succeeded", tuningJobId: id, status: "delivered" });
    expect(delivery).not.toHaveProperty("jobId");
    const tuned = (await app.inject({ method: "GET", url: `/tuning-jobs/${id}` })).json();
    expect(tuned.status).toBe("succeeded");
    const got = (await r.waitFor(3)).find((m) => m.headers["webhook-id"] === delivery.id)!;
    const payload = new Webhook(hook.secret).verify(got.body, got.headers as Record<string, string>) as {
      type: string;
      timestamp: string;
      data: Record<string, unknown>;
    };
    expect(payload).toEqual({
      type: "tuning.succeeded",
      timestamp: tuned.finishedAt,
      data: {
        id,
        status: "succeeded",
        createdAt: tuned.createdAt,
        finishedAt: tuned.finishedAt,
        trialsDone: 2,
        best: tuned.best,
        links: { self: `/tuning-jobs/${id}`, events: `/tuning-jobs/${id}/events` },
      },
    });
    // Each trial is a job of the key: its end reaches the job.succeeded endpoint.
    const trialJobs = (await app.inject({ method: "GET", url: `/webhooks/${jobs.id}/deliveries` })).json()
      .deliveries as Delivery[];
    expect(trialJobs.map((d) => d.jobId).sort()).toEqual(
      tuned.trials.map((t: { jobId: string }) => t.jobId).sort(),
    );
  });

  it("takes 20 endpoints per API key, and answers 409 for one more", async () => {
    for (let i = 0; i < 20; i++) await create(`https://8.8.8.8/hook/${i}`, ["job.failed"]);
    const res = await app.inject({
      method: "POST",
      url: "/webhooks",
      payload: { url: "https://8.8.8.8/one-more", events: ["job.failed"] },
    });
    expect(res.statusCode).toBe(409);
    expect(res.json().detail).toMatch(/20 webhooks/);
    expect((await app.inject({ method: "GET", url: "/webhooks" })).json().webhooks).toHaveLength(20);
  });

  it("refuses non-public and non-loopback-http URLs with a 422 naming url, and bad bodies with a 400", async () => {
    for (const url of [
      "http://10.0.0.1/hook", // http: loopback only
      "https://10.0.0.1/hook",
      "https://192.168.1.20/hook",
      "https://169.254.169.254/latest/meta-data", // cloud metadata (link-local)
      "https://100.100.100.200/", // carrier-grade NAT (another cloud's metadata)
      "https://[fd00:ec2::254]/", // unique-local IPv6 (metadata)
      "https://[::ffff:10.1.2.3]/", // IPv4-mapped private
      "https://0.0.0.0/",
      "https://0x0a.1/", // 10.0.0.1 spelt otherwise
      "https://user:pw@8.8.8.8/",
      "ftp://8.8.8.8/",
      "not a url",
      "https://no-such-host.invalid/hook",
    ]) {
      const res = await app.inject({
        method: "POST",
        url: "/webhooks",
        payload: { url, events: ["job.failed"] },
      });
      expect(res.statusCode, url).toBe(422);
      expect(res.json().errors, url).toEqual([{ path: "url", message: expect.any(String) }]);
    }
    for (const payload of [
      { url: "https://8.8.8.8/", events: [] },
      { url: "https://8.8.8.8/", events: ["job.done"] },
      { url: "https://8.8.8.8/", events: ["job.failed", "job.failed"] },
      { url: "https://8.8.8.8/", events: ["job.failed"], extra: 1 },
      { events: ["job.failed"] },
    ]) {
      const res = await app.inject({ method: "POST", url: "/webhooks", payload });
      expect(res.statusCode, JSON.stringify(payload)).toBe(400);
    }
  });
});

describe("webhooks without WEBHOOK_ALLOW_INSECURE", () => {
  it("refuses http and loopback, by address and by name", async () => {
    const app = await buildTestApp();
    try {
      for (const url of [
        "http://127.0.0.1:9/hook",
        "https://127.0.0.1/hook",
        "https://[::1]/",
        "https://localhost/",
      ]) {
        const res = await app.inject({
          method: "POST",
          url: "/webhooks",
          payload: { url, events: ["job.failed"] },
        });
        expect(res.statusCode, url).toBe(422);
        expect(res.json().errors[0].path).toBe("url");
      }
      const res = await app.inject({
        method: "POST",
        url: "/webhooks",
        payload: { url: "https://8.8.8.8/hook", events: ["job.failed"] },
      });
      expect(res.statusCode).toBe(201);
    } finally {
      await app.close();
    }
  });
});

describe("webhooks per API key", () => {
  const A = { "x-api-key": "key-a-0123456789abcdef" };
  const B = { "x-api-key": "key-b-0123456789abcdef" };
  let app: FastifyInstance;
  beforeAll(async () => {
    app = await buildTestApp({
      API_KEYS: `${A["x-api-key"]},${B["x-api-key"]}`,
      WEBHOOK_ALLOW_INSECURE: "1",
      WEBHOOK_POLL_MS: "10",
    });
  });
  afterAll(async () => {
    await app.close();
  });
  const as = (headers: Record<string, string>, opts: InjectOptions) =>
    app.inject({ ...opts, headers: { ...opts.headers, ...headers } });

  it("another key neither sees nor changes an endpoint, and gets none of its jobs' events", async () => {
    const ra = await receiver();
    const rb = await receiver();
    const events = ["job.succeeded", "job.failed", "job.cancelled"];
    const hookA = (
      await as(A, { method: "POST", url: "/webhooks", payload: { url: ra.url, events } })
    ).json();
    const hookB = (
      await as(B, { method: "POST", url: "/webhooks", payload: { url: rb.url, events } })
    ).json();
    for (const [method, url] of [
      ["GET", `/webhooks/${hookA.id}`],
      ["GET", `/webhooks/${hookA.id}/deliveries`],
      ["POST", `/webhooks/${hookA.id}/rotate-secret`],
      ["DELETE", `/webhooks/${hookA.id}`],
    ] as const)
      expect((await as(B, { method, url })).statusCode, `${method} ${url}`).toBe(404);
    expect(
      (await as(B, { method: "GET", url: "/webhooks" })).json().webhooks.map((w: { id: string }) => w.id),
    ).toEqual([hookB.id]);
    const jobId = await runJob(app, 2, A);
    const delivery = await deliveryOf(app, hookA.id, (d) => d.status === "delivered", A);
    expect(delivery.jobId).toBe(jobId);
    const [got] = await ra.waitFor(1);
    expect(new Webhook(hookA.secret).verify(got!.body, got!.headers as Record<string, string>)).toMatchObject(
      {
        data: { id: jobId },
      },
    );
    expect((await as(B, { method: "GET", url: `/webhooks/${hookB.id}/deliveries` })).json()).toEqual({
      deliveries: [],
    });
    expect(rb.received).toEqual([]);
    expect((await as(A, { method: "GET", url: `/webhooks/${hookA.id}` })).statusCode).toBe(200);
  });
});
