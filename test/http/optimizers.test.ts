/** The optimisers of docs/backprop.md §15 over HTTP: resume through the returned state, clipping errors. */
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

const train = (payload: object) => app.inject({ method: "POST", url: "/train", payload });

const base = {
  model: {
    inputShape: [4],
    layers: [
      { type: "dense", units: 6, activation: "relu" },
      { type: "dense", units: 3, activation: "softmax" },
    ],
    loss: "sparseCategoricalCrossentropy",
  },
  dataset: { name: "iris" },
  batchSize: 16,
  seed: 5,
  returnOptimizerState: true,
};

describe("POST /train with the Keras optimisers", () => {
  it.each([
    { type: "rmsprop", learningRate: 0.01, momentum: 0.5, centered: true, clipnorm: 1 },
    { type: "adagrad", learningRate: 0.1, clipvalue: 0.5 },
    { type: "adadelta", learningRate: { type: "cosineDecay", initialLearningRate: 1, decaySteps: 100 } },
    { type: "adamax", learningRate: 0.01 },
    { type: "nadam", learningRate: 0.01, globalClipnorm: 2 },
    { type: "adamw", learningRate: 0.01, weightDecay: 0.01 },
    { type: "sgd", learningRate: 0.05, momentum: 0.9, nesterov: true },
  ])("$type: 4 epochs, then 4 more from the returned state, equal 8 at once", async (optimizer) => {
    const whole = await train({ ...base, optimizer, epochs: 8 });
    expect(whole.statusCode).toBe(200);
    const wholeBody = TrainResponseSchema.parse(whole.json());
    expect(wholeBody.optimizerState!.type).toBe(optimizer.type);
    const first = (await train({ ...base, optimizer, epochs: 4 })).json();
    const second = await train({
      ...base,
      optimizer,
      epochs: 4,
      initialWeights: first.weights,
      optimizerState: first.optimizerState,
    });
    expect(second.statusCode).toBe(200);
    const body = second.json();
    expect(body.weightsSha256).toBe(wholeBody.weightsSha256);
    expect(body.history.loss).toEqual(wholeBody.history.loss.slice(4));
    expect(body.optimizerState).toEqual(whole.json().optimizerState);
    expect(body.history.loss[3]).toBeLessThan(first.history.loss[0]);
  });

  it("two clippings at once are a 400 naming the second, as Keras refuses them", async () => {
    const res = await train({
      ...base,
      epochs: 1,
      optimizer: { type: "adam", learningRate: 0.01, clipvalue: 1, globalClipnorm: 1 },
    });
    expect(res.statusCode).toBe(400);
    const { errors } = res.json();
    expect(errors[0].path).toBe("optimizer.globalClipnorm");
    expect(errors[0].message).toMatch(/only one of clipnorm, clipvalue and globalClipnorm/);
  });

  it.each([
    [{ type: "rmsprop", learningRate: 0.01, rho: 1 }, ["optimizer", "rho"]],
    [{ type: "adamw", learningRate: 0.01, weightDecay: -1 }, ["optimizer", "weightDecay"]],
    [{ type: "sgd", learningRate: 0.01, clipnorm: 0 }, ["optimizer", "clipnorm"]],
    [
      { type: "adagrad", learningRate: 0.01, initialAccumulatorValue: -0.1 },
      ["optimizer", "initialAccumulatorValue"],
    ],
  ])("a bad field is a 400 naming it: %o", async (optimizer, path) => {
    const res = await train({ ...base, epochs: 1, optimizer });
    expect(res.statusCode).toBe(400);
    expect(res.json().errors.map((e: { path: unknown }) => e.path)).toContainEqual(path.join("."));
  });

  it("a state with a slot of the wrong shape is a 422 naming the slot and the weight", async () => {
    const optimizer = { type: "adamax", learningRate: 0.01 };
    const first = (await train({ ...base, optimizer, epochs: 1 })).json();
    first.optimizerState.u["dense_0/bias"] = [1, 2];
    const res = await train({
      ...base,
      optimizer,
      epochs: 1,
      initialWeights: first.weights,
      optimizerState: first.optimizerState,
    });
    expect(res.statusCode).toBe(422);
    expect(res.json().errors[0].path).toBe('optimizerState.u["dense_0/bias"]');
  });
});
