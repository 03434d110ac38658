/**
 * `dropout` and `recurrentDropout` on the recurrent layers over HTTP (docs/backprop.md §22.7):
 * /gradients shows each layer's masks and its numerical check reuses them; POST /train continued
 * from its optimizerState with initialWeights equals the uninterrupted run, bit for bit; a rate
 * outside [0, 1) is refused naming the field.
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

/** 12 sequences of 5 steps of 2 features; the target is the first step's first feature. */
const x = Array.from({ length: 12 }, (_, i) =>
  Array.from({ length: 5 }, (_, t) => [Math.sin(1.3 * i + 0.7 * t), Math.cos(0.9 * i - t)]),
);
const y = x.map((s) => [s[0]![0]!]);

const model = {
  inputShape: [5, 2],
  layers: [
    { type: "lstm", units: 3, dropout: 0.25, recurrentDropout: 0.5, returnSequences: true, name: "rnn" },
    { type: "bidirectional", name: "bi", layer: { type: "gru", units: 2, recurrentDropout: 0.25 } },
    { type: "dense", units: 1, name: "out" },
  ],
  loss: "meanSquaredError",
};

describe("recurrent dropout over HTTP", () => {
  it("/gradients: the masks by layer and kind, and the numerical check on them", async () => {
    const res = await post("/gradients", {
      model,
      seed: 7,
      x: x[1],
      y: y[1],
      numericalCheck: { method: "central", epsilon: 1e-5 },
    });
    expect(res.statusCode, res.body).toBe(200);
    const body = GradientsResponseSchema.parse(res.json());
    const masks = body.dropoutMasks!;
    expect(Object.keys(masks)).toEqual([
      "rnn/dropout",
      "rnn/recurrentDropout",
      "bi/forward_gru/recurrentDropout",
      "bi/backward_gru/recurrentDropout",
    ]);
    expect(masks["rnn/dropout"]).toHaveLength(2);
    expect(masks["rnn/recurrentDropout"]).toHaveLength(3);
    // Each value 0 or 1/(1 − rate): rates 0.25, 0.5, 0.25, 0.25.
    const kept: Record<string, number> = {
      "rnn/dropout": 1 / 0.75,
      "rnn/recurrentDropout": 2,
      "bi/forward_gru/recurrentDropout": 1 / 0.75,
      "bi/backward_gru/recurrentDropout": 1 / 0.75,
    };
    for (const [k, m] of Object.entries(masks))
      expect(
        (m as number[]).every((v) => v === 0 || v === kept[k]),
        k,
      ).toBe(true);
    expect(body.numerical!.maxRelError).toBeLessThan(1e-6);
    // Inference: no masks, and another loss.
    const inference = await post("/gradients", { model, seed: 7, x: x[1], y: y[1], training: false });
    expect(inference.json().dropoutMasks).toBeUndefined();
    expect(inference.json().loss).not.toBe(body.loss);
  });

  it("/train: 3 epochs, then 3 more from the returned optimizerState, equal 6 at once", async () => {
    const base = {
      model,
      dataset: { x, y },
      optimizer: { type: "adam", learningRate: 0.02 },
      batchSize: 4,
      seed: 11,
      returnOptimizerState: true,
    };
    const whole = await post("/train", { ...base, epochs: 6 });
    expect(whole.statusCode, whole.body).toBe(200);
    const first = await post("/train", { ...base, epochs: 3 });
    const firstBody = TrainResponseSchema.parse(first.json());
    expect(Object.keys(firstBody.optimizerState!.dropoutRng!)).toEqual([
      "rnn",
      "bi/forward_gru",
      "bi/backward_gru",
    ]);
    const second = await post("/train", {
      ...base,
      epochs: 3,
      initialWeights: firstBody.weights,
      optimizerState: firstBody.optimizerState,
    });
    expect(second.statusCode, second.body).toBe(200);
    expect(second.json().weightsSha256).toBe(whole.json().weightsSha256);
    expect(second.json().history.loss).toEqual(whole.json().history.loss.slice(3));
    // A state without the recurrent layers' streams is refused, naming the missing one.
    const { rnn: _, ...others } = firstBody.optimizerState!.dropoutRng!;
    const missing = await post("/train", {
      ...base,
      epochs: 1,
      initialWeights: firstBody.weights,
      optimizerState: { ...firstBody.optimizerState, dropoutRng: others },
    });
    expect(missing.statusCode, missing.body).toBe(422);
    expect((missing.json() as ProblemBody).errors!.map((e) => e.path)).toEqual([
      "optimizerState.dropoutRng.rnn",
    ]);
  });

  it.each([
    [{ type: "simpleRNN", units: 2, dropout: 1 }, "model.layers[0].dropout"],
    [{ type: "gru", units: 2, recurrentDropout: -0.5 }, "model.layers[0].recurrentDropout"],
    [
      { type: "bidirectional", layer: { type: "lstm", units: 2, recurrentDropout: 1.5 } },
      "model.layers[0].layer.recurrentDropout",
    ],
  ])("%j is a 400 at %s", async (layer, path) => {
    const res = await post("/train", {
      model: { inputShape: [5, 2], layers: [layer, { type: "dense", units: 1 }], loss: "meanSquaredError" },
      dataset: { x, y },
      optimizer: { type: "sgd", learningRate: 0.1 },
      epochs: 1,
    });
    expect(res.statusCode, res.body).toBe(400);
    const errors = (res.json() as ProblemBody).errors!;
    expect(errors.map((e) => e.path)).toEqual([path]);
    expect(errors[0]!.message).toMatch(/expected number to be (<1|>=0)/);
  });
});
