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
import type { ResolvedTrainRequest } from "../../src/service/models/resolve.js";
import {
  checkBatchBytes,
  checkWork,
  DEFAULT_MAX_BATCH_BYTES,
  describe as describeModel,
  MAX_STATE_GRADIENT_VALUES,
  maxJobWork,
} from "../../src/service/plan/limits.js";
import { planTraining } from "../../src/service/plan/train-plan.js";

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

describe("MAX_BATCH_BYTES at its default, 512 MiB", () => {
  // 28×28×1 → conv2d(1024, 1×1) → flatten → dense(1, sigmoid): 1,606,420 values per sample,
  // 12.9 MB, so 41 samples (502 MiB) fit and 42 (515 MiB) do not.
  const body = (n: number): ResolvedTrainRequest =>
    ({
      model: {
        inputShape: [28, 28, 1],
        layers: [
          { type: "conv2d", filters: 1024, kernelSize: 1 },
          { type: "flatten" },
          { type: "dense", units: 1, activation: "sigmoid" },
        ],
        loss: "binaryCrossentropy",
      },
      dataset: {
        x: Array.from({ length: n }, () => new Array(784).fill(0.5)),
        y: Array.from({ length: n }, (_, i) => i % 2),
      },
      optimizer: { type: "sgd", learningRate: 0.1 },
      epochs: 1,
      batchSize: n,
    }) as ResolvedTrainRequest;
  const wide = { maxParams: 2_000_000, maxWork: 2e10 };

  it("plans a batch just under it and refuses one just over, at batchSize", async () => {
    const plan = await planTraining(body(41), wide, undefined, "request");
    expect(plan.summary.sampleValues.training).toBe(1_606_420);
    expect(41 * 1_606_420 * 8).toBeLessThan(DEFAULT_MAX_BATCH_BYTES);
    const err = await planTraining(body(42), wide, undefined, "request").then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(UnprocessableError);
    expect((err as UnprocessableError).errors).toEqual([
      {
        path: "batchSize",
        message:
          "a batch of 42 samples would keep about 515 MiB of activations and gradients (1606420 values per " +
          "sample × 8 bytes); the limit is 512 MiB (MAX_BATCH_BYTES): a smaller batchSize, or a smaller model",
      },
    ]);
  });

  it("counts the evaluation's 256-sample chunks when they are larger than the batch, at model", () => {
    const summary = describeModel(body(1).model, wide);
    // 300 samples in batches of 8: the final evaluation back-propagates 256 at once.
    const err = thrown(() =>
      checkBatchBytes(summary, { kind: "training", n: 300, batchSize: 8, closedForm: false }, wide),
    );
    expect(err.errors?.[0]?.path).toBe("model");
    expect(err.message).toMatch(/^evaluating 256 samples at once .* \(MAX_BATCH_BYTES\): a smaller model$/);
    // A /gradients sample of the same model fits.
    expect(checkBatchBytes(summary, { kind: "gradients", n: 1 }, wide)).toBeUndefined();
  });
});

describe("telemetry's stateGradientNorm: at most 1,000,000 numbers (epochs × recurrent timesteps)", () => {
  const body = (layer: object, steps: number, epochs: number, telemetry = true): ResolvedTrainRequest =>
    ({
      model: {
        inputShape: [steps, 1],
        layers: [layer, { type: "dense", units: 1 }],
        loss: "meanSquaredError",
      },
      dataset: { x: [Array.from({ length: steps }, () => [0.5])], y: [[1]] },
      optimizer: { type: "sgd", learningRate: 0.1 },
      epochs,
      telemetry,
    }) as ResolvedTrainRequest;
  const rnn = { type: "simpleRNN", units: 1 };
  const bidi = { type: "bidirectional", layer: rnn };
  const wide = { maxParams: 1000, maxWork: 1e15 };
  const refusal = (b: ResolvedTrainRequest) =>
    planTraining(b, wide, undefined, "job").then(
      () => undefined,
      (e: unknown) => e as UnprocessableError,
    );

  it("refuses the 2000-epoch simpleRNN over 4096 steps at telemetry (8,192,000 numbers), not without telemetry", async () => {
    const err = await refusal(body(rnn, 4096, 2000));
    expect(err).toBeInstanceOf(UnprocessableError);
    const message =
      "telemetry would hold 8,192,000 state-gradient norms (stateGradientNorm: 2,000 epochs × 4,096 timesteps " +
      "of recurrent layers, up to about 188 MiB of JSON); the limit is 1,000,000: fewer epochs or timesteps, " +
      "or no telemetry";
    expect(err!.errors).toEqual([{ path: "telemetry", message }]);
    expect(await refusal(body(rnn, 4096, 2000, false))).toBeUndefined();
  });

  it("244 epochs of 4096 steps fit (999,424), 245 do not (1,003,520)", async () => {
    expect(MAX_STATE_GRADIENT_VALUES).toBe(1_000_000);
    expect(await refusal(body(rnn, 4096, 244))).toBeUndefined();
    expect((await refusal(body(rnn, 4096, 245)))!.errors![0]!.path).toBe("telemetry");
  });

  it("a bidirectional layer counts both copies: 500 steps are 1000 numbers an epoch", async () => {
    expect(describeModel(body(bidi, 500, 1).model, wide).stateSteps).toBe(1000);
    expect(describeModel(body({ type: "globalAveragePooling1d" }, 500, 1).model, wide).stateSteps).toBe(0);
    expect(await refusal(body(bidi, 500, 1000))).toBeUndefined();
    expect((await refusal(body(bidi, 500, 1001)))!.message).toContain("1,001 epochs × 1,000 timesteps");
  });
});
