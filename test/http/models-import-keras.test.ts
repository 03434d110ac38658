/**
 * What a new user sent: a model.json as `tensorflowjs_converter` writes a Python Keras model
 * (`modelTopology.model_config`, `training_config`), too many layers, a misnamed manifest entry,
 * Keras 2's `"axis": [3]`, an unknown loss and an unknown loss option. Each is answered with the
 * status, path and message a client can act on.
 */
import * as tf from "@tensorflow/tfjs";
import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { maxRelativeError, tfReady } from "../engine/tfjs-reference.js";
import { buildTestApp, type ProblemBody } from "./helper.js";

/** A Dense → BatchNormalization → Dense model saved by tfjs, its topology as the converter wraps it. */
async function convertedModel() {
  await tfReady();
  const model = tf.sequential({
    layers: [
      tf.layers.dense({
        inputShape: [3],
        units: 4,
        activation: "tanh",
        kernelInitializer: tf.initializers.glorotUniform({ seed: 3 }),
      }),
      tf.layers.batchNormalization({ movingVarianceInitializer: tf.initializers.constant({ value: 2 }) }),
      tf.layers.dense({
        units: 2,
        activation: "softmax",
        kernelInitializer: tf.initializers.glorotUniform({ seed: 4 }),
      }),
    ],
  });
  let saved: tf.io.ModelArtifacts | undefined;
  await model.save(
    tf.io.withSaveHandler(async (artifacts) => {
      saved = artifacts;
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: "JSON" } };
    }),
  );
  if (!saved?.weightData || !saved.weightSpecs) throw new Error("tfjs saved nothing");
  const modelTopology = {
    keras_version: "2.15.0",
    backend: "tensorflow",
    model_config: saved.modelTopology,
    training_config: {
      loss: "categorical_crossentropy",
      metrics: ["accuracy"],
      weighted_metrics: null,
      loss_weights: null,
      optimizer_config: { class_name: "Adam", config: { name: "Adam", learning_rate: 0.001 } },
    },
  };
  const weights = new Uint8Array(saved.weightData as ArrayBuffer);
  const modelJson = {
    format: "layers-model",
    generatedBy: "keras v2.15.0",
    convertedBy: "TensorFlow.js Converter v4.22.0",
    modelTopology,
    weightsManifest: [{ paths: ["group1-shard1of1.bin"], weights: saved.weightSpecs }],
  };
  // What tfjs itself makes of the converted model: it reads model_config too.
  const loaded = await tf.loadLayersModel(
    tf.io.fromMemory({ modelTopology, weightSpecs: saved.weightSpecs, weightData: saved.weightData }),
  );
  return { modelJson, weights, loaded };
}

describe("Keras and tfjs imports a new user tried", () => {
  let app: FastifyInstance;
  let converted: Awaited<ReturnType<typeof convertedModel>>;
  const x = [
    [0.5, -1, 2],
    [1, 1, -0.25],
    [-2, 0.75, 0.1],
  ];
  const y = [
    [1, 0],
    [0, 1],
    [1, 0],
  ];
  const topology = () =>
    converted.modelJson.modelTopology as unknown as Record<string, unknown> & {
      model_config: { config: { layers: { class_name: string; config: Record<string, unknown> }[] } };
    };
  const importJson = (modelJson: unknown, weights = converted.weights) =>
    app.inject({
      method: "POST",
      url: "/models",
      payload: { ...(modelJson as object), weightData: Buffer.from(weights).toString("base64") },
    });
  const train = (model: unknown) =>
    app.inject({
      method: "POST",
      url: "/train",
      payload: { model, dataset: { x, y }, optimizer: { type: "sgd", learningRate: 0.1 }, epochs: 1 },
    });

  beforeAll(async () => {
    app = await buildTestApp();
    converted = await convertedModel();
  });
  afterAll(async () => {
    await app.close();
  });

  it("imports a converted model.json: model_config read, the loss from training_config, predicting what tfjs does", async () => {
    const res = await importJson(converted.modelJson);
    expect(res.statusCode, res.body).toBe(201);
    const model = (await app.inject({ method: "GET", url: `/models/${res.json().id}` })).json();
    expect(model.spec.loss).toBe("categoricalCrossentropy");
    const ours = await app.inject({
      method: "POST",
      url: `/models/${res.json().id}/predict`,
      payload: { x },
    });
    const theirs = (converted.loaded.predict(tf.tensor(x)) as tf.Tensor).dataSync();
    expect(maxRelativeError((ours.json().outputs as number[][]).flat(), theirs)).toBeLessThan(1e-5);
    // The model field takes the wrapper too, its loss from training_config.
    const trained = await train(topology());
    expect(trained.statusCode, trained.body).toBe(200);
  });

  it("names model_config in what it refuses", async () => {
    const t = structuredClone(topology());
    t.model_config.config.layers.push({ class_name: "ConvLSTM2D", config: { units: 2 } });
    const res = await importJson({ ...converted.modelJson, modelTopology: t });
    expect(res.statusCode).toBe(422);
    expect((res.json() as ProblemBody).errors?.[0]?.path).toBe(
      "modelTopology.model_config.config.layers[3].class_name",
    );
    const trained = await train(t);
    expect(trained.statusCode).toBe(422);
    expect((trained.json() as ProblemBody).errors?.[0]?.path).toBe(
      "model.model_config.config.layers[3].class_name",
    );
  });

  it("an import over MAX_PARAMS is refused at the layer of the topology that crosses it", async () => {
    const small = await buildTestApp({ MAX_PARAMS: "20" });
    try {
      const res = await small.inject({
        method: "POST",
        url: "/models",
        payload: { ...converted.modelJson, weightData: Buffer.from(converted.weights).toString("base64") },
      });
      expect(res.statusCode).toBe(422);
      const error = (res.json() as ProblemBody).errors?.[0];
      // 3·4 + 4 = 16 parameters, then batch normalisation's 4 + 4 trainable: the second layer crosses 20.
      expect(error?.path).toBe("modelTopology.model_config.config.layers[1]");
      expect(error?.message).toMatch(/MAX_PARAMS/);
    } finally {
      await small.close();
    }
  });

  it("too many layers: at model.config.layers, as the native spec at model.layers", async () => {
    const layers = Array.from({ length: 65 }, (_, i) => ({
      class_name: "Dense",
      config: { units: 2, ...(i === 0 ? { batch_input_shape: [null, 3] } : {}) },
    }));
    const res = await train({ class_name: "Sequential", config: { layers }, loss: "mse" });
    expect(res.statusCode).toBe(422);
    expect((res.json() as ProblemBody).errors).toEqual([
      { path: "model.config.layers", message: "Too big: expected array to have <=64 items" },
    ]);
    const native = await train({
      inputShape: [3],
      layers: layers.map(() => ({ type: "dense", units: 2 })),
      loss: "meanSquaredError",
    });
    expect((native.json() as ProblemBody).errors).toEqual([
      { path: "model.layers", message: "Too big: expected array to have <=64 items" },
    ]);
  });

  it("a misnamed manifest entry is the entry named, with the name expected there", async () => {
    const modelJson = structuredClone(converted.modelJson);
    const entries = modelJson.weightsManifest[0]!.weights;
    const right = entries[0]!.name; // tfjs' unique name, e.g. dense_Dense1/kernel
    entries[0]!.name = "foo/kernel";
    const res = await importJson(modelJson);
    expect(res.statusCode).toBe(422);
    const errors = (res.json() as ProblemBody).errors ?? [];
    expect(errors).toHaveLength(1);
    expect(errors[0]!.path).toBe("weightsManifest[0].weights[0].name");
    expect(errors[0]!.message).toBe(
      `weight "foo/kernel" is not named as the model's weight at its place: by layer order it is layer ${right.split("/")[0]}'s kernel, expected "${right}"`,
    );
  });

  it("Keras 2's BatchNormalization axis [3]; several axes refused at axis", async () => {
    const layers = (axis: unknown) => [
      { class_name: "InputLayer", config: { batch_input_shape: [null, 2, 2, 3] } },
      { class_name: "BatchNormalization", config: { axis } },
      { class_name: "Flatten", config: {} },
      { class_name: "Dense", config: { units: 2, activation: "softmax" } },
    ];
    const model = (axis: unknown) => ({
      class_name: "Sequential",
      config: { layers: layers(axis) },
      loss: "categorical_crossentropy",
    });
    const images = x.map((_, i) =>
      Array.from({ length: 2 }, (_, r) => Array.from({ length: 2 }, (_, c) => [i, r, c])),
    );
    const ok = await app.inject({
      method: "POST",
      url: "/train",
      payload: {
        model: model([3]),
        dataset: { x: images, y },
        optimizer: { type: "sgd", learningRate: 0.1 },
        epochs: 1,
      },
    });
    expect(ok.statusCode, ok.body).toBe(200);
    const two = await app.inject({
      method: "POST",
      url: "/train",
      payload: {
        model: model([1, 3]),
        dataset: { x: images, y },
        optimizer: { type: "sgd", learningRate: 0.1 },
        epochs: 1,
      },
    });
    expect(two.statusCode).toBe(422);
    expect((two.json() as ProblemBody).errors).toEqual([
      {
        path: "model.config.layers[1].config.axis",
        message:
          "BatchNormalization: axis [1,3] is not supported (one axis only, an integer or a list of one)",
      },
    ]);
  });

  it("an unknown loss lists the Keras names; an unknown loss option is named as written", async () => {
    const t = topology();
    const unknown = await train({ ...t, loss: "hinge_foo" });
    expect(unknown.statusCode).toBe(422);
    const [error] = (unknown.json() as ProblemBody).errors ?? [];
    expect(error!.path).toBe("model.loss");
    expect(error!.message).toMatch(
      /^unsupported loss "hinge_foo"; supported: mean_squared_error \(mse\), categorical_crossentropy, .*, cosine_proximity \(cosine_similarity\)$/,
    );
    const option = await train({
      ...t,
      training_config: {
        loss: {
          class_name: "SparseCategoricalCrossentropy",
          config: { from_logits: false, ignore_class: 1 },
        },
      },
    });
    expect(option.statusCode).toBe(422);
    expect((option.json() as ProblemBody).errors).toEqual([
      { path: "model.training_config.loss.config.ignore_class", message: 'Unrecognized key: "ignore_class"' },
    ]);
  });
});
