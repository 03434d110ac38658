/** POST /train and /gradients with initialisers, regularisers and constraints (docs/backprop.md §16). */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { JobSchema } from "../../src/schemas/jobs.js";
import { TrainResponseSchema } from "../../src/schemas/responses.js";
import { buildTestApp, waitForJob } from "./helper.js";

let app: FastifyInstance;
beforeAll(async () => {
  app = await buildTestApp();
});
afterAll(async () => {
  await app.close();
});

const train = (payload: object) => app.inject({ method: "POST", url: "/train", payload });

const model = (hidden: object = {}) => ({
  inputShape: [4],
  layers: [
    {
      type: "dense",
      units: 8,
      activation: "relu",
      kernelInitializer: "heNormal",
      kernelRegularizer: { l2: 1e-3 },
      activityRegularizer: { l1: 1e-4 },
      kernelConstraint: { type: "maxNorm", maxValue: 3 },
      ...hidden,
    },
    { type: "dense", units: 3, activation: "softmax", biasInitializer: { type: "constant", value: 0.1 } },
  ],
  loss: "sparseCategoricalCrossentropy",
});

const body = (m: object) => ({
  model: m,
  dataset: { name: "iris" },
  optimizer: { type: "adam", learningRate: 0.01 },
  epochs: 5,
  seed: 3,
  telemetry: true,
});

describe("initialisers, regularisers and constraints over HTTP", () => {
  it("trains, reports the penalty apart and repeats bit for bit", async () => {
    const a = await train(body(model()));
    expect(a.statusCode).toBe(200);
    const r = TrainResponseSchema.parse(a.json());
    expect(r.history.regularizationLoss).toHaveLength(5);
    for (let e = 0; e < 5; e++) {
      expect(r.history.regularizationLoss![e]).toBeGreaterThan(0);
      expect(r.history.regularizationLoss![e]).toBeLessThan(r.history.loss[e]!);
    }
    expect(Object.keys(r.telemetry!.regularizationGradientNorm!)).toEqual(["dense_0/kernel"]);
    const b = await train(body(model()));
    expect(b.json().weightsSha256).toBe(r.weightsSha256);
    // The output bias started at 0.1 and the hidden kernel's units respect maxNorm 3.
    const k = r.weights["dense_0/kernel"] as number[][];
    for (let j = 0; j < 8; j++) expect(Math.hypot(...k.map((row) => row[j]!))).toBeLessThanOrEqual(3);
  });

  it("an enormous l2 answers 200 with a divergence report", async () => {
    const res = await train(body(model({ kernelRegularizer: { l2: 1e300 } })));
    expect(res.statusCode).toBe(200);
    expect(res.json().diverged).toBeDefined();
  });

  it.each([
    [{ kernelRegularizer: { l2: -1 } }, "model.layers[0].kernelRegularizer.l2"],
    [{ kernelRegularizer: "l3" }, "model.layers[0].kernelRegularizer"],
    [{ kernelInitializer: { type: "randomNormal", stddev: -1 } }, "model.layers[0].kernelInitializer"],
    [{ kernelConstraint: { type: "maxNorm", maxValue: "big" } }, "model.layers[0].kernelConstraint"],
  ])("a bad value %j is a 400 naming the field", async (hidden, path) => {
    const res = await train(body(model(hidden)));
    expect(res.statusCode).toBe(400);
    const paths = (res.json().errors as { path: string }[]).map((e) => e.path);
    expect(
      paths.some((p) => p.startsWith(path)),
      JSON.stringify(paths),
    ).toBe(true);
  });

  it.each([
    [{ kernel_regularizer: { l2: 0.01 } }, "model.layers[0].kernel_regularizer", "kernelRegularizer"],
    [{ kernel_initializer: "he_normal" }, "model.layers[0].kernel_initializer", "kernelInitializer"],
    [{ kernel_constraint: "max_norm" }, "model.layers[0].kernel_constraint", "kernelConstraint"],
    [{ kernelInitializer: "he_normal" }, "model.layers[0].kernelInitializer", "heNormal"],
    [{ kernelRegularizer: "l1_l2" }, "model.layers[0].kernelRegularizer", "l1l2"],
    [{ kernelConstraint: "max_norm" }, "model.layers[0].kernelConstraint", "maxNorm"],
    [
      { kernelInitializer: { type: "VarianceScaling" } },
      "model.layers[0].kernelInitializer.type",
      "varianceScaling",
    ],
  ])("the Keras spelling %j gets a hint naming ours", async (hidden, path, ours) => {
    const res = await train(body(model(hidden)));
    expect(res.statusCode).toBe(400);
    const errors = res.json().errors as { path: string; message: string }[];
    const error = errors.find((e) => e.path === path);
    expect(error?.message, JSON.stringify(errors)).toContain(`\`${ours}\``);
  });

  it.each([
    [{ biasInitializer: "orthogonal" }, "model.layers[0].biasInitializer"],
    [{ kernelConstraint: { type: "unitNorm", axis: 5 } }, "model.layers[0].kernelConstraint.axis"],
    [
      { kernelInitializer: { type: "randomUniform", minval: -1e308, maxval: 1e308 } },
      "model.layers[0].kernelInitializer.maxval",
    ],
  ])("an impossible value %j is a 422 naming the field", async (hidden, path) => {
    const res = await train(body(model(hidden)));
    expect(res.statusCode).toBe(422);
    const paths = (res.json().errors as { path: string }[]).map((e) => e.path);
    expect(paths).toContain(path);
  });
});

describe("a job with regularisers and constraints", () => {
  const dataDir = mkdtempSync(join(tmpdir(), "weight-options-"));
  let jobs: FastifyInstance;
  beforeAll(async () => {
    jobs = await buildTestApp({ DATA_DIR: dataDir, CHECKPOINT_EVERY: "2" });
  });
  afterAll(async () => {
    await jobs.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it("ends, in chunks, with POST /train's weights, history and telemetry", async () => {
    const payload = { ...body(model()), epochs: 7, validationSplit: 0.2 };
    const created = await jobs.inject({ method: "POST", url: "/jobs", payload });
    expect(created.statusCode, created.body).toBe(202);
    const job = JobSchema.parse(await waitForJob(jobs, created.json().id));
    expect(job.status, JSON.stringify(job.error)).toBe("succeeded");
    const sync = (await jobs.inject({ method: "POST", url: "/train", payload })).json();
    const result = TrainResponseSchema.parse(job.result);
    expect(result.weightsSha256).toBe(sync.weightsSha256);
    expect(result.history).toEqual(sync.history);
    expect(result.history.regularizationLoss).toHaveLength(7);
    expect(result.telemetry).toEqual(sync.telemetry);
    expect(result.telemetry!.regularizationGradientNorm!["dense_0/kernel"]).toHaveLength(7);
  });
});
