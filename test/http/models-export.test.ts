/**
 * Exported models loaded by their real consumers, over HTTP from the app: TensorFlow.js'
 * `loadLayersModel` on `/models/{id}/tfjs/model.json` (the API key in `requestInit`) and
 * onnxruntime-node on `/models/{id}/onnx`. Models trained through the service, covering every
 * layer kind, predict what `/models/{id}/predict` answers within relative 1e-5 (the formats hold
 * float32). Export → import → export gives the same bytes.
 */
import * as tf from "@tensorflow/tfjs";
import type { FastifyInstance } from "fastify";
import * as ort from "onnxruntime-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ModelSpec } from "../../src/engine/index.js";
import { maxRelativeError, tfReady } from "../engine/tfjs-reference.js";
import { ACTIVATIONS, CNN, MLP } from "../service/models/tfjs-models.js";
import { rng, samples } from "../service/onnx/helpers.js";
import { buildTestApp } from "./helper.js";
import { trainThrough } from "./models-helpers.js";

const KEY = "key-export-0123456789abcdef";
const headers = { "x-api-key": KEY };

/** A training body for `spec`: `n` samples in [−2, 2], targets its loss takes, a few epochs of adam. */
function trainingBody(spec: ModelSpec, seed: number) {
  const n = 16;
  const x = Array.from(samples(spec.inputShape, n, seed));
  const size = spec.inputShape.reduce((a, b) => a * b, 1);
  const r = rng(seed + 5);
  const classes = 3;
  const loss = typeof spec.loss === "string" ? spec.loss : spec.loss.type;
  const y = Array.from({ length: n }, () => {
    const k = Math.floor(r() * classes);
    if (loss === "sparseCategoricalCrossentropy") return k;
    if (loss === "categoricalCrossentropy")
      return Array.from({ length: classes }, (_, j) => (j === k ? 1 : 0));
    return k % 2;
  });
  return {
    model: spec,
    dataset: { x: Array.from({ length: n }, (_, i) => x.slice(i * size, (i + 1) * size)), y },
    optimizer: { type: "adam", learningRate: 0.01 },
    epochs: 3,
    batchSize: 4,
    seed,
  };
}

const MODELS: [string, ModelSpec][] = [
  ["a CNN (conv2d, zeroPadding2d, both poolings, batchNormalization, prelu, flatten, dense, dropout)", CNN],
  [
    "global max pooling, reshape, leakyReLU, prelu, elu, layerNormalization, activation, softmax",
    ACTIVATIONS,
  ],
  ["an MLP (reshape with -1, layerNormalization over two axes, globalAveragePooling2d)", MLP],
  [
    "a recurrent model (bidirectional lstm with sequences, gru going backwards, dense)",
    {
      inputShape: [5, 2],
      layers: [
        { type: "bidirectional", layer: { type: "lstm", units: 3, returnSequences: true } },
        { type: "gru", units: 2, goBackwards: true },
        { type: "dense", units: 3, activation: "softmax" },
      ],
      loss: "categoricalCrossentropy",
    },
  ],
];

describe("exported models, loaded from the app over HTTP", () => {
  let app: FastifyInstance;
  let base: string;

  beforeAll(async () => {
    app = await buildTestApp({ API_KEYS: KEY });
    await app.listen({ host: "127.0.0.1", port: 0 });
    const address = app.server.address();
    if (typeof address !== "object" || address === null) throw new Error("not listening");
    base = `http://127.0.0.1:${address.port}`;
    await tfReady();
  });
  afterAll(async () => {
    await app.close();
  });

  /** Trains `spec` through /train with `saveModel`; the stored model's id. */
  async function trained(spec: ModelSpec, seed: number): Promise<string> {
    const answer = await trainThrough(app, { ...trainingBody(spec, seed), saveModel: true }, headers);
    expect(answer.modelId).toMatch(/^mdl_/);
    return answer.modelId!;
  }

  async function servicePredict(id: string, spec: ModelSpec, x: Float64Array, n: number): Promise<number[]> {
    const size = spec.inputShape.reduce((a, b) => a * b, 1);
    const rows = Array.from({ length: n }, (_, i) => Array.from(x.slice(i * size, (i + 1) * size)));
    const res = await app.inject({
      method: "POST",
      url: `/models/${id}/predict`,
      payload: { x: rows },
      headers,
    });
    expect(res.statusCode, res.body).toBe(200);
    return (res.json().outputs as unknown[]).flat(4) as number[];
  }

  it.each(MODELS)(
    "%s: tf.loadLayersModel and onnxruntime predict what /models/{id}/predict does",
    async (_, spec) => {
      const id = await trained(spec, 21);
      const n = 6;
      const x = samples(spec.inputShape, n, 99);
      const expected = await servicePredict(id, spec, x, n);

      const model = await tf.loadLayersModel(`${base}/models/${id}/tfjs/model.json`, {
        requestInit: { headers },
      });
      const input = tf.tensor(Float32Array.from(x), [n, ...spec.inputShape]);
      const tfjsOut = (model.predict(input) as tf.Tensor).dataSync();
      input.dispose();
      expect(tfjsOut.length).toBe(expected.length);
      expect(maxRelativeError(expected, tfjsOut)).toBeLessThan(1e-5);

      const onnx = await fetch(`${base}/models/${id}/onnx`, { headers });
      expect(onnx.status).toBe(200);
      expect(onnx.headers.get("content-type")).toBe("application/octet-stream");
      expect(onnx.headers.get("content-disposition")).toBe(`attachment; filename="${id}.onnx"`);
      const session = await ort.InferenceSession.create(new Uint8Array(await onnx.arrayBuffer()));
      const out = await session.run({
        input: new ort.Tensor("float32", Float32Array.from(x), [n, ...spec.inputShape]),
      });
      await session.release();
      const onnxOut = out.output!.data as Float32Array;
      expect(onnxOut.length).toBe(expected.length);
      expect(maxRelativeError(expected, onnxOut)).toBeLessThan(1e-5);
      // Not a constant model: the samples' outputs differ.
      const k = expected.length / n;
      expect(new Set(Array.from({ length: n }, (_, s) => expected[s * k]!.toFixed(6))).size).toBeGreaterThan(
        1,
      );
    },
  );

  it("export → import (multipart, and JSON) → export gives byte-identical files", async () => {
    const id = await trained(CNN, 5);
    const json1 = await (await fetch(`${base}/models/${id}/tfjs/model.json`, { headers })).text();
    const bin1 = new Uint8Array(
      await (await fetch(`${base}/models/${id}/tfjs/weights.bin`, { headers })).arrayBuffer(),
    );
    const onnx1 = new Uint8Array(await (await fetch(`${base}/models/${id}/onnx`, { headers })).arrayBuffer());

    const form = new FormData();
    form.append("model.json", new Blob([json1], { type: "application/json" }), "model.json");
    form.append("weights.bin", new Blob([bin1], { type: "application/octet-stream" }), "weights.bin");
    const multipart = await fetch(`${base}/models`, { method: "POST", body: form, headers });
    expect(multipart.status, await multipart.clone().text()).toBe(201);
    const imported = (await multipart.json()) as { id: string; source: string; spec: ModelSpec };
    expect(imported.source).toBe("import");
    expect(multipart.headers.get("location")).toBe(`/models/${imported.id}`);

    const viaJson = await app.inject({
      method: "POST",
      url: "/models",
      headers,
      payload: { ...JSON.parse(json1), weightData: Buffer.from(bin1).toString("base64") },
    });
    expect(viaJson.statusCode, viaJson.body).toBe(201);

    for (const again of [imported.id, viaJson.json().id as string]) {
      const json2 = await (await fetch(`${base}/models/${again}/tfjs/model.json`, { headers })).text();
      const bin2 = new Uint8Array(
        await (await fetch(`${base}/models/${again}/tfjs/weights.bin`, { headers })).arrayBuffer(),
      );
      const onnx2 = new Uint8Array(
        await (await fetch(`${base}/models/${again}/onnx`, { headers })).arrayBuffer(),
      );
      expect(json2).toBe(json1);
      expect(Buffer.compare(Buffer.from(bin2), Buffer.from(bin1))).toBe(0);
      expect(Buffer.compare(Buffer.from(onnx2), Buffer.from(onnx1))).toBe(0);
    }
  });
});
