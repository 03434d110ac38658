/** POST /train end to end: learning, reproducibility, clamping, divergence, a free event loop. */
import { request } from "node:http";
import type { AddressInfo } from "node:net";
import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { describeModel, type ModelSpec } from "../../src/engine/index.js";
import { nativeKernels } from "../../src/engine/native.js";
import { trainExample, trainMnistCnnExample, trainMnistMlpExample } from "../../src/schemas/examples.js";
import { TrainResponseSchema } from "../../src/schemas/responses.js";
import { buildTestApp } from "./helper.js";

let app: FastifyInstance;
beforeAll(async () => {
  app = await buildTestApp();
});
afterAll(async () => {
  await app.close();
});

const train = (payload: object) => app.inject({ method: "POST", url: "/train", payload });

describe("POST /train", () => {
  it("learns iris to ≥ 95% training accuracy (the Swagger example)", async () => {
    const res = await train(trainExample);
    expect(res.statusCode).toBe(200);
    expect(res.headers["content-type"]).toBe("application/json; charset=utf-8");
    const body = res.json();
    // The worker serialises the answer; it must still be what the OpenAPI document says.
    TrainResponseSchema.parse(body);
    expect(body.seed).toBe(42);
    expect(body.epochsRun).toBe(200);
    expect(body.history.loss).toHaveLength(200);
    expect(body.history.accuracy).toHaveLength(200);
    expect(body.metrics.accuracy).toBeGreaterThanOrEqual(0.95);
    expect(body.history.loss[199]).toBeLessThan(body.history.loss[0]);
    expect(body.diverged).toBeUndefined();
    expect(body.durationMs).toBeGreaterThan(0);
    // Keys and shapes as docs/backprop.md §1.1: dense kernel [in, units], bias [units]; gradients alike.
    expect(Object.keys(body.weights).sort()).toEqual([
      "dense_0/bias",
      "dense_0/kernel",
      "dense_1/bias",
      "dense_1/kernel",
    ]);
    expect(body.weights["dense_0/kernel"]).toHaveLength(4);
    expect(body.weights["dense_0/kernel"][0]).toHaveLength(8);
    expect(body.weights["dense_1/bias"]).toHaveLength(3);
    expect(Object.keys(body.gradients).sort()).toEqual(Object.keys(body.weights).sort());
    expect(body.gradients["dense_1/kernel"]).toHaveLength(8);
  });

  it("gives identical weights, history and gradients for the same seed", async () => {
    const request = { ...trainExample, epochs: 15, seed: 1234 };
    const [a, b] = await Promise.all([train(request), train(request)]);
    const ja = a.json();
    const jb = b.json();
    expect(ja.weights).toEqual(jb.weights);
    expect(ja.history).toEqual(jb.history);
    expect(ja.gradients).toEqual(jb.gradients);
    expect(ja.metrics).toEqual(jb.metrics);
    const other = (await train({ ...request, seed: 1235 })).json();
    expect(other.weights).not.toEqual(ja.weights);
  });

  it("draws a seed when none is given and the returned seed repeats the run", async () => {
    const { seed: _none, ...request } = { ...trainExample, epochs: 5 };
    const first = (await train(request)).json();
    expect(Number.isInteger(first.seed)).toBe(true);
    expect(first.seed).toBeGreaterThanOrEqual(0);
    expect(first.seed).toBeLessThan(2 ** 32);
    const again = (await train({ ...request, seed: first.seed })).json();
    expect(again.weights).toEqual(first.weights);
  });

  it("clamps a batchSize larger than the data set", async () => {
    const res = await train({
      model: {
        inputShape: [2],
        layers: [
          { type: "dense", units: 4, activation: "tanh" },
          { type: "dense", units: 1, activation: "sigmoid" },
        ],
        loss: "binaryCrossentropy",
      },
      dataset: { name: "xor" },
      optimizer: { type: "sgd", learningRate: 0.5, momentum: 0.9 },
      epochs: 3,
      batchSize: 1000,
      seed: 3,
    });
    expect(res.statusCode).toBe(200);
    expect(res.json().epochsRun).toBe(3);
  });

  it("takes inline samples: nested images, one number per sample for one unit", async () => {
    const res = await train({
      model: {
        inputShape: [2, 2, 1],
        layers: [{ type: "flatten" }, { type: "dense", units: 1 }],
        loss: "meanSquaredError",
      },
      dataset: {
        x: [
          [
            [[1], [0]],
            [[0], [0]],
          ],
          [0, 1, 0, 0],
          [
            [[0], [0]],
            [[1], [0]],
          ],
        ],
        y: [1, [2], 3],
      },
      optimizer: { type: "sgd", learningRate: 0.1 },
      epochs: 2,
      seed: 1,
    });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json().weights["dense_1/kernel"]).toEqual([
      [expect.any(Number)],
      [expect.any(Number)],
      [expect.any(Number)],
      [expect.any(Number)],
    ]);
  });

  it("trains a small CNN on nested images, conv2d kernel [kH, kW, inChannels, filters]", async () => {
    // Dark and bright 4×4 images (a ramp, so no two pixels are equal).
    const image = (v: number) => [0, 1, 2, 3].map((r) => [0, 1, 2, 3].map((c) => [v + (r * 4 + c) / 32]));
    const res = await train({
      model: {
        inputShape: [4, 4, 1],
        layers: [
          { type: "conv2d", filters: 2, kernelSize: 3, activation: "tanh" },
          { type: "maxPooling2d", poolSize: 2 },
          { type: "flatten" },
          { type: "dense", units: 2, activation: "softmax" },
        ],
        loss: "sparseCategoricalCrossentropy",
      },
      dataset: { x: [image(0), image(1), image(0), image(1)], y: [0, 1, 0, 1] },
      optimizer: { type: "adam", learningRate: 0.05 },
      epochs: 30,
      seed: 11,
    });
    expect(res.statusCode, res.body).toBe(200);
    const body = res.json();
    const kernel = body.weights["conv2d_0/kernel"];
    expect([kernel.length, kernel[0].length, kernel[0][0].length, kernel[0][0][0].length]).toEqual([
      3, 3, 1, 2,
    ]);
    expect(body.weights["dense_3/kernel"]).toHaveLength(2);
    expect(body.metrics.accuracy).toBe(1);
  });

  it("trains the CNN of the Swagger example on the MNIST digits (1 epoch here; 3 in the example)", async () => {
    const res = await train({ ...trainMnistCnnExample, epochs: 1 });
    expect(res.statusCode, res.body).toBe(200);
    const body = res.json();
    expect(body.epochsRun).toBe(1);
    // 8,000 training digits, 2,000 held out; one epoch reaches ≈ 0.92, three ≈ 0.95.
    expect(body.metrics.valAccuracy).toBeGreaterThan(0.9);
    expect(body.history.valAccuracy).toHaveLength(1);
    expect(body.weights["conv2d_0/kernel"]).toHaveLength(3);
    expect(body.weights["dense_3/kernel"]).toHaveLength(13 * 13 * 8);
  }, 60_000);

  it("trains the regularised MNIST MLP example (batch normalisation, dropout) and predicts with its moving statistics", async () => {
    const res = await train({ ...trainMnistMlpExample, epochs: 1 });
    expect(res.statusCode, res.body).toBe(200);
    const body = res.json();
    // One epoch reaches ≈ 0.91 on the 2,000 held-out digits, five ≈ 0.94 (README).
    expect(body.metrics.valAccuracy).toBeGreaterThan(0.88);
    expect(body.history.regularizationLoss[0]).toBeGreaterThan(0);
    const mean = body.weights["batchNormalization_2/moving_mean"] as number[];
    const variance = body.weights["batchNormalization_2/moving_variance"] as number[];
    expect(mean).toHaveLength(128);
    // 125 batches moved the statistics away from their start (zeros and ones).
    expect(mean.some((m) => m !== 0) && variance.some((v) => v !== 1)).toBe(true);
    expect(body.gradients["batchNormalization_2/moving_mean"]).toBeUndefined();
    expect(body.gradients["batchNormalization_2/gamma"]).toHaveLength(128);
    const blank = {
      model: trainMnistMlpExample.model,
      weights: body.weights,
      x: [Array(28).fill(Array(28).fill([0]))],
    };
    const predict = await app.inject({ method: "POST", url: "/predict", payload: blank });
    expect(predict.statusCode, predict.body).toBe(200);
    // A distribution over the 10 digits (test/http/normalization.test.ts and dropout.test.ts check
    // that /predict runs in inference mode value by value).
    const p = predict.json().outputs[0] as number[];
    expect(p.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
  }, 60_000);

  it("one-hot encodes a built-in data set for categoricalCrossentropy and holds out a validation split", async () => {
    const res = await train({
      ...trainExample,
      model: { ...trainExample.model, loss: "categoricalCrossentropy" },
      epochs: 3,
      validationSplit: 0.2,
    });
    expect(res.statusCode, res.body).toBe(200);
    const body = res.json();
    expect(body.history.valLoss).toHaveLength(3);
    expect(body.history.valAccuracy).toHaveLength(3);
    expect(body.metrics.valLoss).toBeTypeOf("number");
  });

  describe("linear regression", () => {
    const linear = {
      model: { inputShape: [2], layers: [{ type: "dense", units: 1 }], loss: "meanSquaredError" },
      // y = 1.5·x0 − 2·x1 + 0.5 exactly
      dataset: {
        x: [
          [0, 1],
          [1, 0],
          [1, 1],
          [2, 1],
          [3, 5],
        ],
        y: [-1.5, 2, 0, 1.5, -5],
      },
    };

    it("solves it in closed form with optimizer normalEquation (no epochs needed)", async () => {
      const res = await train({ ...linear, optimizer: { type: "normalEquation" } });
      expect(res.statusCode, res.body).toBe(200);
      const body = res.json();
      TrainResponseSchema.parse(body);
      expect(body.epochsRun).toBe(1);
      expect(body.solution).toMatchObject({ method: "qr", rank: 3 });
      expect(body.solution.r2).toBeCloseTo(1, 12);
      const [[w0], [w1]] = body.weights["dense_0/kernel"];
      expect(w0).toBeCloseTo(1.5, 10);
      expect(w1).toBeCloseTo(-2, 10);
      expect(body.weights["dense_0/bias"][0]).toBeCloseTo(0.5, 10);
    });

    it("reports the optimum and the distance to it when gradient descent trains the same model", async () => {
      const res = await train({
        ...linear,
        optimizer: { type: "sgd", learningRate: 0.02 },
        epochs: 20,
        seed: 2,
      });
      expect(res.statusCode, res.body).toBe(200);
      const body = res.json();
      expect(body.optimum["dense_0/kernel"][0][0]).toBeCloseTo(1.5, 10);
      expect(body.history.distanceToOptimum).toHaveLength(20);
      expect(body.history.distanceToOptimum[19]).toBeLessThan(body.history.distanceToOptimum[0]);
    });
  });

  it("answers 200 with `diverged` when the loss blows up, with finite weights", async () => {
    const res = await train({
      model: { inputShape: [1], layers: [{ type: "dense", units: 1 }], loss: "meanSquaredError" },
      dataset: { x: [[100], [200]], y: [1e6, 2e6] },
      optimizer: { type: "sgd", learningRate: 10 },
      epochs: 100,
      seed: 1,
    });
    expect(res.statusCode).toBe(200);
    const body = res.json();
    TrainResponseSchema.parse(body);
    expect(body.diverged).toMatchObject({
      epoch: expect.any(Number),
      batch: expect.any(Number),
      stage: expect.stringMatching(/^(activation|loss|gradient|weight|valLoss)$/),
      message: expect.any(String),
    });
    expect(body.epochsRun).toBeLessThan(100);
    expect(body.diverged.epoch).toBeLessThanOrEqual(body.epochsRun);
    expect(body.history.loss).toHaveLength(body.epochsRun);
    expect(body.diverged.message).toMatch(/./);
    expect(Number.isFinite(body.weights["dense_0/kernel"][0][0])).toBe(true);
  });

  it("keeps GET /health instant while a long training runs", async () => {
    await train({ ...trainExample, epochs: 1 }); // both workers warm
    let trainedAt = 0;
    const long = train({ ...trainExample, epochs: 2500, batchSize: 4 }).then((r) => {
      trainedAt = performance.now();
      return r;
    });
    await new Promise((r) => setTimeout(r, 50));
    const asked = performance.now();
    const health = await app.inject({ method: "GET", url: "/health" });
    const answered = performance.now();
    expect(health.statusCode).toBe(200);
    expect(health.json()).toEqual({ status: "ok" });
    expect(trainedAt, "training finished before /health answered").toBe(0);
    expect(answered - asked).toBeLessThan(200);
    const res = await long;
    expect(res.statusCode).toBe(200);
    expect(trainedAt).toBeGreaterThan(answered);
  });

  it("echoes a client's x-request-id", async () => {
    const res = await app.inject({ method: "GET", url: "/health", headers: { "x-request-id": "abc-123" } });
    expect(res.headers["x-request-id"]).toBe("abc-123");
    const fresh = await app.inject({ method: "GET", url: "/health", headers: { "x-request-id": "bad id!" } });
    expect(fresh.headers["x-request-id"]).toMatch(/^[0-9a-f-]{36}$/);
  });
});

/** `n` deterministic 28×28×1 images (nested) and alternating 0/1 labels. */
function images(n: number) {
  const image = (s: number) =>
    Array.from({ length: 28 }, (_, r) =>
      Array.from({ length: 28 }, (_, c) => [((s * 7 + r * 28 + c) % 97) / 97]),
    );
  return { x: Array.from({ length: n }, (_, s) => image(s)), y: Array.from({ length: n }, (_, s) => s % 2) };
}

/** The body a tester sent: conv2d with 1024 1×1 filters on 28×28×1, 1.6 million values per sample. */
function wideBody(n: number, batchSize: number) {
  return {
    model: {
      inputShape: [28, 28, 1],
      layers: [
        { type: "conv2d", filters: 1024, kernelSize: 1 },
        { type: "flatten" },
        { type: "dense", units: 1, activation: "sigmoid" },
      ],
      loss: "binaryCrossentropy",
    },
    dataset: images(n),
    optimizer: { type: "sgd", learningRate: 0.1 },
    epochs: 1,
    batchSize,
    seed: 1,
  };
}

describe("MAX_BATCH_BYTES: the memory of a batch, checked from the shapes before anything is allocated", () => {
  it("refuses the 100-sample batch of a model keeping 1.6 million values per sample, naming batchSize", async () => {
    const body = wideBody(100, 100);
    // 100 samples × (784 + 2 · 784 · 1024 + 4) values × 8 bytes = 1.20 GiB, over the default 512 MiB.
    for (const url of ["/train", "/jobs"]) {
      const res = await app.inject({ method: "POST", url, payload: body });
      expect(res.statusCode, res.body).toBe(422);
      const problem = res.json();
      expect(problem.errors.map((e: { path: string }) => e.path)).toEqual(["batchSize"]);
      expect(problem.errors[0].message).toBe(
        "a batch of 100 samples would keep about 1.20 GiB of activations and gradients (1606420 values " +
          "per sample × 8 bytes); the limit is 512 MiB (MAX_BATCH_BYTES): a smaller batchSize, or a smaller model",
      );
    }
  });

  it("accepts a batch exactly at the limit and refuses it a byte below, for /train and /predict", async () => {
    const model = {
      inputShape: [4, 4, 1],
      layers: [
        { type: "conv2d", filters: 2, kernelSize: 3, padding: "same", activation: "relu" },
        { type: "flatten" },
        { type: "dense", units: 1, activation: "sigmoid" },
      ],
      loss: "binaryCrossentropy" as const,
    };
    const values = describeModel(model as ModelSpec).sampleValues;
    // Forward: input 16, conv output 32 and im2col columns 144 (none where the native kernels,
    // which convolve without them, are loaded), relu 32, dense 1, sigmoid 1.
    const columns = nativeKernels()?.convForward ? 0 : 144;
    expect(values.forward).toBe(16 + 32 + columns + 32 + 1 + 1);
    // Training adds target and loss gradient, dense ∂L/∂X 32, relu ∂L/∂X 32 (the conv layer is
    // the first with parameters: no ∂L/∂X of its own).
    expect(values.training).toBe(values.forward + 2 + 32 + 32);
    const small = images(1)
      .x[0]!.slice(0, 4)
      .map((row) => row.slice(0, 4));
    const body = {
      model,
      dataset: { x: Array.from({ length: 8 }, () => small), y: [0, 1, 0, 1, 0, 1, 0, 1] },
      optimizer: { type: "sgd", learningRate: 0.1 },
      epochs: 1,
      batchSize: 8,
      seed: 1,
    };
    const bytes = 8 * values.training * 8;
    const atLimit = await buildTestApp({ MAX_BATCH_BYTES: String(bytes) });
    const below = await buildTestApp({ MAX_BATCH_BYTES: String(bytes - 1) });
    try {
      const ok = await atLimit.inject({ method: "POST", url: "/train", payload: body });
      expect(ok.statusCode, ok.body).toBe(200);
      const refused = await below.inject({ method: "POST", url: "/train", payload: body });
      expect(refused.statusCode).toBe(422);
      expect(refused.json().errors[0].path).toBe("batchSize");
      expect(refused.json().errors[0].message).toMatch(/\(MAX_BATCH_BYTES\)/);
      // /predict runs forward only: 8 samples fit a byte below the training limit, and are refused
      // under their own forward limit, naming x.
      const weights = ok.json().weights;
      const predict = { model, weights, x: body.dataset.x };
      const predicted = await below.inject({ method: "POST", url: "/predict", payload: predict });
      expect(predicted.statusCode, predicted.body).toBe(200);
      const tight = await buildTestApp({ MAX_BATCH_BYTES: String(8 * values.forward * 8 - 1) });
      try {
        const res = await tight.inject({ method: "POST", url: "/predict", payload: predict });
        expect(res.statusCode).toBe(422);
        expect(res.json().errors[0].path).toBe("x");
        expect(res.json().errors[0].message).toMatch(/^predicting 8 samples at once .*\(MAX_BATCH_BYTES\)/);
      } finally {
        await tight.close();
      }
    } finally {
      await atLimit.close();
      await below.close();
    }
  });
});

// The pool's back-pressure: INLINE_MAX_WORK=0 sends even a 1-epoch run to it (by default such a
// small run answers on the main thread and never waits; test/http/faults.test.ts checks that).
describe("back-pressure", () => {
  it("answers 503 with Retry-After when every worker is busy and the queue is full", async () => {
    const busy = await buildTestApp({ POOL_SIZE: "1", MAX_QUEUE: "1", INLINE_MAX_WORK: "0" });
    try {
      // inject() is lazy until awaited: `.then` sends the request now.
      const post = (epochs: number) =>
        busy.inject({ method: "POST", url: "/train", payload: { ...trainExample, epochs } }).then((r) => r);
      const running = post(800);
      const queued = post(1);
      const rejected = await post(1);
      expect(rejected.statusCode).toBe(503);
      expect(rejected.headers["retry-after"]).toBe("5");
      expect(rejected.headers["content-type"]).toMatch(/^application\/problem\+json/);
      expect(rejected.json().detail).toContain("(MAX_QUEUE requests waiting)");
      expect((await running).statusCode).toBe(200);
      expect((await queued).statusCode).toBe(200);
      expect((await post(1)).statusCode).toBe(200);
    } finally {
      await busy.close();
    }
  });

  it("stops the worker's job when the client disconnects", async () => {
    const single = await buildTestApp({ POOL_SIZE: "1", INLINE_MAX_WORK: "0" });
    try {
      await single.listen({ port: 0, host: "127.0.0.1" });
      const { port } = single.server.address() as AddressInfo;
      const body = JSON.stringify({ ...trainExample, epochs: 10_000, batchSize: 1 });
      const abandoned = request({
        port,
        host: "127.0.0.1",
        method: "POST",
        path: "/train",
        headers: { "content-type": "application/json", "content-length": Buffer.byteLength(body) },
      });
      abandoned.on("error", () => {}); // the socket is destroyed below
      abandoned.end(body);
      await new Promise((r) => setTimeout(r, 150));
      abandoned.destroy();
      // The only worker is free again at once: a short run is not stuck behind 10 000 epochs.
      const started = performance.now();
      const res = await single.inject({
        method: "POST",
        url: "/train",
        payload: { ...trainExample, epochs: 1 },
      });
      expect(res.statusCode).toBe(200);
      expect(performance.now() - started).toBeLessThan(2000);
    } finally {
      await single.close();
    }
  });
});
