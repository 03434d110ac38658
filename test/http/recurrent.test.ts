/**
 * The recurrent layers over HTTP (docs/backprop.md §22): an LSTM learns to recall the first step
 * of a sequence through POST /train, /gradients agrees with central differences on a GRU, Keras
 * spellings get hints, and what the layers cannot do is a 400 or 422 naming the field (dropout
 * rates: test/http/recurrent-dropout.test.ts).
 */
import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { GradientsResponseSchema, TrainResponseSchema } from "../../src/schemas/responses.js";
import { buildTestApp, type ProblemBody } from "./helper.js";

let app: FastifyInstance;
beforeAll(async () => {
  app = await buildTestApp();
});
afterAll(async () => {
  await app.close();
});

const post = (url: string, payload: object) => app.inject({ method: "POST", url, payload });

/** 16 sequences of 6 steps of one feature, `sin(1.7i + 0.9t)`; the target is the FIRST step's value. */
const x = Array.from({ length: 16 }, (_, i) =>
  Array.from({ length: 6 }, (_, t) => [Math.sin(1.7 * i + 0.9 * t)]),
);
const y = x.map((s) => [s[0]![0]!]);

const model = {
  inputShape: [6, 1],
  layers: [
    { type: "lstm", units: 8, recurrentActivation: "sigmoid", name: "rnn" },
    { type: "dense", units: 1, name: "out" },
  ],
  loss: "meanSquaredError",
};

describe("recurrent layers over HTTP", () => {
  it("/train: an LSTM recalls the first step of its sequence after reading five more", async () => {
    const res = await post("/train", {
      model,
      dataset: { x, y },
      optimizer: { type: "adam", learningRate: 0.03 },
      epochs: 200,
      batchSize: 16,
      seed: 3,
    });
    expect(res.statusCode, res.body).toBe(200);
    const body = res.json();
    TrainResponseSchema.parse(body);
    expect(Object.keys(body.weights).sort()).toEqual([
      "out/bias",
      "out/kernel",
      "rnn/bias",
      "rnn/kernel",
      "rnn/recurrent_kernel",
    ]);
    expect(body.weights["rnn/kernel"]).toHaveLength(1);
    expect(body.weights["rnn/kernel"][0]).toHaveLength(32);
    expect(body.weights["rnn/recurrent_kernel"]).toHaveLength(8);
    const loss = body.history.loss as number[];
    // The targets' mean square is about 0.5: predicting their mean leaves about that much.
    expect(loss[0]).toBeGreaterThan(0.3);
    expect(loss[loss.length - 1]).toBeLessThan(0.01);
    const pred = await post("/predict", { model, weights: body.weights, x: [x[0], x[5]] });
    expect(pred.statusCode, pred.body).toBe(200);
    const [p0, p5] = pred.json().outputs as number[][];
    expect(Math.abs(p0![0]! - y[0]![0]!)).toBeLessThan(0.15);
    expect(Math.abs(p5![0]! - y[5]![0]!)).toBeLessThan(0.15);
    // Same request, same seed: the same bits.
    const again = await post("/train", {
      model,
      dataset: { x, y },
      optimizer: { type: "adam", learningRate: 0.03 },
      epochs: 200,
      batchSize: 16,
      seed: 3,
    });
    expect(again.json().weightsSha256).toBe(body.weightsSha256);
  });

  it("/gradients: a stacked gru (resetAfter) → simpleRNN agrees with central differences", async () => {
    const res = await post("/gradients", {
      model: {
        inputShape: [6, 1],
        layers: [
          { type: "gru", units: 3, resetAfter: true, returnSequences: true, recurrentActivation: "sigmoid" },
          { type: "simpleRNN", units: 2, goBackwards: true },
          { type: "dense", units: 1 },
        ],
        loss: "meanSquaredError",
      },
      seed: 4,
      x: x[2],
      y: y[2],
      numericalCheck: { method: "central", epsilon: 1e-4 },
    });
    expect(res.statusCode, res.body).toBe(200);
    const body = GradientsResponseSchema.parse(res.json());
    expect(body.numerical!.maxRelError).toBeLessThan(1e-6);
    expect(body.gradients["gru_0/bias"]).toHaveLength(2);
    expect(body.activations.map((a) => a.layer)).toEqual(["gru_0", "simpleRNN_1", "dense_2"]);
  });

  it.each([
    ["LSTM", "lstm"],
    ["GRU", "gru"],
    ["SimpleRNN", "simpleRNN"],
    ["simple_rnn", "simpleRNN"],
  ])("layer type %j → %s", async (sent, ours) => {
    const res = await post("/train", {
      model: {
        ...model,
        layers: [
          { type: sent, units: 2 },
          { type: "dense", units: 1 },
        ],
      },
      dataset: { x, y },
      optimizer: { type: "sgd", learningRate: 0.1 },
      epochs: 1,
    });
    expect(res.statusCode, res.body).toBe(400);
    const errors = (res.json() as ProblemBody).errors!;
    expect(errors.map((e) => e.path)).toEqual(["model.layers[0].type"]);
    expect(errors[0]!.message).toContain(`did you mean \`${ours}\`?`);
  });

  it.each([
    [{ type: "lstm", units: 2, returnState: true }, 400, "model.layers[0].returnState"],
    [{ type: "lstm", units: 2, return_sequences: true }, 400, "model.layers[0].return_sequences"],
    [{ type: "gru", units: 0 }, 400, "model.layers[0].units"],
    [{ type: "simpleRNN", units: 2, activation: "softmax" }, 400, "model.layers[0].activation"],
    [{ type: "gru", units: 2, dropout: 1 }, 400, "model.layers[0].dropout"],
    [{ type: "lstm", units: 2, recurrentDropout: -0.1 }, 400, "model.layers[0].recurrentDropout"],
    [{ type: "simpleRNN", units: 2, dropout: "0.2" }, 400, "model.layers[0].dropout"],
  ])("%j is a %i at %s", async (layer, status, path) => {
    const res = await post("/train", {
      model: { ...model, layers: [layer, { type: "dense", units: 1 }] },
      dataset: { x, y },
      optimizer: { type: "sgd", learningRate: 0.1 },
      epochs: 1,
    });
    expect(res.statusCode, res.body).toBe(status);
    const errors = (res.json() as ProblemBody).errors!;
    expect(errors.map((e) => e.path)).toContain(path);
  });

  it("a recurrent layer on a vector input is a 422 naming the layer and the shape", async () => {
    const res = await post("/train", {
      model: {
        inputShape: [6],
        layers: [
          { type: "lstm", units: 2 },
          { type: "dense", units: 1 },
        ],
        loss: "meanSquaredError",
      },
      dataset: { x: x.map((s) => s.flat()), y },
      optimizer: { type: "sgd", learningRate: 0.1 },
      epochs: 1,
    });
    expect(res.statusCode, res.body).toBe(422);
    const errors = (res.json() as ProblemBody).errors!;
    expect(errors.map((e) => e.path)).toEqual(["model.layers[0]"]);
    expect(errors[0]!.message).toContain("needs a [timesteps, features] input, got [6]");
  });
});
