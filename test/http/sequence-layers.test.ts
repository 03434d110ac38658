/**
 * The sequence layers over HTTP (docs/backprop.md §21): a small text classifier (embedding →
 * conv1d → globalMaxPooling1d → dense) trained by POST /train in float64 and float32 with the
 * engine's own numbers, /gradients of a masked model against central differences, and token
 * ids that are not ids, an embedding that is not first, or bad options answered naming the field.
 */
import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { train } from "../../src/engine/index.js";
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

// A vocabulary of 8 words; id 0 pads. A review is positive (1) when "good" (id 5) or "great"
// (id 6) appears, negative when "bad" (7) does; the rest are filler words.
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
const dataset = { x: reviews.map(([ids]) => ids), y: reviews.map(([, label]) => label) };

const model = {
  inputShape: [6],
  layers: [
    { type: "embedding", inputDim: 8, outputDim: 4, name: "emb" },
    { type: "conv1d", filters: 6, kernelSize: 2, padding: "causal", activation: "relu", name: "conv" },
    { type: "globalMaxPooling1d", name: "pool" },
    { type: "dense", units: 1, activation: "sigmoid", name: "out" },
  ],
  loss: "binaryCrossentropy",
};
const request = {
  model,
  dataset,
  optimizer: { type: "adam", learningRate: 0.05 },
  epochs: 40,
  batchSize: 5,
  seed: 3,
};

describe("a text classifier over HTTP", () => {
  it.each(["float64", "float32"] as const)(
    "/train (%s): embedding → conv1d → globalMaxPooling1d → dense separates the reviews, with the engine's numbers",
    async (dtype) => {
      const res = await post("/train", { ...request, dtype });
      expect(res.statusCode, res.body).toBe(200);
      const body = res.json();
      TrainResponseSchema.parse(body);
      expect(Object.keys(body.weights).sort()).toEqual([
        "conv/bias",
        "conv/kernel",
        "emb/embeddings",
        "out/bias",
        "out/kernel",
      ]);
      // Keras' shapes: [inputDim, outputDim] and [kernelSize, inChannels, filters].
      expect(body.weights["emb/embeddings"]).toHaveLength(8);
      expect(body.weights["emb/embeddings"][0]).toHaveLength(4);
      expect(body.weights["conv/kernel"].map((r: number[][]) => r.length)).toEqual([4, 4]);
      const loss = body.history.loss as number[];
      expect(loss.at(-1)).toBeLessThan(0.1 * loss[0]!);
      expect(body.metrics.accuracy).toBe(1);
      // The same run in the engine: the same losses, epoch by epoch.
      const x = Float64Array.from(dataset.x.flat());
      const y = Float64Array.from(dataset.y);
      const ours = train({
        model: model as never,
        data: { n: reviews.length, x, y },
        optimizer: request.optimizer as never,
        epochs: request.epochs,
        batchSize: request.batchSize,
        seed: request.seed,
        dtype,
      });
      expect(loss).toEqual(ours.history.loss);
      // Unseen reviews: "great" alone is positive, "bad" alone negative.
      const pred = await post("/predict", {
        model,
        weights: body.weights,
        x: [
          [6, 1, 0, 0, 0, 0],
          [1, 7, 0, 0, 0, 0],
        ],
        dtype,
      });
      expect(pred.statusCode, pred.body).toBe(200);
      const [pos, neg] = pred.json().outputs as number[][];
      expect(pos![0]).toBeGreaterThan(0.5);
      expect(neg![0]).toBeLessThan(0.5);
    },
  );

  it("/gradients: embedding (maskZero) → tanh → globalAveragePooling1d → dense agrees with central differences, and gives no gradient for the ids", async () => {
    const res = await post("/gradients", {
      model: {
        inputShape: [6],
        layers: [
          { type: "embedding", inputDim: 8, outputDim: 3, maskZero: true },
          { type: "activation", activation: "tanh" },
          { type: "globalAveragePooling1d" },
          { type: "dense", units: 1, activation: "sigmoid" },
        ],
        loss: "binaryCrossentropy",
      },
      x: [4, 7, 1, 0, 0, 0],
      y: 0,
      seed: 4,
      numericalCheck: true,
    });
    expect(res.statusCode, res.body).toBe(200);
    const body = res.json();
    GradientsResponseSchema.parse(body);
    expect(body.numerical.maxRelError).toBeLessThan(1e-7);
    expect(Object.keys(body.gradients).sort()).toEqual([
      "dense_3/bias",
      "dense_3/kernel",
      "embedding_0/embeddings",
    ]);
    // Padding rows (id 0) and ids absent from the sample get no gradient; the three present do.
    const g = body.gradients["embedding_0/embeddings"] as number[][];
    for (const id of [0, 2, 3, 5, 6]) expect(g[id]).toEqual([0, 0, 0]);
    for (const id of [1, 4, 7]) expect(Math.max(...g[id]!.map(Math.abs))).toBeGreaterThan(0);
    // The masked mean: the pooled activation is the mean of tanh(E[id]) over the three real steps.
    const e = body.weights["embedding_0/embeddings"] as number[][];
    const mean = [0, 1, 2].map(
      (c) => (Math.tanh(e[4]![c]!) + Math.tanh(e[7]![c]!) + Math.tanh(e[1]![c]!)) / 3,
    );
    const pooled = body.activations[2].output as number[];
    for (let c = 0; c < 3; c++) expect(pooled[c]).toBeCloseTo(mean[c]!, 12);
  });
});

describe("ids and options that are wrong", () => {
  const problem = async (url: string, payload: object, status = 422) => {
    const res = await post(url, payload);
    expect(res.statusCode, res.body).toBe(status);
    return (res.json() as ProblemBody).errors ?? [];
  };

  it.each([
    [8, "8 is not a token id"],
    [-1, "-1 is not a token id"],
    [2.5, "2.5 is not a token id"],
  ])("an id of %d in the data is a 422 naming the element", async (id, words) => {
    const x = dataset.x.map((r) => [...r]);
    x[2]![3] = id;
    const errors = await problem("/train", { ...request, epochs: 1, dataset: { x, y: dataset.y } });
    expect(errors.map((e) => e.path)).toEqual(["dataset.x[2][3]"]);
    expect(errors[0]!.message).toContain(words);
    expect(errors[0]!.message).toContain("[0, 8)");
    const pred = await problem("/predict", { model, weights: {}, x: [x[2]] });
    expect(pred.map((e) => e.path)).toEqual(["x[0][3]"]);
    const grad = await problem("/gradients", { model, x: x[2], y: 1 });
    expect(grad.map((e) => e.path)).toEqual(["x[3]"]);
  });

  it("an embedding that is not the first layer is a 422 at that layer", async () => {
    const errors = await problem("/train", {
      ...request,
      model: { ...model, layers: [{ type: "dense", units: 6 }, ...model.layers] },
    });
    expect(errors.map((e) => e.path)).toEqual(["model.layers[1]"]);
    expect(errors[0]!.message).toContain("first layer");
  });

  it.each([
    [{ type: "conv1d", filters: 2, kernelSize: 2, padding: "full" }, "model.layers[1].padding", 400],
    [{ type: "conv1d", filters: 2, kernelSize: [2, 2] }, "model.layers[1].kernelSize", 400],
    [
      { type: "conv1d", filters: 2, kernelSize: 2, strides: 2, dilationRate: 2 },
      "model.layers[1].dilationRate",
      422,
    ],
    [{ type: "maxPooling1d", poolSize: 9 }, "model.layers[1]", 422],
    [{ type: "globalMaxPooling1d", dataFormat: "channelsFirst" }, "model.layers[1].dataFormat", 400],
  ])("%o is a %s", async (layer, path, status) => {
    const errors = await problem(
      "/train",
      {
        ...request,
        epochs: 1,
        model: { ...model, layers: [model.layers[0], layer, { type: "flatten" }, model.layers[3]] },
      },
      status,
    );
    expect(errors.length).toBeGreaterThan(0);
    for (const e of errors) expect(e.path.startsWith(path), e.path).toBe(true);
  });
});
