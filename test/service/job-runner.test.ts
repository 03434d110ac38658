/**
 * The job runner reads a job's stored request back through the TrainRequest schema: a request
 * that no longer parses fails its job with a problem naming the fields, and nothing crashes.
 */
import { describe, expect, it } from "vitest";
import type { EngineService } from "../../src/service/engine-service.js";
import { ProblemError } from "../../src/service/errors.js";
import { LocalEventBus } from "../../src/service/jobs/local/local-bus.js";
import { JobRunner, storedRequest } from "../../src/service/jobs/runner.js";
import type { EnginePool } from "../../src/service/pool.js";
import { SqlJobStore } from "../../src/service/store/sql/sql-job-store.js";
import { openDatabase, SqliteDriver } from "../../src/service/store/sqlite/database.js";
import { irisJob } from "../fixtures.js";

describe("a job's stored request", () => {
  it("parses back to the body it was stored from", () => {
    const body = irisJob(5);
    expect(storedRequest(JSON.stringify(body), "job_a")).toMatchObject(body);
  });

  it("that no longer parses is a 422 problem naming the field", () => {
    const bad = { ...irisJob(5), epochs: "five" };
    const err = (() => {
      try {
        storedRequest(JSON.stringify(bad), "job_a");
      } catch (e) {
        return e;
      }
    })() as ProblemError;
    expect(err).toBeInstanceOf(ProblemError);
    expect(err.status).toBe(422);
    expect(err.type).toBe("/problems/stored-request-invalid");
    expect(err.message).toMatch(/stored request of job job_a does not fit the request schema at epochs/);
    expect(() => storedRequest("{not json", "job_a")).toThrow(ProblemError);
    expect(() => storedRequest(undefined, "job_a")).toThrow(/job job_a has no stored request/);
  });

  it("fails its job with that problem when the runner takes it", async () => {
    const store = new SqlJobStore(new SqliteDriver(openDatabase(":memory:")));
    const bus = new LocalEventBus();
    // Neither the engine nor the pool is reached: the request is checked first.
    const runner = new JobRunner(store, bus, {} as EngineService, {} as EnginePool, { checkpointEvery: 5 });
    await store.insert({
      id: "job_bad",
      request: JSON.stringify({ ...irisJob(5), optimizer: { type: "nope" } }),
      seed: 1,
      datasetId: null,
      idempotencyKey: null,
      requestHash: null,
      epochs: 5,
      createdAt: new Date().toISOString(),
    });
    const outcome = await runner.run({ id: "job_bad", reportedBefore: 0, report: async () => {} });
    expect(outcome.status).toBe("done");
    const job = await store.get("job_bad");
    expect(job).toMatchObject({ status: "failed", attempts: 1 });
    expect(job?.error).toMatchObject({ type: "/problems/stored-request-invalid", status: 422 });
    expect(String(job?.error?.detail)).toMatch(/job_bad .* at optimizer\.type/);
    const events = await store.events("job_bad", 0);
    expect(events.map((e) => [e.seq, e.type])).toEqual([[6, "failed"]]);
  });
});
