/**
 * The playground's model registry buttons in headless Chromium (as playground.test.ts): "Save
 * model" on a job's final weights shows the model the job stored, on uploaded weights it posts
 * a new one; the TensorFlow.js and ONNX downloads are checked byte by byte and loaded by their
 * real consumers (@tensorflow/tfjs, onnxruntime-node), which predict what /models/{id}/predict
 * does.
 */
import { mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import * as tf from "@tensorflow/tfjs";
import type { FastifyInstance } from "fastify";
import { onnx } from "onnx-proto";
import * as ort from "onnxruntime-node";
import type { Browser, Download, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { browserTestsRun, servePlayground } from "./chromium.js";

const RESULTS = join(import.meta.dirname, "..", "..", "test-results");

/** xor's four corners, the samples every consumer predicts. */
const CORNERS = [
  [0, 0],
  [0, 1],
  [1, 0],
  [1, 1],
];

/** The form's default model on xor: 2 → dense 8 tanh → dense 8 tanh → dense 2 softmax. */
const FORM_MODEL = {
  inputShape: [2],
  layers: [
    { type: "dense", units: 8, activation: "tanh" },
    { type: "dense", units: 8, activation: "tanh" },
    { type: "dense", units: 2, activation: "softmax" },
  ],
  loss: "sparseCategoricalCrossentropy",
};
/** Its parameters: (2·8 + 8) + (8·8 + 8) + (8·2 + 2). */
const FORM_PARAMETERS = 24 + 72 + 18;

/** Every value of `actual` within relative 1e-5 of `expected` (float32 rounding of the weights). */
function expectClose(actual: number[], expected: number[]): void {
  expect(actual).toHaveLength(expected.length);
  for (const [i, e] of expected.entries())
    expect(Math.abs(actual[i]! - e)).toBeLessThanOrEqual(1e-5 * Math.abs(e));
}

describe.skipIf(!browserTestsRun)("the playground's Save model and downloads, in headless Chromium", () => {
  let app: FastifyInstance;
  let browser: Browser;
  let base: string;

  beforeAll(async () => {
    mkdirSync(RESULTS, { recursive: true });
    ({ app, base, browser } = await servePlayground());
    await tf.setBackend("cpu");
  }, 40_000);

  afterAll(async () => {
    await browser?.close();
    await app?.close();
  });

  /** The page, with its errors, its requests to /models… and the downloads it starts. */
  async function open(): Promise<{ page: Page; errors: string[]; posts: string[]; downloads: Download[] }> {
    const page = await browser.newPage({ viewport: { width: 1440, height: 1000 } });
    page.setDefaultTimeout(15_000);
    const errors: string[] = [];
    const posts: string[] = [];
    const downloads: Download[] = [];
    page.on("pageerror", (err) => errors.push(err.message));
    page.on("request", (req) => {
      if (req.method() === "POST" && new URL(req.url()).pathname === "/models") posts.push(req.url());
    });
    page.on("download", (d) => downloads.push(d));
    await page.goto(`${base}/`);
    await page.waitForSelector("body[data-ready=true]");
    return { page, errors, posts, downloads };
  }

  /** What /models/{id}/predict answers on the corners, flat. */
  async function servicePredicts(id: string): Promise<number[]> {
    const res = await app.inject({ method: "POST", url: `/models/${id}/predict`, payload: { x: CORNERS } });
    expect(res.statusCode).toBe(200);
    return (res.json() as { outputs: number[][] }).outputs.flat();
  }

  it("trains xor, saves the job's model (no copy), downloads it for TensorFlow.js and ONNX; both load and predict as the service", async () => {
    const { page, errors, posts, downloads } = await open();
    await page.fill("#epochs", "40");
    const created = page.waitForResponse((r) => r.request().method() === "POST" && r.url().endsWith("/jobs"));
    await page.click("#train");
    const jobId = ((await (await created).json()) as { id: string }).id;
    await page.waitForSelector("#status[data-state=succeeded]");
    // the last frame on screen is the shadow's, bit-identical to the job's final weights
    await page.waitForSelector("#regions-note[data-verified=true]");
    const job = (await app.inject({ method: "GET", url: `/jobs/${jobId}` })).json() as {
      result: { modelId: string; weightsSha256: string };
    };
    const modelId = job.result.modelId;
    expect(modelId).toMatch(/^mdl_[\w-]{22}$/);

    expect(await page.isDisabled("#download-tfjs")).toBe(true);
    await page.click("#save-model");
    await page.waitForSelector("#model-info[data-model-id]");
    expect(await page.getAttribute("#model-info", "data-model-id")).toBe(modelId);
    expect(await page.textContent("#model-info")).toBe(
      `Model ${modelId}: the weights of epoch 40 of 40, stored by job ${jobId} when it succeeded. ` +
        `Predict with POST /models/${modelId}/predict {"x": […]}; ` +
        `train on from it with "initialWeights": {"modelId": "${modelId}"}.`,
    );
    expect(posts).toEqual([]); // the job's model is shown, not stored again

    // TensorFlow.js: model.json and weights.bin, as tfjs' downloads:// names them in its manifest
    await page.click("#download-tfjs");
    await expect.poll(() => downloads.length).toBe(2);
    expect(downloads.map((d) => d.suggestedFilename())).toEqual(["model.json", "weights.bin"]);
    const modelJson = JSON.parse(readFileSync((await downloads[0]!.path())!, "utf8")) as {
      format: string;
      modelTopology: object;
      weightsManifest: { paths: string[]; weights: tf.io.WeightsManifestEntry[] }[];
    };
    const bin = readFileSync((await downloads[1]!.path())!);
    expect(modelJson.format).toBe("layers-model");
    expect(modelJson.weightsManifest.flatMap((g) => g.paths)).toEqual(["weights.bin"]);
    const record = (await app.inject({ method: "GET", url: `/models/${modelId}` })).json() as {
      parameters: number;
      weightsSha256: string;
    };
    expect(record.parameters).toBe(FORM_PARAMETERS);
    expect(bin.length).toBe(4 * FORM_PARAMETERS); // float32
    // what tf.io.browserFiles([json, bin]) hands loadLayersModel: the topology, the manifest's specs, the bytes
    const loaded = await tf.loadLayersModel(
      tf.io.fromMemory({
        modelTopology: modelJson.modelTopology,
        weightSpecs: modelJson.weightsManifest.flatMap((g) => g.weights),
        weightData: bin.buffer.slice(bin.byteOffset, bin.byteOffset + bin.length),
      }),
    );
    const expected = await servicePredicts(modelId);
    const tfOut = loaded.predict(tf.tensor2d(CORNERS)) as tf.Tensor;
    expectClose([...(await tfOut.data())], expected);
    expect(expected.filter((_, i) => i % 2 === 1).map(Math.round)).toEqual([0, 1, 1, 0]); // it learned xor

    // ONNX: <id>.onnx, a ModelProto (field 1, ir_version, first) produced by this service
    await page.click("#download-onnx");
    await expect.poll(() => downloads.length).toBe(3);
    expect(downloads[2]!.suggestedFilename()).toBe(`${modelId}.onnx`);
    const bytes = readFileSync((await downloads[2]!.path())!);
    expect(bytes[0]).toBe(0x08);
    expect(onnx.ModelProto.decode(bytes).producerName).toBe("backprop-service");
    const session = await ort.InferenceSession.create(bytes);
    const feeds = {
      [session.inputNames[0]!]: new ort.Tensor("float32", Float32Array.from(CORNERS.flat()), [4, 2]),
    };
    const onnxOut = (await session.run(feeds))[session.outputNames[0]!]!;
    expectClose([...(onnxOut.data as Float32Array)], expected);
    expect(await page.isHidden("#model-error")).toBe(true);
    await page.screenshot({ path: join(RESULTS, "playground-models.png"), fullPage: true });

    // the same weights, downloaded as JSON and uploaded: Save model stores them as a new model
    await page.click("#download-weights");
    await expect.poll(() => downloads.length).toBe(4);
    await page.setInputFiles("#upload-weights", (await downloads[3]!.path())!);
    await page.waitForSelector("#frame-label:has-text('uploaded weights')");
    const posted = page.waitForResponse(
      (r) => r.request().method() === "POST" && r.url().endsWith("/models"),
    );
    await page.click("#save-model");
    const answer = await posted;
    expect(answer.status()).toBe(201);
    const body = answer.request().postDataJSON() as { model: unknown; weights: Record<string, unknown> };
    expect(body.model).toEqual(FORM_MODEL);
    expect(Object.keys(body.weights).sort()).toEqual([
      "dense_0/bias",
      "dense_0/kernel",
      "dense_1/bias",
      "dense_1/kernel",
      "dense_2/bias",
      "dense_2/kernel",
    ]);
    const newId = ((await answer.json()) as { id: string }).id;
    expect(newId).not.toBe(modelId);
    await page.waitForSelector(`#model-info[data-model-id="${newId}"]`);
    expect(await page.textContent("#model-info")).toContain(
      `Model ${newId}: the uploaded weights, stored with POST /models.`,
    );
    // JSON carries float64 exactly: the new model holds the job's weights bit for bit
    const copy = (await app.inject({ method: "GET", url: `/models/${newId}` })).json() as {
      weightsSha256: string;
    };
    expect(copy.weightsSha256).toBe(job.result.weightsSha256);
    expect(record.weightsSha256).toBe(job.result.weightsSha256);
    // saving the same weights again shows the same model
    await page.click("#save-model");
    await page.waitForSelector("#save-model:not([disabled])");
    expect(posts).toHaveLength(1);

    expect(errors).toEqual([]);
    await page.close();
  }, 90_000);

  it("on iris (no regions) the job's final weights are its model; an export the format refuses is the panel's error, nothing saved", async () => {
    const { page, errors, posts, downloads } = await open();
    await page.selectOption("#dataset", "builtin:iris");
    await page.fill("#epochs", "10");
    const created = page.waitForResponse((r) => r.request().method() === "POST" && r.url().endsWith("/jobs"));
    await page.click("#train");
    const jobId = ((await (await created).json()) as { id: string }).id;
    await page.waitForSelector("#status[data-state=succeeded]");
    const job = (await app.inject({ method: "GET", url: `/jobs/${jobId}` })).json() as {
      result: { modelId: string };
    };
    await page.click("#save-model");
    await page.waitForSelector(`#model-info[data-model-id="${job.result.modelId}"]`);
    expect(await page.textContent("#model-info")).toContain(
      `: the job's final weights, stored by job ${jobId} when it succeeded.`,
    );
    expect(posts).toEqual([]);

    // A model tfjs cannot express (an ELU of alpha 0.5) answers the export with a 422; the
    // page's request for its model's model.json is answered with that model's real answer.
    const train = await app.inject({
      method: "POST",
      url: "/train",
      payload: {
        model: {
          inputShape: [2],
          layers: [
            { type: "dense", units: 2 },
            { type: "elu", alpha: 0.5 },
            { type: "dense", units: 2, activation: "softmax" },
          ],
          loss: "sparseCategoricalCrossentropy",
        },
        dataset: { name: "xor" },
        optimizer: { type: "sgd", learningRate: 0.1 },
        epochs: 1,
        saveModel: true,
      },
    });
    const refusedId = (train.json() as { modelId: string }).modelId;
    const refused = await app.inject({ method: "GET", url: `/models/${refusedId}/tfjs/model.json` });
    expect(refused.statusCode).toBe(422);
    const problem = refused.json() as { errors: { path: string; message: string }[] };
    expect(problem.errors.map((e) => e.path)).toEqual(["model.layers[1].alpha"]);
    const path = `/models/${job.result.modelId}/tfjs/model.json`;
    await page.route(`${base}${path}`, async (route) =>
      route.fulfill({ response: await route.fetch({ url: `${base}/models/${refusedId}/tfjs/model.json` }) }),
    );
    await page.click("#download-tfjs");
    await page.waitForSelector("#model-error:not([hidden])");
    expect(await page.textContent("#model-error")).toBe(
      `GET ${path} → 422: model.layers[1].alpha: ${problem.errors[0]!.message}`,
    );
    expect(downloads).toEqual([]);
    expect(await page.isDisabled("#download-tfjs")).toBe(false); // ready for another try
    // the page's own error box stays for the form
    expect(await page.isHidden("#error")).toBe(true);

    await page.unroute(`${base}${path}`);
    await page.click("#download-tfjs");
    await expect.poll(() => downloads.length).toBe(2);
    expect(await page.isHidden("#model-error")).toBe(true);
    expect(errors).toEqual([]);
    await page.close();
  }, 60_000);
});
