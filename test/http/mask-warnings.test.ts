/**
 * POST /train's `warnings` (docs/backprop.md §21.1): a layer that drops an embedding's `maskZero`
 * mask without reading it (conv1d, flatten) is named as `maskDropped`, and the run is then exactly
 * the run without the mask; a mask that is read or reaches the output, or no mask, gives none.
 */
import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TrainResponseSchema } from "../../src/schemas/responses.js";
import { buildTestApp, waitForJob } from "./helper.js";

let app: FastifyInstance;
beforeAll(async () => {
  app = await buildTestApp();
});
afterAll(async () => {
  await app.close();
});

const embedding = (maskZero: boolean) => ({
  type: "embedding",
  name: "words",
  inputDim: 8,
  outputDim: 3,
  maskZero,
});
const conv1dModel = (maskZero: boolean) => ({
  inputShape: [6],
  layers: [
    embedding(maskZero),
    { type: "conv1d", filters: 4, kernelSize: 2, activation: "relu" },
    { type: "globalMaxPooling1d" },
    { type: "dense", units: 1, activation: "sigmoid" },
  ],
  loss: "binaryCrossentropy",
});
const dataset = {
  x: [
    [1, 5, 2, 0, 0, 0],
    [3, 4, 6, 1, 0, 0],
    [2, 7, 1, 0, 0, 0],
    [7, 3, 4, 2, 0, 0],
  ],
  y: [1, 1, 0, 0],
};
const body = (model: object) => ({
  model,
  dataset,
  optimizer: { type: "adam", learningRate: 0.05 },
  epochs: 3,
  batchSize: 2,
  seed: 4,
});
const train = async (model: object) => {
  const res = await app.inject({ method: "POST", url: "/train", payload: body(model) });
  expect(res.statusCode, res.body).toBe(200);
  return TrainResponseSchema.parse(res.json());
};

describe("/train warns when a layer drops the time-step mask unread", () => {
  it("names the conv1d after a maskZero embedding, whose run is the run without the mask", async () => {
    const masked = await train(conv1dModel(true));
    expect(masked.warnings).toEqual([
      {
        code: "maskDropped",
        layer: "conv1d_1",
        message:
          "conv1d_1 (conv1d) drops the time-step mask that words's maskZero makes, as Keras 3 does at a layer " +
          "without mask support: it and the layers after it, and the loss, treat the padding (id 0) as real " +
          "steps. To leave the padding out, read the mask before it, with a recurrent layer or " +
          "globalAveragePooling1d (docs/backprop.md §21.1).",
      },
    ]);
    const unmasked = await train(conv1dModel(false));
    expect(unmasked.warnings).toBeUndefined();
    expect(masked.weightsSha256).toBe(unmasked.weightsSha256);
  });

  it("names a flatten after a recurrent layer's sequences (the mask was read, then dropped), in a job too", async () => {
    const model = {
      inputShape: [6],
      layers: [
        embedding(true),
        { type: "lstm", units: 2, returnSequences: true },
        { type: "activation", activation: "tanh" },
        { type: "flatten", name: "flat" },
        { type: "dense", units: 1, activation: "sigmoid" },
      ],
      loss: "binaryCrossentropy",
    };
    const answer = await train(model);
    expect(answer.warnings?.map((w) => [w.code, w.layer])).toEqual([["maskDropped", "flat"]]);
    const created = await app.inject({ method: "POST", url: "/jobs", payload: body(model) });
    expect(created.statusCode, created.body).toBe(202);
    const job = await waitForJob(app, created.json().id);
    expect(job.status).toBe("succeeded");
    expect((job.result as { warnings?: unknown }).warnings).toEqual(answer.warnings);
  });

  it("says nothing when the mask is read, reaches the output, or is not made", async () => {
    const quiet = [
      [embedding(true), { type: "lstm", units: 2 }, { type: "dense", units: 1, activation: "sigmoid" }],
      [
        embedding(true),
        { type: "globalAveragePooling1d" },
        { type: "dense", units: 1, activation: "sigmoid" },
      ],
      [
        embedding(false),
        { type: "conv1d", filters: 2, kernelSize: 3 },
        { type: "flatten" },
        { type: "dense", units: 1, activation: "sigmoid" },
      ],
    ];
    for (const layers of quiet) {
      const answer = await train({ inputShape: [6], layers, loss: "binaryCrossentropy" });
      expect(answer.warnings, JSON.stringify(layers)).toBeUndefined();
    }
    // A tagger: the mask reaches the output through the timeDistributed layer and masks the loss.
    const res = await app.inject({
      method: "POST",
      url: "/train",
      payload: {
        ...body({
          inputShape: [6],
          layers: [
            embedding(true),
            { type: "lstm", units: 2, returnSequences: true },
            { type: "timeDistributed", layer: { type: "dense", units: 2, activation: "softmax" } },
          ],
          loss: "sparseCategoricalCrossentropy",
        }),
        dataset: { x: dataset.x, y: dataset.x.map((ids) => ids.map((id) => id % 2)) },
      },
    });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json().warnings).toBeUndefined();
  });
});
