/**
 * bidirectional and timeDistributed over HTTP (docs/backprop.md §23): a bidirectional lstm tagger
 * learns a target that needs both directions through POST /train, /gradients agrees with central
 * differences, Keras spellings get hints, and what the wrappers refuse is a 400 or 422 naming the
 * wrapped layer's field.
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

/** 16 sequences of 6 steps of one feature; step t's target is the mean of its two neighbours (0 past the ends). */
const x = Array.from({ length: 16 }, (_, i) =>
  Array.from({ length: 6 }, (_, t) => [Math.sin(1.7 * i + 0.9 * t)]),
);
const y = x.map((s) => s.map((_, t) => [((s[t - 1]?.[0] ?? 0) + (s[t + 1]?.[0] ?? 0)) / 2]));

const model = {
  inputShape: [6, 1],
  layers: [
    {
      type: "bidirectional",
      name: "bi",
      layer: { type: "lstm", units: 6, recurrentActivation: "sigmoid", returnSequences: true },
    },
    { type: "timeDistributed", name: "out", layer: { type: "dense", units: 1 } },
  ],
  loss: "meanSquaredError",
};

describe("wrappers over HTTP", () => {
  it("/train: a bidirectional lstm → timeDistributed dense learns each step's neighbours' mean", async () => {
    const request = {
      model,
      dataset: { x, y },
      optimizer: { type: "adam", learningRate: 0.03 },
      epochs: 150,
      batchSize: 16,
      seed: 3,
    };
    const res = await post("/train", request);
    expect(res.statusCode, res.body).toBe(200);
    const body = res.json();
    TrainResponseSchema.parse(body);
    expect(Object.keys(body.weights)).toEqual([
      "bi/forward_lstm/kernel",
      "bi/forward_lstm/recurrent_kernel",
      "bi/forward_lstm/bias",
      "bi/backward_lstm/kernel",
      "bi/backward_lstm/recurrent_kernel",
      "bi/backward_lstm/bias",
      "out/kernel",
      "out/bias",
    ]);
    expect(body.weights["out/kernel"]).toHaveLength(12);
    const loss = body.history.loss as number[];
    expect(loss[loss.length - 1]).toBeLessThan(loss[0]! / 20);
    const pred = await post("/predict", { model, weights: body.weights, x: [x[0]] });
    expect(pred.statusCode, pred.body).toBe(200);
    const [p0] = pred.json().outputs as number[][][];
    expect(p0).toHaveLength(6);
    for (let t = 0; t < 6; t++) expect(Math.abs(p0![t]![0]! - y[0]![t]![0]!)).toBeLessThan(0.2);
    const again = await post("/train", request);
    expect(again.json().weightsSha256).toBe(body.weightsSha256);
  });

  it("/gradients: a bidirectional gru (mul) → timeDistributed dense tanh agrees with central differences", async () => {
    const res = await post("/gradients", {
      model: {
        inputShape: [6, 1],
        layers: [
          {
            type: "bidirectional",
            mergeMode: "mul",
            layer: { type: "gru", units: 3, returnSequences: true, recurrentActivation: "sigmoid" },
          },
          { type: "timeDistributed", layer: { type: "dense", units: 1, activation: "tanh" } },
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
    expect(Object.keys(body.gradients)).toContain("bidirectional_0/backward_gru/recurrent_kernel");
    expect(Object.keys(body.gradients)).toContain("timeDistributed_1/kernel");
  });

  it.each([
    ["Bidirectional", "bidirectional"],
    ["TimeDistributed", "timeDistributed"],
  ])("layer type %j → %s", async (sent, ours) => {
    const res = await post("/train", {
      model: { ...model, layers: [{ ...model.layers[0], type: sent }, model.layers[1]] },
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
    [{ type: "bidirectional", layer: { type: "dense", units: 2 } }, 400, "model.layers[0].layer.type"],
    [
      { type: "bidirectional", layer: { type: "lstm", units: 2 }, mergeMode: "max" },
      400,
      "model.layers[0].mergeMode",
    ],
    [
      { type: "bidirectional", layer: { type: "gru", units: 2, dropout: 1 } },
      400,
      "model.layers[0].layer.dropout",
    ],
    [{ type: "bidirectional", layer: { type: "lstm", units: 0 } }, 400, "model.layers[0].layer.units"],
    [{ type: "timeDistributed", layer: { type: "lstm", units: 2 } }, 400, "model.layers[0].layer.type"],
    [
      { type: "timeDistributed", layer: { type: "dense", units: 2, activityRegularizer: "l2" } },
      422,
      "model.layers[0].layer.activityRegularizer",
    ],
  ])("%j is a %i at %s", async (layer, status, path) => {
    const res = await post("/train", {
      model: { ...model, layers: [layer, { type: "flatten" }, { type: "dense", units: 6 }] },
      dataset: { x, y: y.map((s) => s.flat()) },
      optimizer: { type: "sgd", learningRate: 0.1 },
      epochs: 1,
    });
    expect(res.statusCode, res.body).toBe(status);
    const errors = (res.json() as ProblemBody).errors!;
    expect(errors.map((e) => e.path)).toContain(path);
  });
});
