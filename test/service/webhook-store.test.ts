/**
 * SqlWebhookStore on SQLite: deliveries written by the job's end (once per endpoint, event and
 * job, only to the owner's subscribed endpoints), a try claimed by one sender at a time, the
 * state after each try, retention, and ownership.
 */
import { describe, expect, it } from "vitest";
import type { JobEvent } from "../../src/service/store/job-store.js";
import { SqlJobStore } from "../../src/service/store/sql/sql-job-store.js";
import { enqueueDeliveries, SqlWebhookStore } from "../../src/service/store/sql/sql-webhook-store.js";
import { openDatabase, SqliteDriver } from "../../src/service/store/sqlite/database.js";
import { jobEventPayload } from "../../src/service/webhooks/payload.js";

function stores() {
  const driver = new SqliteDriver(openDatabase(":memory:"));
  return { driver, jobs: new SqlJobStore(driver), webhooks: new SqlWebhookStore(driver) };
}

const endpoint = (
  id: string,
  owner: string,
  events: ("job.succeeded" | "job.failed" | "job.cancelled")[],
) => ({
  id,
  owner,
  createdAt: "2026-01-01T00:00:00.000Z",
  url: "https://8.8.8.8/hook",
  events,
  secret: `whsec_${id}`,
  previousSecret: null,
  previousUntil: null,
});

async function endJob(jobs: SqlJobStore, id: string, owner: string, status: "failed" | "cancelled") {
  await jobs.insert({
    id,
    owner,
    request: "{}",
    seed: 1,
    datasetId: null,
    idempotencyKey: null,
    requestHash: null,
    epochs: 10,
    createdAt: new Date().toISOString(),
  });
  const final = (): JobEvent => ({ seq: 11, type: status, data: "{}" });
  return jobs.finish(id, { status, finishedAt: "2026-01-02T00:00:00.000Z", from: "active" }, [], final);
}

describe("SqlWebhookStore", () => {
  it("gets one delivery per subscribed endpoint of the job's owner, written by the job's end, never two", async () => {
    const { driver, jobs, webhooks } = stores();
    await webhooks.insert(endpoint("wh_a", "alice", ["job.failed", "job.succeeded"]));
    await webhooks.insert(endpoint("wh_b", "alice", ["job.succeeded"]));
    await webhooks.insert(endpoint("wh_c", "bob", ["job.failed"]));
    expect(await endJob(jobs, "job_1", "alice", "failed")).toBeDefined();
    // The end happened once: a second finish writes nothing.
    const again = {
      status: "failed" as const,
      finishedAt: "2026-01-03T00:00:00.000Z",
      from: "active" as const,
    };
    expect(
      await jobs.finish("job_1", again, [], () => ({ seq: 11, type: "failed", data: "{}" })),
    ).toBeUndefined();
    const [a] = await webhooks.deliveries("wh_a", 10);
    expect(a!.delivery).toMatchObject({
      webhookId: "wh_a",
      type: "job.failed",
      subjectId: "job_1",
      status: "pending",
      attempts: 0,
      createdAt: "2026-01-02T00:00:00.000Z",
    });
    expect(JSON.parse(a!.delivery.payload)).toMatchObject({
      type: "job.failed",
      timestamp: "2026-01-02T00:00:00.000Z",
      data: { id: "job_1", status: "failed" },
    });
    expect(await webhooks.deliveries("wh_b", 10)).toEqual([]);
    expect(await webhooks.deliveries("wh_c", 10)).toEqual([]);
    // Written again for the same end (a retried transaction): still one row.
    const ended = (await jobs.get("job_1"))!;
    await driver.transaction((tx) =>
      enqueueDeliveries(tx, ended, "job.failed", () => jobEventPayload(ended)),
    );
    expect(await webhooks.deliveries("wh_a", 10)).toHaveLength(1);
  });

  it("lets one sender claim a due try, records each try, and gives up after the last", async () => {
    const { jobs, webhooks } = stores();
    await webhooks.insert(endpoint("wh_a", "alice", ["job.cancelled"]));
    await endJob(jobs, "job_1", "alice", "cancelled");
    const now = Date.now() + 1;
    const [claimed, ...rest] = await webhooks.claimDue(now, now + 30_000, 10);
    expect(rest).toEqual([]);
    expect(claimed).toMatchObject({
      url: "https://8.8.8.8/hook",
      secrets: ["whsec_wh_a"],
      nextAttemptAt: now + 30_000,
    });
    // Claimed: no other sender gets it until the lease ends.
    expect(await webhooks.claimDue(now, now + 30_000, 10)).toEqual([]);
    expect(await webhooks.claimDue(now + 30_000, now + 60_000, 10)).toHaveLength(1);
    await webhooks.recordAttempt(claimed!.id, {
      at: "t1",
      statusCode: 500,
      outcome: "500 Internal Server Error",
      delivered: false,
      retryAt: now + 100,
    });
    expect(await webhooks.claimDue(now + 99, now + 1000, 10)).toEqual([]);
    const again = await webhooks.claimDue(now + 100, now + 1000, 10);
    expect(again.map((d) => d.attempts)).toEqual([1]);
    await webhooks.recordAttempt(claimed!.id, {
      at: "t2",
      statusCode: null,
      outcome: "x".repeat(500),
      delivered: false,
      retryAt: null,
    });
    const [d] = await webhooks.deliveries("wh_a", 10);
    expect(d!.delivery).toMatchObject({ status: "failed", attempts: 2, nextAttemptAt: null });
    expect(d!.attempts).toEqual([
      { attempt: 1, at: "t1", statusCode: 500, outcome: "500 Internal Server Error" },
      { attempt: 2, at: "t2", statusCode: null, outcome: "x".repeat(200) },
    ]);
    expect(await webhooks.claimDue(Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER, 10)).toEqual([]);
  });

  it("claims at most `max` per endpoint with the sender's busy ones, so one endpoint's backlog hides no other", async () => {
    const { jobs, webhooks } = stores();
    await webhooks.insert(endpoint("wh_a", "alice", ["job.failed"]));
    await webhooks.insert(endpoint("wh_b", "bob", ["job.failed"]));
    for (const id of ["job_1", "job_2", "job_3"]) await endJob(jobs, id, "alice", "failed");
    await endJob(jobs, "job_4", "bob", "failed");
    const now = Date.now() + 1;
    const claim = async (limit: number, busy?: [string, number][]) =>
      (await webhooks.claimDue(now, now + 30_000, limit, busy && { max: 2, busy: new Map(busy) })).map(
        (d) => `${d.webhookId}:${d.subjectId}`,
      );
    // wh_a has one in flight: room for one more; bob's, due after alice's three, comes too.
    expect(await claim(8, [["wh_a", 1]])).toEqual(["wh_a:job_1", "wh_b:job_4"]);
    expect(await claim(8, [["wh_a", 2]])).toEqual([]);
    // Without a cap, the earliest due.
    expect(await claim(1)).toEqual(["wh_a:job_2"]);
    expect(await claim(8, [])).toEqual(["wh_a:job_3"]);
    expect(await claim(8, [])).toEqual([]);
  });

  it("signs with the previous secret too until it expires, and keeps endpoints per owner", async () => {
    const { jobs, webhooks } = stores();
    await webhooks.insert(endpoint("wh_a", "alice", ["job.failed"]));
    expect(await webhooks.rotate("wh_a", "bob", "whsec_new", 1)).toBeUndefined();
    expect(await webhooks.delete("wh_a", "bob")).toBe(false);
    expect(await webhooks.get("wh_a", "bob")).toBeUndefined();
    const now = Date.now() + 1;
    const rotated = await webhooks.rotate("wh_a", "alice", "whsec_new", now + 1000);
    expect(rotated).toMatchObject({
      secret: "whsec_new",
      previousSecret: "whsec_wh_a",
      previousUntil: now + 1000,
    });
    await endJob(jobs, "job_1", "alice", "failed");
    const [claimed] = await webhooks.claimDue(now, now + 10, 10);
    expect(claimed!.secrets).toEqual(["whsec_new", "whsec_wh_a"]);
    await webhooks.release(claimed!.id, now + 1000);
    const [later] = await webhooks.claimDue(now + 1000, now + 2000, 10);
    expect(later!.secrets).toEqual(["whsec_new"]);
    expect(await webhooks.count("alice")).toBe(1);
    expect(await webhooks.delete("wh_a", "alice")).toBe(true);
    expect(await webhooks.count("alice")).toBe(0);
  });

  it("deletes deliveries past retention once they are no longer pending", async () => {
    const { jobs, webhooks } = stores();
    await webhooks.insert(endpoint("wh_a", "alice", ["job.failed", "job.cancelled"]));
    await endJob(jobs, "job_1", "alice", "failed");
    await endJob(jobs, "job_2", "alice", "cancelled");
    const [first] = await webhooks.claimDue(Date.now() + 1, Date.now() + 10_000, 1);
    await webhooks.recordAttempt(first!.id, {
      at: "t",
      statusCode: 204,
      outcome: "204 No Content",
      delivered: true,
      retryAt: null,
    });
    // Both were created 2026-01-02 (the jobs' end): only the delivered one goes.
    expect(await webhooks.deleteFinishedBefore("2026-01-01T00:00:00.000Z")).toBe(0);
    expect(await webhooks.deleteFinishedBefore("2026-01-03T00:00:00.000Z")).toBe(1);
    const left = await webhooks.deliveries("wh_a", 10);
    expect(left.map((d) => d.delivery.status)).toEqual(["pending"]);
  });
});
