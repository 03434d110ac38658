/**
 * One check for POST /train and POST /jobs (src/service/plan): a body /train rejects is rejected
 * by /jobs at create, with the same status and paths; the limits by compute (MAX_WORK for
 * /train, MAX_JOB_WORK for jobs, a 1,000,000-epoch cap) are named in their errors; and
 * `learningRate: 0` is accepted (frozen weights, gradients still reported).
 */
import type { FastifyInstance, LightMyRequestResponse } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { irisJob } from "../fixtures.js";
import { buildTestApp, type ProblemBody, sgd, tinyModel } from "./helper.js";

const xs = [
  [0.1, 0.2],
  [0.5, -0.3],
  [-0.4, 0.9],
  [0.7, 0.7],
];

function trainBody(overrides: Record<string, unknown> = {}) {
  return {
    model: tinyModel(),
    dataset: { x: xs, y: [0, 1, 2, 1] },
    optimizer: sgd,
    epochs: 2,
    seed: 1,
    ...overrides,
  };
}

function problem(res: LightMyRequestResponse, status: number): ProblemBody {
  expect(res.headers["content-type"]).toMatch(/^application\/problem\+json/);
  const body = res.json() as ProblemBody;
  expect(res.statusCode, JSON.stringify(body)).toBe(status);
  return body;
}

const paths = (body: ProblemBody) => (body.errors ?? []).map((e) => e.path);

let app: FastifyInstance;
beforeAll(async () => {
  app = await buildTestApp({ MAX_CONCURRENT_JOBS: "1" });
});
afterAll(async () => {
  await app.close();
});

const post = (url: string, payload: object) => app.inject({ method: "POST", url, payload });

/** Cancels a job just created (it may have run or even ended already). */
async function cancel(target: FastifyInstance, id: string): Promise<void> {
  const res = await target.inject({ method: "POST", url: `/jobs/${id}/cancel` });
  expect([200, 202, 409]).toContain(res.statusCode);
}

describe("POST /jobs rejects at create what POST /train rejects", () => {
  const cases: [string, Record<string, unknown>, string[]][] = [
    [
      "a piecewiseConstantDecay with decreasing boundaries",
      {
        optimizer: {
          type: "sgd",
          learningRate: { type: "piecewiseConstantDecay", boundaries: [10, 5], values: [0.1, 0.05, 0.01] },
        },
      },
      ["optimizer.learningRate.boundaries[1]"],
    ],
    [
      'earlyStopping.monitor "valLoss" without validationSplit',
      { earlyStopping: { monitor: "valLoss" } },
      ["earlyStopping.monitor"],
    ],
    [
      "an optimizerState without initialWeights",
      {
        optimizerState: {
          type: "sgd",
          iterations: 0,
          epochsCompleted: 0,
          shuffleRng: [1, 2, 3, 4],
          shuffleOrder: [0, 1, 2, 3],
        },
      },
      ["optimizerState"],
    ],
    ["a validationSplit that leaves no training sample", { validationSplit: 0.9 }, ["validationSplit"]],
    [
      "initialWeights of the wrong shape",
      {
        initialWeights: {
          "dense_0/kernel": [[1, 2, 3]],
          "dense_0/bias": [0, 0, 0, 0],
          "dense_1/kernel": [[0, 0, 0]],
          "dense_1/bias": [0, 0, 0],
        },
      },
      ['initialWeights["dense_0/kernel"]'],
    ],
    [
      "normalEquation on a model that is not linear regression",
      { optimizer: { type: "normalEquation" } },
      ["model.layers"],
    ],
    ["a label outside the classes", { dataset: { x: xs, y: [0, 1, 7, 1] } }, ["dataset.y[2]"]],
  ];
  for (const [name, over, expected] of cases) {
    it(name, async () => {
      const body = trainBody(over);
      const sync = problem(await post("/train", body), 422);
      const job = problem(await post("/jobs", body), 422);
      expect(paths(sync)).toEqual(expected);
      expect(paths(job)).toEqual(paths(sync));
      expect(job.detail).toBe(sync.detail);
    });
  }
});

describe("limits by compute", () => {
  it("accepts a 200,000-epoch iris job; /train's epochs are bounded by MAX_WORK, not by a count", async () => {
    const res = await post("/jobs", irisJob(200_000));
    expect(res.statusCode, res.body).toBe(202);
    const job = res.json();
    expect(job.progress.epochs).toBe(200_000);
    await cancel(app, job.id);
  });

  it("caps epochs at 1,000,000 (400), naming the compute budgets that bound a run within it", async () => {
    for (const url of ["/train", "/jobs"]) {
      const body = problem(await post(url, trainBody({ epochs: 1_000_001 })), 400);
      expect(paths(body)).toEqual(["epochs"]);
      expect(body.detail).toContain("at most 1000000 epochs");
      expect(body.detail).toContain("MAX_WORK for POST /train, MAX_JOB_WORK for POST /jobs");
    }
  });

  it("holds /train to MAX_WORK and a job to MAX_JOB_WORK, naming each", async () => {
    // iris, 4 → 8 → 3: about 1.2e3 multiply-adds per sample and epoch of training.
    const capped = await buildTestApp({ MAX_WORK: "1e5", MAX_JOB_WORK: "1e8", MAX_CONCURRENT_JOBS: "1" });
    try {
      const over = problem(await capped.inject({ method: "POST", url: "/train", payload: irisJob(10) }), 422);
      expect(paths(over)).toEqual(["epochs"]);
      expect(over.detail).toMatch(/the limit per request is 1\.00e\+5 \(MAX_WORK\): fewer epochs/);
      // Within the job budget: the answer says so.
      expect(over.detail).toContain(
        "or run it as a job (POST /jobs takes the same body; its limit is 1.00e+8, MAX_JOB_WORK)",
      );
      const accepted = await capped.inject({ method: "POST", url: "/jobs", payload: irisJob(10) });
      expect(accepted.statusCode, accepted.body).toBe(202);
      await cancel(capped, accepted.json().id);

      const tooLong = problem(
        await capped.inject({ method: "POST", url: "/jobs", payload: irisJob(100_000) }),
        422,
      );
      expect(paths(tooLong)).toEqual(["epochs"]);
      expect(tooLong.detail).toMatch(/the limit per job is 1\.00e\+8 \(MAX_JOB_WORK\): fewer epochs/);
      // Over both budgets, /train does not point to /jobs.
      const both = problem(
        await capped.inject({ method: "POST", url: "/train", payload: irisJob(100_000) }),
        422,
      );
      expect(both.detail).toContain("(MAX_WORK)");
      expect(both.detail).not.toContain("POST /jobs");
    } finally {
      await capped.close();
    }
  });
});

describe("a body over MAX_WORK that is also wrong", () => {
  const mnistBody = (units: number, extra: Record<string, unknown>) => ({
    model: {
      inputShape: [28, 28, 1],
      layers: [
        { type: "flatten" },
        { type: "dense", units: 1024 },
        { type: "dense", units, activation: "softmax" },
      ],
      loss: "sparseCategoricalCrossentropy",
    },
    dataset: { name: "mnist" },
    optimizer: { type: "sgd", learningRate: 0.1 },
    epochs: 1,
    ...extra,
  });

  it("is answered as wrong by /train and /jobs alike; the budget error comes only for a valid body", async () => {
    // Default budgets: one epoch of MNIST on this model is over MAX_WORK and within MAX_JOB_WORK.
    const cases: [Record<string, unknown>, string[]][] = [
      [mnistBody(10, { earlyStopping: { monitor: "valLoss" } }), ["earlyStopping.monitor"]],
      [mnistBody(5, {}), ["dataset.name"]],
    ];
    for (const [body, expected] of cases) {
      const sync = problem(await post("/train", body), 422);
      const job = problem(await post("/jobs", body), 422);
      expect(paths(sync)).toEqual(expected);
      expect(paths(job)).toEqual(expected);
      expect(sync.detail).not.toContain("MAX_WORK");
    }
    const valid = problem(await post("/train", mnistBody(10, {})), 422);
    expect(paths(valid)).toEqual(["model"]); // one epoch: the model is what is too big
    expect(valid.detail).toContain("(MAX_WORK)");
  });

  it("names optimizer.type for a normalEquation over the budget, with a remedy that fits", async () => {
    const body = (activation: string) => ({
      model: {
        inputShape: [784],
        layers: [{ type: "dense", units: 10, activation }],
        loss: "meanSquaredError",
      },
      dataset: { name: "mnist" },
      optimizer: { type: "normalEquation" },
    });
    const capped = await buildTestApp({ MAX_WORK: "1e9", MAX_JOB_WORK: "1e9", MAX_CONCURRENT_JOBS: "1" });
    try {
      // relu is not linear regression: that is what is wrong, whatever the size.
      for (const url of ["/train", "/jobs"]) {
        const res = problem(await capped.inject({ method: "POST", url, payload: body("relu") }), 422);
        expect(paths(res)).toEqual(["model.layers[0].activation"]);
      }
      for (const url of ["/train", "/jobs"]) {
        const res = problem(await capped.inject({ method: "POST", url, payload: body("linear") }), 422);
        expect(paths(res)).toEqual(["optimizer.type"]);
        expect(res.detail).toMatch(
          /^the normal equation would take about 6\.\d\de\+10 multiply-adds; the limit per (request|job) is 1\.00e\+9 \(MAX_(JOB_)?WORK\): fewer samples or input features, or a gradient optimiser$/,
        );
        expect(res.detail).not.toContain("epochs");
      }
    } finally {
      await capped.close();
    }
  });
});

describe("learningRate 0", () => {
  const initialWeights = {
    "dense_0/kernel": [
      [0.5, -0.25, 0.125, 1],
      [-0.5, 0.75, 0.25, -1],
    ],
    "dense_0/bias": [0.1, -0.1, 0, 0.2],
    "dense_1/kernel": [
      [0.3, -0.2, 0.1],
      [0.4, 0.5, -0.6],
      [-0.7, 0.8, 0.9],
      [0.05, -0.15, 0.25],
    ],
    "dense_1/bias": [0, 0.1, -0.1],
  };

  for (const optimizer of [
    { type: "sgd", learningRate: 0 },
    { type: "sgd", learningRate: 0, momentum: 0.9 },
    { type: "adam", learningRate: 0 },
    {
      type: "sgd",
      learningRate: { type: "exponentialDecay", initialLearningRate: 0, decaySteps: 1, decayRate: 0.5 },
    },
  ]) {
    it(`is accepted and freezes the weights (${JSON.stringify(optimizer)}), reporting the gradients`, async () => {
      const res = await post("/train", trainBody({ optimizer, epochs: 3, initialWeights }));
      expect(res.statusCode, res.body).toBe(200);
      const out = res.json();
      expect(out.weights).toEqual(initialWeights);
      const grads = Object.values(out.gradients as Record<string, number[] | number[][]>).flat(2);
      expect(grads).toHaveLength(8 + 4 + 12 + 3);
      expect(grads.some((g) => g !== 0)).toBe(true);
      expect(grads.every(Number.isFinite)).toBe(true);
      // Frozen weights: the same loss every epoch.
      expect(new Set(out.history.loss).size).toBe(1);
    });
  }

  it("a negative learning rate is still a 400 naming it", async () => {
    const body = problem(
      await post("/train", trainBody({ optimizer: { type: "sgd", learningRate: -0.1 } })),
      400,
    );
    expect(paths(body)[0]).toMatch(/^optimizer\.learningRate/);
  });
});
