/**
 * A padded sequence tagger through POST /train (docs/backprop.md §21.6): embedding(maskZero) → lstm
 * (returnSequences) → timeDistributed dense softmax, sparse labels per step. The answer's final
 * loss, accuracy and confusion matrix (training samples past one evaluation chunk, and the
 * validation split) are recomputed by hand from POST /predict's outputs at the returned weights:
 * the loss `Σ m·l / Σ m` and the accuracy over the real steps only.
 */
import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TrainResponseSchema } from "../../src/schemas/responses.js";
import { C, paddedSamples, T } from "../engine/step-data.js";
import { buildTestApp } from "./helper.js";

let app: FastifyInstance;
beforeAll(async () => {
  app = await buildTestApp();
});
afterAll(async () => {
  await app.close();
});

const post = (url: string, payload: object) => app.inject({ method: "POST", url, payload });

describe("a masked per-step tagger over HTTP", () => {
  it("/train's final loss, accuracy and confusion matrix are those of /predict's outputs over the real steps", async () => {
    const n = 400;
    const nTrain = 320;
    const { x, labels } = paddedSamples(n, 41, false, (b) => (b % 5 === 0 ? T : 1 + (b % 3)));
    const rows = (a: Float64Array, width: number) =>
      Array.from({ length: a.length / width }, (_, i) => [...a.subarray(i * width, (i + 1) * width)]);
    const model = {
      inputShape: [T],
      layers: [
        { type: "embedding", inputDim: 6, outputDim: 3, maskZero: true },
        { type: "lstm", units: 4, returnSequences: true },
        { type: "timeDistributed", layer: { type: "dense", units: C, activation: "softmax" } },
      ],
      loss: "sparseCategoricalCrossentropy",
    };
    const res = await post("/train", {
      model,
      dataset: { x: rows(x, T), y: rows(labels, T) },
      optimizer: { type: "adam", learningRate: 0.05 },
      epochs: 2,
      batchSize: 64,
      seed: 3,
      validationSplit: 0.2,
    });
    expect(res.statusCode, res.body).toBe(200);
    const body = res.json();
    TrainResponseSchema.parse(body);
    const pred = await post("/predict", { model, weights: body.weights, x: rows(x, T) });
    expect(pred.statusCode, pred.body).toBe(200);
    const out = (pred.json().outputs as number[][][]).flat(2);
    const byHand = (from: number, to: number) => {
      let loss = 0;
      let right = 0;
      let real = 0;
      for (let row = from * T; row < to * T; row++) {
        if (x[row] === 0) continue;
        const p = out.slice(row * C, (row + 1) * C);
        loss -= Math.log(p[labels[row]!]!);
        if (p.indexOf(Math.max(...p)) === labels[row]) right++;
        real++;
      }
      return { loss: loss / real, accuracy: right / real, real };
    };
    const fit = byHand(0, nTrain);
    const val = byHand(nTrain, n);
    expect(body.metrics.loss).toBeCloseTo(fit.loss, 12);
    expect(body.metrics.accuracy).toBeCloseTo(fit.accuracy, 12);
    expect(body.metrics.valLoss).toBeCloseTo(val.loss, 12);
    expect(body.metrics.valAccuracy).toBeCloseTo(val.accuracy, 12);
    const total = (m: number[][]) => m.flat().reduce((a, v) => a + v, 0);
    expect(total(body.confusionMatrix.train)).toBe(fit.real);
    expect(total(body.confusionMatrix.validation)).toBe(val.real);
    expect(fit.real).toBeLessThan(nTrain * T);
  });
});
