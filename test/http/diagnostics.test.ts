/**
 * POST /train's diagnostics over HTTP: telemetry, NaN forensics, early stopping, resume, the
 * reproducibility hash and learning-rate schedules.
 */
import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TrainResponseSchema } from "../../src/schemas/responses.js";
import { buildTestApp } from "./helper.js";

let app: FastifyInstance;
beforeAll(async () => {
  app = await buildTestApp();
});
afterAll(async () => {
  await app.close();
});

async function train(payload: object, status = 200) {
  const res = await app.inject({ method: "POST", url: "/train", payload });
  expect(res.statusCode, res.body).toBe(status);
  const body = res.json();
  if (status === 200) TrainResponseSchema.parse(body);
  return body;
}

const irisModel = {
  inputShape: [4],
  layers: [
    { type: "dense", units: 8, activation: "relu" },
    { type: "dense", units: 3, activation: "softmax" },
  ],
  loss: "sparseCategoricalCrossentropy",
};
const iris = (extra: object) => ({
  model: irisModel,
  dataset: { name: "iris" },
  optimizer: { type: "adam", learningRate: 0.01 },
  epochs: 20,
  batchSize: 16,
  seed: 5,
  ...extra,
});

describe("reproducibility proof", () => {
  it("carries the engine version and a SHA-256 of the weights that repeats with the seed", async () => {
    const a = await train(iris({}));
    const b = await train(iris({}));
    const c = await train(iris({ seed: 6 }));
    expect(a.engineVersion).toMatch(/^\d+\.\d+\.\d+$/);
    expect(a.weightsSha256).toMatch(/^[0-9a-f]{64}$/);
    expect(b.weightsSha256).toBe(a.weightsSha256);
    expect(c.weightsSha256).not.toBe(a.weightsSha256);
  });
});

describe("resume", () => {
  it.each([
    { type: "sgd", learningRate: 0.05, momentum: 0.9 },
    { type: "adam", learningRate: 0.01 },
    {
      type: "sgd",
      learningRate: { type: "exponentialDecay", initialLearningRate: 0.1, decaySteps: 10, decayRate: 0.9 },
    },
  ])("10 + 10 epochs with the optimizer state equal 20 at once, bit for bit ($type)", async (optimizer) => {
    const whole = await train(iris({ optimizer, epochs: 20, validationSplit: 0.2 }));
    const first = await train(
      iris({ optimizer, epochs: 10, validationSplit: 0.2, returnOptimizerState: true }),
    );
    expect(first.optimizerState.epochsCompleted).toBe(10);
    const second = await train(
      iris({
        optimizer,
        epochs: 10,
        validationSplit: 0.2,
        initialWeights: first.weights,
        optimizerState: first.optimizerState,
      }),
    );
    expect(second.initialEpoch).toBe(10);
    expect(second.weightsSha256).toBe(whole.weightsSha256);
    expect(second.weights).toEqual(whole.weights);
    expect([...first.history.loss, ...second.history.loss]).toEqual(whole.history.loss);
  });

  it("names the field when the state does not fit the model", async () => {
    const first = await train(iris({ epochs: 2, returnOptimizerState: true }));
    const { m } = first.optimizerState;
    const body = await train(
      iris({
        epochs: 2,
        initialWeights: first.weights,
        optimizerState: { ...first.optimizerState, m: { ...m, "dense_0/kernel": [[1, 2]] } },
      }),
      422,
    );
    expect(body.errors[0].path).toMatch(/^optimizerState\.m/);
  });
});

describe("telemetry", () => {
  it("shows dead relu units and exact-zero hidden gradients for a bias of −10", async () => {
    const model = {
      inputShape: [2],
      layers: [
        { type: "dense", units: 2, activation: "relu" },
        { type: "dense", units: 1 },
      ],
      loss: "meanSquaredError",
    };
    const body = await train({
      model,
      dataset: {
        x: [
          [0.1, 0.2],
          [0.3, -0.1],
          [-0.2, 0.4],
        ],
        y: [1, 2, 3],
      },
      optimizer: { type: "sgd", learningRate: 0.1 },
      epochs: 3,
      seed: 1,
      telemetry: true,
      initialWeights: {
        "dense_0/kernel": [
          [0.5, -0.5],
          [0.25, 0.75],
        ],
        "dense_0/bias": [-10, -10],
        "dense_1/kernel": [[1], [1]],
        "dense_1/bias": [0],
      },
    });
    expect(body.telemetry.activations.dense_0.deadFraction).toEqual([1, 1, 1]);
    expect(body.telemetry.gradientNorm["dense_0/kernel"]).toEqual([0, 0, 0]);
    expect(body.telemetry.gradientNorm["dense_1/kernel"]).toEqual([0, 0, 0]);
    expect(body.weights["dense_0/bias"]).toEqual([-10, -10]);
    expect(body.weights["dense_1/kernel"]).toEqual([[1], [1]]);
    // Only the output bias moves: b ← b − 0.1·2(b − 2) per full batch, from 0.
    expect(body.weights["dense_1/bias"][0]).toBeCloseTo(2 * (1 - 0.8 ** 3), 12);
  });
});

describe("NaN forensics", () => {
  it("a learning rate of 1e6 stops with the epoch, stage and culprit named, and finite weights", async () => {
    // Softmax cross-entropy stays finite however large the logits (log-sum-exp), so regress
    // instead: MSE on a tanh layer, whose weights blow up geometrically.
    const body = await train({
      model: {
        inputShape: [4],
        layers: [
          { type: "dense", units: 8, activation: "tanh" },
          { type: "dense", units: 1 },
        ],
        loss: "meanSquaredError",
      },
      dataset: {
        x: [
          [5.1, 3.5, 1.4, 0.2],
          [7, 3.2, 4.7, 1.4],
          [6.3, 3.3, 6, 2.5],
        ],
        y: [0, 1, 2],
      },
      optimizer: { type: "sgd", learningRate: 1e6 },
      epochs: 1000,
      seed: 5,
    });
    expect(body.diverged).toBeDefined();
    expect(body.diverged.message).toMatch(/epoch/);
    expect(body.diverged.parameter ?? body.diverged.largestUpdate?.parameter ?? body.diverged.layer).toMatch(
      /dense_\d/,
    );
    const flat = Object.values(body.weights).flat(3) as unknown[];
    expect(flat.every((v) => typeof v === "number" && Number.isFinite(v))).toBe(true);
    expect(body.history.loss).toHaveLength(body.epochsRun);
  });
});

describe("early stopping", () => {
  it("stops when valLoss stops improving and restores the best epoch's weights", async () => {
    const body = await train(
      iris({
        optimizer: { type: "adam", learningRate: 0.05 },
        epochs: 300,
        validationSplit: 0.3,
        earlyStopping: { monitor: "valLoss", patience: 5, restoreBestWeights: true },
      }),
    );
    expect(body.epochsRun).toBeLessThan(300);
    expect(body.stoppedEpoch).toBe(body.epochsRun - 1);
    expect(body.bestEpoch).toBe(body.epochsRun - 1 - 5);
    expect(body.metrics.valLoss).toBe(body.history.valLoss[body.bestEpoch]);
    expect(Math.min(...body.history.valLoss)).toBe(body.history.valLoss[body.bestEpoch]);
  });

  it("monitor valLoss without a validation split is a 422 naming earlyStopping.monitor", async () => {
    const body = await train(iris({ earlyStopping: { monitor: "valLoss" } }), 422);
    expect(body.errors[0].path).toBe("earlyStopping.monitor");
  });
});

describe("learning-rate schedules", () => {
  it("a piecewise-constant rate of 0 after step 0 freezes the weights after the first update", async () => {
    const optimizer = {
      type: "sgd",
      learningRate: { type: "piecewiseConstantDecay", boundaries: [0], values: [0.1, 0] },
    };
    const one = await train(iris({ optimizer, epochs: 1, batchSize: 150, shuffle: false }));
    const many = await train(iris({ optimizer, epochs: 5, batchSize: 150, shuffle: false }));
    expect(many.weightsSha256).toBe(one.weightsSha256);
  });

  it("rejects a schedule with the wrong number of values, naming the field", async () => {
    const body = await train(
      iris({
        optimizer: {
          type: "sgd",
          learningRate: { type: "piecewiseConstantDecay", boundaries: [10, 20], values: [0.1] },
        },
      }),
      400,
    );
    expect(body.errors[0].path).toMatch(/^optimizer\.learningRate/);
  });
});
