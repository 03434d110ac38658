/**
 * The new activations and activation layers over HTTP: prelu's `<layer>/alpha` appears in /train
 * weights and gradients and in /gradients like a kernel, `initialWeights` and `weights` set it,
 * and bad options are a 400 naming the field.
 */
import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { GradientsResponseSchema, TrainResponseSchema } from "../../src/schemas/responses.js";
import { buildTestApp, type ProblemBody, waitForJob } from "./helper.js";

let app: FastifyInstance;
beforeAll(async () => {
  app = await buildTestApp();
});
afterAll(async () => {
  await app.close();
});

const post = (url: string, payload: object) => app.inject({ method: "POST", url, payload });

const model = {
  inputShape: [2],
  layers: [
    { type: "dense", units: 3, activation: "gelu" },
    { type: "prelu", name: "p" },
    { type: "dense", units: 3 },
    { type: "leakyReLU", alpha: 0.1 },
    { type: "elu" },
    { type: "softmax" },
  ],
  loss: "sparseCategoricalCrossentropy",
};
const dataset = {
  x: [
    [0.5, -1.2],
    [-1, 0.3],
    [0.2, 0.9],
    [-0.7, -0.4],
  ],
  y: [0, 1, 2, 1],
};

describe("activation layers over HTTP", () => {
  it("/train returns and trains prelu's alpha (zeros at first) with the kernels", async () => {
    const res = await post("/train", {
      model,
      dataset,
      optimizer: { type: "sgd", learningRate: 0.5 },
      epochs: 5,
      batchSize: 4,
      seed: 3,
    });
    expect(res.statusCode, res.body).toBe(200);
    const body = res.json();
    TrainResponseSchema.parse(body);
    expect(Object.keys(body.weights).sort()).toEqual([
      "dense_0/bias",
      "dense_0/kernel",
      "dense_2/bias",
      "dense_2/kernel",
      "p/alpha",
    ]);
    expect(body.weights["p/alpha"]).toHaveLength(3);
    expect(body.gradients["p/alpha"]).toHaveLength(3);
    // Zeros at first: training moved some slope away from 0.
    expect(body.weights["p/alpha"].some((a: number) => a !== 0)).toBe(true);
    expect(body.history.loss[4]).toBeLessThan(body.history.loss[0]);
  });

  it("/gradients takes alpha as a weight and checks its gradient numerically", async () => {
    const weights = {
      "dense_0/kernel": [
        [0.3, -0.8, 0.5],
        [-0.4, 0.6, 0.9],
      ],
      "dense_0/bias": [0.1, -0.2, 0],
      "p/alpha": [0.25, -0.5, 0.75],
      "dense_2/kernel": [
        [0.2, -0.3, 0.4],
        [0.7, 0.1, -0.6],
        [-0.5, 0.8, 0.3],
      ],
      "dense_2/bias": [0, 0.1, -0.1],
    };
    const res = await post("/gradients", {
      model,
      weights,
      x: [0.5, -1.2],
      y: 0,
      numericalCheck: true,
    });
    expect(res.statusCode, res.body).toBe(200);
    const body = res.json();
    GradientsResponseSchema.parse(body);
    expect(body.weights["p/alpha"]).toEqual([0.25, -0.5, 0.75]);
    expect(body.gradients["p/alpha"]).toHaveLength(3);
    expect(body.numerical.maxRelError).toBeLessThan(1e-7);
    expect(body.activations.map((a: { layer: string }) => a.layer)).toEqual([
      "dense_0",
      "p",
      "dense_2",
      "leakyReLU_3",
      "elu_4",
      "softmax_5",
    ]);
    // gelu(0.5·0.3 − 1.2·(−0.4) + 0.1) = gelu(0.73) by hand: x·Φ(x).
    expect(body.activations[0].output[0]).toBeCloseTo(0.73 * 0.7673049076991025, 12);
  });

  it("initialWeights must carry alpha, keyed and shaped as /train returns it", async () => {
    const first = await post("/train", {
      model,
      dataset,
      optimizer: { type: "adam", learningRate: 0.01 },
      epochs: 1,
      seed: 1,
    });
    const weights = first.json().weights;
    const { "p/alpha": _alpha, ...withoutAlpha } = weights;
    const res = await post("/train", {
      model,
      dataset,
      optimizer: { type: "adam", learningRate: 0.01 },
      epochs: 1,
      seed: 1,
      initialWeights: withoutAlpha,
    });
    expect(res.statusCode, res.body).toBe(422);
    const problem = res.json() as ProblemBody;
    expect(problem.errors?.[0]?.path).toBe('initialWeights["p/alpha"]');
    expect(problem.errors?.[0]?.message).toContain('missing weight "p/alpha" of shape [3]');
    const ok = await post("/train", {
      model,
      dataset,
      optimizer: { type: "adam", learningRate: 0.01 },
      epochs: 1,
      seed: 1,
      initialWeights: { ...weights, "p/alpha": [1, 1, 1] },
    });
    expect(ok.statusCode, ok.body).toBe(200);
    // Adam's first step moves each slope by about the learning rate at most.
    for (const a of ok.json().weights["p/alpha"]) expect(Math.abs(a - 1)).toBeLessThanOrEqual(0.0100001);
  });

  it("a bad option is a 400 (a 422 when it does not fit the input's shape) naming the field", async () => {
    const bad = async (layer: object, field: string, text: string, status = 422) => {
      const res = await post("/train", {
        model: {
          inputShape: [2, 3],
          layers: [layer, { type: "flatten" }, { type: "dense", units: 1 }],
          loss: "meanSquaredError",
        },
        dataset: {
          x: [
            [
              [1, 2, 3],
              [4, 5, 6],
            ],
          ],
          y: [1],
        },
        optimizer: { type: "sgd", learningRate: 0.1 },
        epochs: 1,
      });
      expect(res.statusCode, res.body).toBe(status);
      const problem = res.json() as ProblemBody;
      expect(problem.errors?.map((e) => e.path)).toEqual([field]);
      expect(problem.errors?.[0]?.message).toContain(text);
    };
    await bad({ type: "softmax", axis: 1 }, "model.layers[0].axis", "only the last axis");
    await bad({ type: "prelu", sharedAxes: [3] }, "model.layers[0].sharedAxes", "[1, 2]");
    await bad({ type: "leakyReLU", alpha: "0.3" }, "model.layers[0].alpha", "number", 400);
    await bad({ type: "prelu", sharedAxes: [0] }, "model.layers[0].sharedAxes[0]", "", 400);
    await bad({ type: "softmax", axis: 1.5 }, "model.layers[0].axis", "", 400);
  });
});

describe("a job with the new kinds", () => {
  let jobs: FastifyInstance;
  beforeAll(async () => {
    jobs = await buildTestApp({ CHECKPOINT_EVERY: "2" });
  });
  afterAll(async () => {
    await jobs.close();
  });

  it("trains in checkpointed chunks to POST /train's weights, bit for bit", async () => {
    const body = {
      model,
      dataset,
      optimizer: { type: "adam", learningRate: 0.05 },
      epochs: 7,
      batchSize: 3,
      seed: 5,
    };
    const res = await jobs.inject({ method: "POST", url: "/jobs", payload: body });
    expect(res.statusCode, res.body).toBe(202);
    const job = await waitForJob(jobs, res.json().id as string);
    expect(job.status, JSON.stringify(job.error)).toBe("succeeded");
    const sync = (await jobs.inject({ method: "POST", url: "/train", payload: body })).json();
    expect(job.result!.weightsSha256).toBe(sync.weightsSha256);
    expect(job.result!.weights!["p/alpha"]).toEqual(sync.weights["p/alpha"]);
    expect(job.result!.history).toEqual(sync.history);
  });
});
