/** The loss in a request: by name or as an object with options, over HTTP (docs/backprop.md §14). */
import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { trainHuberExample } from "../../src/schemas/examples.js";
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

describe("losses in requests", () => {
  it("fits the Huber example near slope 2, intercept 1 despite the outlier (squared error does not)", async () => {
    const res = await train(trainHuberExample);
    expect(res.statusCode).toBe(200);
    const body = TrainResponseSchema.parse(res.json());
    expect(body.history).not.toHaveProperty("accuracy");
    expect(body.weights["dense_0/kernel"]).toEqual([[expect.closeTo(2.2857, 3)]]);
    expect(body.weights["dense_0/bias"]).toEqual([expect.closeTo(1.2857, 3)]);
    // The optimum: 7 points on the line within delta, the outlier's slope δ = 1 (loss 22/7).
    expect(body.metrics.loss).toBeCloseTo(22 / 7, 6);
    const mse = TrainResponseSchema.parse(
      (
        await train({ ...trainHuberExample, model: { ...trainHuberExample.model, loss: "meanSquaredError" } })
      ).json(),
    );
    expect((mse.weights["dense_0/kernel"] as number[][])[0]![0]).toBeGreaterThan(6);
  });

  it("gives the same answer for a name and its object form with default options", async () => {
    const a = (
      await train({ ...trainHuberExample, model: { ...trainHuberExample.model, loss: "huber" } })
    ).json();
    const b = (await train(trainHuberExample)).json();
    expect(b.weightsSha256).toBe(a.weightsSha256);
  });

  it("answers bad loss options and unknown losses with a 400 naming the field", async () => {
    const bad = async (loss: unknown) => {
      const res = await train({ ...trainHuberExample, model: { ...trainHuberExample.model, loss } });
      expect(res.statusCode, JSON.stringify(loss)).toBe(400);
      return res
        .json()
        .errors.map((e: { path: string; message: string }) => `${e.path}: ${e.message}`) as string[];
    };
    expect((await bad({ type: "huber", delta: 0 })).join()).toMatch(/^model\.loss\.delta: .*>0/);
    expect((await bad({ type: "binaryCrossentropy", labelSmoothing: 1.5 })).join()).toMatch(
      /^model\.loss\.labelSmoothing: .*<=1/,
    );
    expect((await bad({ type: "hinge", delta: 1 })).join()).toMatch(/^model\.loss\.delta/);
    expect((await bad("meanCubicError")).join()).toMatch(/^model\.loss: .*\bhuber\b.*\bcosineProximity\b/);
  });

  it("answers poisson on an output that can be negative with a 422 at model.loss", async () => {
    const res = await train({ ...trainHuberExample, model: { ...trainHuberExample.model, loss: "poisson" } });
    expect(res.statusCode).toBe(422);
    expect(res.json().errors).toEqual([
      { path: "model.loss", message: expect.stringMatching(/poisson needs a non-negative output/) },
    ]);
  });

  it("trains a classifier from logits and reports its accuracy", async () => {
    const res = await train({
      model: {
        inputShape: [2],
        layers: [
          { type: "dense", units: 4, activation: "tanh" },
          { type: "dense", units: 2 },
        ],
        loss: { type: "sparseCategoricalCrossentropy", fromLogits: true, labelSmoothing: 0.1 },
      },
      dataset: { name: "xor" },
      optimizer: { type: "adam", learningRate: 0.1 },
      epochs: 5,
      seed: 3,
    });
    expect(res.statusCode).toBe(200);
    expect(res.json().history.accuracy).toHaveLength(5);
  });

  it("names the target element out of range, not only its sample (dataset.y[0][2])", async () => {
    const res = await train({
      model: {
        inputShape: [2],
        layers: [{ type: "dense", units: 3, activation: "sigmoid" }],
        loss: "binaryCrossentropy",
      },
      dataset: {
        x: [
          [0, 1],
          [1, 0],
        ],
        y: [
          [1, 0, 2],
          [0, 1, 0],
        ],
      },
      optimizer: { type: "sgd", learningRate: 0.1 },
      epochs: 1,
    });
    expect(res.statusCode, res.body).toBe(422);
    expect(res.json().errors).toEqual([
      { path: "dataset.y[0][2]", message: expect.stringMatching(/target 2 is outside \[0, 1\]/) },
    ]);
  });
});
