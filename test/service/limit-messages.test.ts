/**
 * Every configurable limit names, in its error, the variable that raises it. The HTTP tests check
 * each in context (test/http/plan.test.ts: MAX_WORK, MAX_JOB_WORK, the epoch cap;
 * test/http/errors.test.ts: MAX_PARAMS, BODY_LIMIT; test/http/train.test.ts: MAX_QUEUE); these
 * check the messages of the others, and of the budget check, directly.
 */
import { describe, expect, it } from "vitest";
import {
  OverloadedError,
  RateLimitedError,
  SyncTimeoutError,
  UnprocessableError,
  WorkerFailedError,
} from "../../src/service/errors.js";
import { checkWork, describe as describeModel, maxJobWork } from "../../src/service/plan/limits.js";

const limits = { maxParams: 10, maxWork: 1000, maxJobWork: 1e6 };

function thrown(f: () => unknown): UnprocessableError {
  try {
    f();
  } catch (err) {
    expect(err).toBeInstanceOf(UnprocessableError);
    return err as UnprocessableError;
  }
  throw new Error("nothing thrown");
}

describe("limit errors name their variable", () => {
  it("MAX_WORK and MAX_JOB_WORK, with the field to shrink", () => {
    const sync = thrown(() => checkWork(5000, limits, "request", "training", ["epochs"], "fewer epochs"));
    expect(sync.message).toBe(
      "training would take about 5.00e+3 multiply-adds; the limit per request is 1.00e+3 (MAX_WORK): " +
        "fewer epochs, or run it as a job (POST /jobs takes the same body; its limit is 1.00e+6, MAX_JOB_WORK)",
    );
    expect(sync.errors).toEqual([{ path: "epochs", message: sync.message }]);
    const job = thrown(() => checkWork(2e6, limits, "job", "training", ["epochs"], "fewer epochs"));
    expect(job.message).toBe(
      "training would take about 2.00e+6 multiply-adds; the limit per job is 1.00e+6 (MAX_JOB_WORK): fewer epochs",
    );
    // Within budget: nothing thrown.
    expect(checkWork(1000, limits, "request", "training", ["epochs"], "")).toBeUndefined();
    expect(checkWork(1e6, limits, "job", "training", ["epochs"], "")).toBeUndefined();
    // MAX_JOB_WORK's default is 1000 × MAX_WORK.
    expect(maxJobWork({ maxParams: 1, maxWork: 7 })).toBe(7000);
  });

  it("MAX_PARAMS", () => {
    const model = {
      inputShape: [4],
      layers: [{ type: "dense" as const, units: 3 }],
      loss: "meanSquaredError" as const,
    };
    const err = thrown(() => describeModel(model, limits));
    expect(err.message).toBe(
      "the model has 15 trainable parameters up to layer dense_0; the limit is 10 (MAX_PARAMS)",
    );
    expect(err.errors?.[0]?.path).toBe("model.layers[0]");
  });

  it("MAX_QUEUE, SYNC_TIMEOUT_MS, WORKER_MAX_HEAP_MB, RATE_LIMIT_MAX", () => {
    expect(new OverloadedError(5).message).toContain("(MAX_QUEUE requests waiting)");
    expect(new SyncTimeoutError(400).message).toContain("within 400 ms (SYNC_TIMEOUT_MS)");
    expect(new WorkerFailedError("out of memory").message).toContain("a higher WORKER_MAX_HEAP_MB");
    expect(new RateLimitedError(3, 60_000, 12).message).toContain(
      "more than 3 requests in 60 s from this client (RATE_LIMIT_MAX / RATE_LIMIT_WINDOW_MS)",
    );
  });
});
