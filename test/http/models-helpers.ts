import type { FastifyInstance } from "fastify";
import { ENGINE_VERSION, type ModelSpec, weightsSha256 } from "../../src/engine/index.js";
import type { NestedNumbers } from "../../src/schemas/common.js";
import { ANONYMOUS } from "../../src/service/auth.js";
import { nestedToNamedTensors } from "../../src/service/convert.js";
import { newModelId } from "../../src/service/models/model-store.js";

/** Trains `body` through POST /train; its answer (weights as nested arrays, by name). */
export async function trainThrough(
  app: FastifyInstance,
  body: Record<string, unknown>,
  headers: Record<string, string> = {},
): Promise<{ weights: Record<string, NestedNumbers>; seed: number; modelId?: string }> {
  const res = await app.inject({ method: "POST", url: "/train", payload: body, headers });
  if (res.statusCode !== 200) throw new Error(`/train answered ${res.statusCode}: ${res.body}`);
  return res.json();
}

/**
 * Stores a model as the registry does after a training (`source: "train"`), straight into
 * `app.store.models`; its id.
 */
export async function storeModel(
  app: FastifyInstance,
  spec: ModelSpec,
  nested: Record<string, NestedNumbers>,
  owner = ANONYMOUS,
): Promise<string> {
  const weights = nestedToNamedTensors(nested, ["weights"]);
  const record = await app.store.models.insert({
    id: newModelId(),
    owner,
    createdAt: new Date().toISOString(),
    source: "train",
    jobId: null,
    spec,
    optimizer: { type: "sgd", learningRate: 0.1 },
    metrics: null,
    dataset: null,
    seed: 1,
    engineVersion: ENGINE_VERSION,
    weightsSha256: weightsSha256(weights),
    parameters: Object.values(weights).reduce((n, t) => n + t.data.length, 0),
    lossGiven: true,
    baseModelId: null,
    weights,
  });
  return record.id;
}

/** A small classifier over 2 features and a data set it learns. */
export const xorish = {
  model: {
    inputShape: [2],
    layers: [
      { type: "dense", units: 4, activation: "tanh" },
      { type: "dense", units: 2, activation: "softmax" },
    ],
    loss: "sparseCategoricalCrossentropy",
  } satisfies ModelSpec,
  dataset: {
    x: [
      [0, 0],
      [0, 1],
      [1, 0],
      [1, 1],
    ],
    y: [0, 1, 1, 0],
  },
  optimizer: { type: "sgd", learningRate: 0.5 },
  epochs: 3,
  seed: 7,
};

/** A model.json's parts without a loss: one Dense layer of 2 units over 2 features, named as tfjs names it. */
const topology = {
  class_name: "Sequential",
  config: {
    name: "sequential_1",
    layers: [
      {
        class_name: "Dense",
        config: {
          name: "dense_Dense1",
          units: 2,
          activation: "linear",
          use_bias: true,
          batch_input_shape: [null, 2],
          dtype: "float32",
        },
      },
    ],
  },
};
const kernel = [
  [1, 2],
  [-0.5, 0.25],
];
const bias = [0.5, -1];
const manifest = [
  {
    paths: ["weights.bin"],
    weights: [
      { name: "dense_Dense1/kernel", shape: [2, 2], dtype: "float32" },
      { name: "dense_Dense1/bias", shape: [2], dtype: "float32" },
    ],
  },
];
const weightBytes = Buffer.from(new Float32Array([...kernel.flat(), ...bias]).buffer);

/** The import above: its topology, manifest and weights' bytes (kernel [[1, 2], [-0.5, 0.25]], bias [0.5, -1]). */
export const denseImport = { topology, manifest, weightBytes };
