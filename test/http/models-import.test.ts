/**
 * POST /models: a model saved by TensorFlow.js itself is imported (multipart and JSON), predicts
 * what tfjs does, trains one epoch from its stored weights (`model` and `initialWeights` by id)
 * and loads in tfjs again; a Keras topology as `model`; the error cases, each naming its part or field.
 */
import * as tf from "@tensorflow/tfjs";
import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { maxRelativeError, tfReady } from "../engine/tfjs-reference.js";
import { buildTestApp, type ProblemBody } from "./helper.js";
import { trainThrough } from "./models-helpers.js";

/** A model.json and its weights as TensorFlow.js' own `model.save` writes them. */
async function savedByTfjs(): Promise<{
  modelJson: Record<string, unknown>;
  weights: Uint8Array;
  model: tf.Sequential;
}> {
  await tfReady();
  const model = tf.sequential({
    layers: [
      tf.layers.dense({
        inputShape: [3],
        units: 5,
        activation: "relu",
        kernelInitializer: tf.initializers.glorotUniform({ seed: 1 }),
      }),
      tf.layers.batchNormalization(),
      tf.layers.dense({
        units: 2,
        activation: "softmax",
        kernelInitializer: tf.initializers.glorotUniform({ seed: 2 }),
      }),
    ],
  });
  model.compile({ loss: "categoricalCrossentropy", optimizer: "sgd" });
  // A plain save keeps no training config (only with includeOptimizer, which adds the optimiser's
  // weights): the loss travels in the metadata, where the import reads it.
  model.setUserDefinedMetadata({ loss: "categoricalCrossentropy" });
  let saved: tf.io.ModelArtifacts | undefined;
  await model.save(
    tf.io.withSaveHandler(async (artifacts) => {
      saved = artifacts;
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: "JSON" } };
    }),
  );
  if (!saved?.weightData || !saved.weightSpecs) throw new Error("tfjs saved nothing");
  const modelJson = {
    format: "layers-model",
    generatedBy: saved.generatedBy,
    convertedBy: saved.convertedBy ?? null,
    modelTopology: saved.modelTopology,
    userDefinedMetadata: saved.userDefinedMetadata,
    weightsManifest: [{ paths: ["weights.bin"], weights: saved.weightSpecs }],
  };
  const data = saved.weightData as ArrayBuffer;
  return { modelJson, weights: new Uint8Array(data), model };
}

describe("importing a model saved by TensorFlow.js", () => {
  let app: FastifyInstance;
  let base: string;
  let saved: Awaited<ReturnType<typeof savedByTfjs>>;
  const x = [
    [0.5, -1, 2],
    [1, 1, -0.25],
    [-2, 0.75, 0.1],
  ];

  beforeAll(async () => {
    app = await buildTestApp({ BODY_LIMIT: "65536" });
    await app.listen({ host: "127.0.0.1", port: 0 });
    const address = app.server.address();
    if (typeof address !== "object" || address === null) throw new Error("not listening");
    base = `http://127.0.0.1:${address.port}`;
    saved = await savedByTfjs();
  });
  afterAll(async () => {
    await app.close();
  });

  function form(parts: Record<string, string | Uint8Array>): FormData {
    const f = new FormData();
    for (const [name, value] of Object.entries(parts)) f.append(name, new Blob([value]), name);
    return f;
  }

  async function post(body: FormData): Promise<{ status: number; json: Record<string, unknown> }> {
    const res = await fetch(`${base}/models`, { method: "POST", body });
    return { status: res.status, json: (await res.json()) as Record<string, unknown> };
  }

  it("imports it (multipart and JSON), and it predicts what tfjs does", async () => {
    const multipart = await post(
      form({ "model.json": JSON.stringify(saved.modelJson), "weights.bin": saved.weights }),
    );
    expect(multipart.status, JSON.stringify(multipart.json)).toBe(201);
    const json = await app.inject({
      method: "POST",
      url: "/models",
      payload: { ...saved.modelJson, weightData: Buffer.from(saved.weights).toString("base64") },
    });
    expect(json.statusCode, json.body).toBe(201);
    const expected = (saved.model.predict(tf.tensor(x)) as tf.Tensor).dataSync();
    for (const id of [multipart.json.id, json.json().id]) {
      const model = (await app.inject({ method: "GET", url: `/models/${id}` })).json();
      expect(model.spec.loss).toBe("categoricalCrossentropy");
      expect(model.spec.layers.map((l: { type: string }) => l.type)).toEqual([
        "dense",
        "batchNormalization",
        "dense",
      ]);
      const res = await app.inject({ method: "POST", url: `/models/${id}/predict`, payload: { x } });
      expect(res.statusCode).toBe(200);
      const ours = (res.json().outputs as number[][]).flat();
      expect(maxRelativeError(ours, expected)).toBeLessThan(1e-5);
    }
  });

  it("accepts the part names tfjs' http save handler uses (model.weights.bin)", async () => {
    const res = await post(
      form({ "model.json": JSON.stringify(saved.modelJson), "model.weights.bin": saved.weights }),
    );
    expect(res.status).toBe(201);
  });

  it("trains it one epoch by id (model and initialWeights), and the result loads in tfjs again", async () => {
    const imported = await post(
      form({ "model.json": JSON.stringify(saved.modelJson), "weights.bin": saved.weights }),
    );
    const id = imported.json.id as string;
    const dataset = {
      x,
      y: [
        [1, 0],
        [0, 1],
        [1, 0],
      ],
    };
    const body = {
      model: { modelId: id },
      initialWeights: { modelId: id },
      dataset,
      optimizer: { type: "sgd", learningRate: 0.1 },
      epochs: 1,
      seed: 3,
      saveModel: true,
    };
    const trained = await trainThrough(app, body);
    const next = trained.modelId!;
    const stored = (await app.inject({ method: "GET", url: `/models/${next}` })).json();
    // The saved model records the spec it ran with, not the reference the request gave.
    expect(stored).toMatchObject({
      source: "train",
      spec: (await app.inject({ method: "GET", url: `/models/${id}` })).json().spec,
    });
    expect(stored.weightsSha256).toBe((trained as unknown as { weightsSha256: string }).weightsSha256);
    const model = await tf.loadLayersModel(`${base}/models/${next}/tfjs/model.json`);
    const tfjsOut = (model.predict(tf.tensor(x)) as tf.Tensor).dataSync();
    const ours = (
      (await app.inject({ method: "POST", url: `/models/${next}/predict`, payload: { x } })).json()
        .outputs as number[][]
    ).flat();
    expect(maxRelativeError(ours, tfjsOut)).toBeLessThan(1e-5);
    // One epoch moved the weights.
    const before = (await app.inject({ method: "POST", url: `/models/${id}/predict`, payload: { x } })).json()
      .outputs;
    expect(ours).not.toEqual(before.flat());
  });

  it("takes the Keras topology itself as `model` in /predict and /train (a loss beside class_name to train it)", async () => {
    const topology = saved.modelJson.modelTopology as Record<string, unknown>;
    const imported = await post(
      form({ "model.json": JSON.stringify(saved.modelJson), "weights.bin": saved.weights }),
    );
    const stored = (await app.inject({ method: "GET", url: `/models/${imported.json.id}` })).json();
    const weights = (
      await app.inject({
        method: "POST",
        url: "/train",
        payload: {
          model: { modelId: stored.id },
          initialWeights: { modelId: stored.id },
          dataset: {
            x,
            y: [
              [1, 0],
              [0, 1],
              [1, 0],
            ],
          },
          optimizer: { type: "sgd", learningRate: 0 },
          epochs: 1,
        },
      })
    ).json().weights;
    const keras = await app.inject({
      method: "POST",
      url: "/predict",
      payload: { model: topology, weights, x },
    });
    expect(keras.statusCode, keras.body).toBe(200);
    const bySpec = await app.inject({
      method: "POST",
      url: "/predict",
      payload: { model: stored.spec, weights, x },
    });
    expect(keras.json()).toEqual(bySpec.json());
    const noLoss = await app.inject({
      method: "POST",
      url: "/train",
      payload: {
        model: topology,
        dataset: {
          x,
          y: [
            [1, 0],
            [0, 1],
            [1, 0],
          ],
        },
        optimizer: { type: "sgd", learningRate: 0.1 },
        epochs: 1,
      },
    });
    expect(noLoss.statusCode).toBe(422);
    expect((noLoss.json() as ProblemBody).errors?.[0]?.path).toBe("model.loss");
    const withLoss = await app.inject({
      method: "POST",
      url: "/train",
      payload: {
        model: { ...topology, loss: "categorical_crossentropy" },
        dataset: {
          x,
          y: [
            [1, 0],
            [0, 1],
            [1, 0],
          ],
        },
        optimizer: { type: "sgd", learningRate: 0.1 },
        epochs: 1,
      },
    });
    expect(withLoss.statusCode, withLoss.body).toBe(200);
  });

  it("names the layer of an unsupported class_name, in /models and in /train", async () => {
    const topology = structuredClone(saved.modelJson.modelTopology) as {
      config: { layers: { class_name: string }[] };
    };
    topology.config.layers.push({ class_name: "ConvLSTM2D", config: { units: 2 } } as never);
    const res = await app.inject({
      method: "POST",
      url: "/models",
      payload: {
        ...saved.modelJson,
        modelTopology: topology,
        weightData: Buffer.from(saved.weights).toString("base64"),
      },
    });
    expect(res.statusCode).toBe(422);
    expect((res.json() as ProblemBody).errors?.[0]?.path).toBe("modelTopology.config.layers[3].class_name");
    const train = await app.inject({
      method: "POST",
      url: "/train",
      payload: {
        model: { ...topology, loss: "mse" },
        dataset: {
          x,
          y: [
            [1, 0],
            [0, 1],
            [1, 0],
          ],
        },
        optimizer: { type: "sgd", learningRate: 0.1 },
        epochs: 1,
      },
    });
    expect(train.statusCode).toBe(422);
    const error = (train.json() as ProblemBody).errors?.[0];
    expect(error?.path).toBe("model.config.layers[3].class_name");
    expect(error?.message).toMatch(/Dense/);
  });

  it("names the missing part, a model.json that is not JSON, an unknown part", async () => {
    const missing = await post(form({ "model.json": JSON.stringify(saved.modelJson) }));
    expect(missing.status).toBe(400);
    expect((missing.json as unknown as ProblemBody).errors).toEqual([
      {
        path: "weights.bin",
        message:
          'required part is missing (the weights\' bytes, float32 little-endian; tfjs names it "model.weights.bin")',
      },
    ]);
    const noModel = await post(form({ "weights.bin": saved.weights }));
    expect(noModel.status).toBe(400);
    expect((noModel.json as unknown as ProblemBody).errors?.[0]?.path).toBe("model.json");
    const notJson = await post(form({ "model.json": "{ not json", "weights.bin": saved.weights }));
    expect(notJson.status).toBe(400);
    expect((notJson.json as unknown as ProblemBody).errors?.[0]?.path).toBe("model.json");
    expect((notJson.json as unknown as ProblemBody).errors?.[0]?.message).toMatch(/^not JSON/);
    const unknown = await post(
      form({ "model.json": JSON.stringify(saved.modelJson), "weights.bin": saved.weights, "extra.bin": "x" }),
    );
    expect(unknown.status).toBe(400);
    expect((unknown.json as unknown as ProblemBody).errors?.[0]?.path).toBe("extra.bin");
  });

  it("takes multipart only on POST /models; a Keras topology without a loss is refused by /jobs too", async () => {
    const train = await fetch(`${base}/train`, { method: "POST", body: form({ "model.json": "{}" }) });
    expect(train.status).toBe(415);
    const job = await app.inject({
      method: "POST",
      url: "/jobs",
      payload: {
        model: saved.modelJson.modelTopology,
        dataset: { name: "xor" },
        optimizer: { type: "sgd", learningRate: 0.1 },
        epochs: 1,
      },
    });
    expect(job.statusCode).toBe(422);
    expect((job.json() as ProblemBody).errors?.[0]?.path).toBe("model.loss");
  });

  it("answers a multipart body it cannot read with 400 naming the root, not 500", async () => {
    for (const [type, payload] of [
      ["multipart/form-data", "abc"],
      ["multipart/form-data; boundary=XYZ", "abc"],
      [
        "multipart/form-data; boundary=XYZ",
        '--XYZ\r\nContent-Disposition: form-data; name="model.json"\r\n\r\n{}',
      ],
    ]) {
      const res = await app.inject({
        method: "POST",
        url: "/models",
        headers: { "content-type": type! },
        payload,
      });
      expect(res.statusCode, `${type}: ${res.body}`).toBe(400);
      const error = (res.json() as ProblemBody).errors?.[0];
      expect(error?.path).toBe("");
      expect(error?.message).toMatch(/^malformed multipart\/form-data body: /);
    }
  });

  it("refuses a part over BODY_LIMIT with 413 naming it", async () => {
    const res = await post(
      form({ "model.json": JSON.stringify(saved.modelJson), "weights.bin": new Uint8Array(70_000) }),
    );
    expect(res.status).toBe(413);
    expect((res.json as unknown as ProblemBody).errors).toEqual([
      { path: "weights.bin", message: "the part is larger than 65536 bytes (BODY_LIMIT)" },
    ]);
  });

  it("names bad base64 and weights of the wrong size", async () => {
    const bad = await app.inject({
      method: "POST",
      url: "/models",
      payload: { ...saved.modelJson, weightData: "not*base64" },
    });
    expect(bad.statusCode).toBe(400);
    expect((bad.json() as ProblemBody).errors?.[0]?.path).toBe("weightData");
    const short = await app.inject({
      method: "POST",
      url: "/models",
      payload: { ...saved.modelJson, weightData: Buffer.from(saved.weights.slice(0, 8)).toString("base64") },
    });
    expect(short.statusCode).toBe(422);
    expect((short.json() as ProblemBody).errors?.[0]?.path).toBe("weightData");
  });
});
