/**
 * A padded token-sequence classifier through POST /train (docs/backprop.md §21.1, §22.6): an
 * embedding with `maskZero` into an lstm, whose per-epoch losses are the engine's, and whose
 * training does not change when the padding's length does: extra zeros appended to every sample,
 * or put in front, give the same losses, weights, predictions and gradients, bit for bit.
 */
import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { train } from "../../src/engine/index.js";
import { TrainResponseSchema } from "../../src/schemas/responses.js";
import { buildTestApp } from "./helper.js";

let app: FastifyInstance;
beforeAll(async () => {
  app = await buildTestApp();
});
afterAll(async () => {
  await app.close();
});

const post = (url: string, payload: object) => app.inject({ method: "POST", url, payload });

// Id 0 pads; a review is positive when "good" (5) or "great" (6) appears, negative with "bad" (7).
const reviews: [number[], number][] = [
  [[1, 5, 2, 0, 0, 0], 1],
  [[3, 4, 6, 1, 0, 0], 1],
  [[6, 2, 2, 3, 4, 0], 1],
  [[1, 2, 3, 5, 0, 0], 1],
  [[4, 1, 5, 6, 2, 0], 1],
  [[2, 7, 1, 0, 0, 0], 0],
  [[7, 3, 4, 2, 0, 0], 0],
  [[1, 2, 3, 7, 4, 0], 0],
  [[3, 3, 7, 0, 0, 0], 0],
  [[4, 7, 1, 2, 3, 1], 0],
];

/** The request for samples padded by `pad`: each review's ids through it. */
function request(pad: (ids: number[]) => number[]) {
  const x = reviews.map(([ids]) => pad(ids));
  return {
    model: {
      inputShape: [x[0]!.length],
      layers: [
        { type: "embedding", inputDim: 8, outputDim: 4, maskZero: true, name: "emb" },
        { type: "lstm", units: 5, name: "lstm" },
        { type: "dense", units: 1, activation: "sigmoid", name: "out" },
      ],
      loss: "binaryCrossentropy",
    },
    dataset: { x, y: reviews.map(([, label]) => label) },
    optimizer: { type: "adam", learningRate: 0.05 },
    epochs: 30,
    batchSize: 4,
    seed: 7,
  };
}

const same = (ids: number[]) => ids;
const appended = (ids: number[]) => [...ids, 0, 0, 0, 0];
const prepended = (ids: number[]) => [0, 0, 0, ...ids];

describe("a padded sequence classifier over HTTP (embedding maskZero → lstm → dense)", () => {
  it("/train learns it, with the engine's losses epoch for epoch", async () => {
    const req = request(same);
    const res = await post("/train", req);
    expect(res.statusCode, res.body).toBe(200);
    const body = res.json();
    TrainResponseSchema.parse(body);
    const loss = body.history.loss as number[];
    expect(loss.at(-1)).toBeLessThan(0.2 * loss[0]!);
    expect(body.metrics.accuracy).toBe(1);
    const ours = train({
      model: req.model as never,
      data: {
        n: reviews.length,
        x: Float64Array.from(req.dataset.x.flat()),
        y: Float64Array.from(req.dataset.y),
      },
      optimizer: req.optimizer as never,
      epochs: req.epochs,
      batchSize: req.batchSize,
      seed: req.seed,
    });
    expect(loss).toEqual(ours.history.loss);
  });

  it.each([
    ["four zeros appended", appended],
    ["three zeros in front", prepended],
  ])(
    "%s to every sample: the same losses, weights, predictions and gradients, bit for bit",
    async (_, pad) => {
      const [a, b] = await Promise.all([post("/train", request(same)), post("/train", request(pad))]);
      expect(a.statusCode, a.body).toBe(200);
      expect(b.statusCode, b.body).toBe(200);
      const [ra, rb] = [a.json(), b.json()];
      expect(rb.history.loss).toEqual(ra.history.loss);
      expect(rb.weights).toEqual(ra.weights);
      const probe = [
        [6, 1, 0, 0, 0, 0],
        [1, 7, 0, 0, 0, 0],
      ];
      const predict = (req: ReturnType<typeof request>, weights: unknown, x: number[][]) =>
        post("/predict", { model: req.model, weights, x });
      const [pa, pb] = await Promise.all([
        predict(request(same), ra.weights, probe),
        predict(request(pad), rb.weights, probe.map(pad)),
      ]);
      expect(pb.json().outputs).toEqual(pa.json().outputs);
      const grads = (req: ReturnType<typeof request>, weights: unknown) =>
        post("/gradients", { model: req.model, weights, x: req.dataset.x[5], y: req.dataset.y[5] });
      const [ga, gb] = await Promise.all([grads(request(same), ra.weights), grads(request(pad), rb.weights)]);
      expect(ga.statusCode, ga.body).toBe(200);
      expect(gb.json().gradients).toEqual(ga.json().gradients);
      expect(gb.json().loss).toBe(ga.json().loss);
    },
  );
});
