/**
 * What a stored model remembers: whether it came with a loss (an import without one is not trained
 * by id until a loss is named, `{ modelId, loss }`), and the model a run started from
 * (`baseModelId`). Stored weights that do not fit the request's model are reported at
 * `initialWeights.modelId`, the field the client sent.
 */
import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildTestApp, type ProblemBody, waitForJob } from "./helper.js";
import { denseImport } from "./models-helpers.js";

const { topology, manifest, weightBytes } = denseImport;

const data = {
  x: [
    [1, 0],
    [0, 1],
    [1, 1],
  ],
  y: [
    [1, 2],
    [0, 0],
    [1, 1],
  ],
};

describe("a model imported without a loss", () => {
  let app: FastifyInstance;
  let id: string;
  const post = (url: string, payload: unknown) =>
    app.inject({ method: "POST", url, payload: payload as object });
  const problem = (res: { json: () => unknown }) => res.json() as ProblemBody;

  beforeAll(async () => {
    app = await buildTestApp();
    const res = await post("/models", {
      format: "layers-model",
      modelTopology: topology,
      weightsManifest: manifest,
      weightData: weightBytes.toString("base64"),
    });
    expect(res.statusCode).toBe(201);
    id = res.json().id;
  });
  afterAll(async () => {
    await app.close();
  });

  it("shows lossGiven false and no base model; predicts by id", async () => {
    const view = (await app.inject({ method: "GET", url: `/models/${id}` })).json();
    expect(view).toMatchObject({ source: "import", lossGiven: false, baseModelId: null });
    const res = await post(`/models/${id}/predict`, { x: [[1, 1]] });
    expect(res.statusCode).toBe(200);
    // [1, 1]·kernel + bias = [1 − 0.5 + 0.5, 2 + 0.25 − 1]
    expect(res.json().outputs).toEqual([[1, 1.25]]);
  });

  it("shows no loss and exports without one, so it comes back without one (same bytes)", async () => {
    const view = (await app.inject({ method: "GET", url: `/models/${id}` })).json();
    expect(view.spec).not.toHaveProperty("loss");
    const json = (await app.inject({ method: "GET", url: `/models/${id}/tfjs/model.json` })).json();
    expect(json).not.toHaveProperty("trainingConfig");
    expect(json).not.toHaveProperty("userDefinedMetadata");
    const bin = (await app.inject({ method: "GET", url: `/models/${id}/tfjs/weights.bin` })).rawPayload;
    const again = await post("/models", { ...json, weightData: bin.toString("base64") });
    expect(again.statusCode).toBe(201);
    expect(again.json()).toMatchObject({ lossGiven: false });
    const json2 = await app.inject({ method: "GET", url: `/models/${again.json().id}/tfjs/model.json` });
    expect(json2.body).toBe(JSON.stringify(json));
  });

  it("keeps an import's tfjs optimiser and writes it back; a trained model's export names its own", async () => {
    const adam = {
      class_name: "Adam",
      config: { learning_rate: 0.02, beta1: 0.8, beta2: 0.99, epsilon: 1e-7 },
    };
    const imported = await post("/models", {
      format: "layers-model",
      modelTopology: topology,
      weightsManifest: manifest,
      weightData: weightBytes.toString("base64"),
      trainingConfig: { loss: "mean_squared_error", metrics: null, optimizer_config: adam },
    });
    expect(imported.statusCode).toBe(201);
    const exported = (
      await app.inject({ method: "GET", url: `/models/${imported.json().id}/tfjs/model.json` })
    ).json();
    expect(exported.trainingConfig).toEqual({
      loss: "mean_squared_error",
      metrics: null,
      optimizer_config: adam,
    });
    const trained = await post("/train", {
      model: { modelId: id, loss: "meanSquaredError" },
      initialWeights: { modelId: id },
      dataset: data,
      optimizer: { type: "adam", learningRate: 0.01 },
      epochs: 1,
      saveModel: true,
    });
    expect(trained.statusCode).toBe(200);
    const its = (
      await app.inject({ method: "GET", url: `/models/${trained.json().modelId}/tfjs/model.json` })
    ).json();
    expect(its.trainingConfig.optimizer_config).toMatchObject({
      class_name: "Adam",
      config: { learning_rate: 0.01 },
    });
  });

  it("is a 422 at model.loss when trained by id without a loss, on /train and /jobs", async () => {
    const body = {
      model: { modelId: id },
      dataset: data,
      optimizer: { type: "sgd", learningRate: 0.1 },
      epochs: 1,
    };
    for (const url of ["/train", "/jobs"]) {
      const res = await post(url, body);
      expect(res.statusCode).toBe(422);
      const err = problem(res).errors?.[0];
      expect(err?.path).toBe("model.loss");
      expect(err?.message).toMatch(
        new RegExp(`^model ${id} was imported without a loss: name one, \\{ "modelId"`),
      );
    }
  });

  it("needs a loss for gradients too: at model.loss on /gradients, at loss on /models/{id}/gradients", async () => {
    const byRef = await post("/gradients", { model: { modelId: id }, x: [1, 1], y: [0, 0] });
    expect(byRef.statusCode).toBe(422);
    expect(problem(byRef).errors?.[0]?.path).toBe("model.loss");
    const byPath = await post(`/models/${id}/gradients`, { x: [1, 1], y: [0, 0] });
    expect(byPath.statusCode).toBe(422);
    expect(problem(byPath).errors?.[0]?.path).toBe("loss");
    for (const [url, body] of [
      [`/models/${id}/gradients`, { x: [1, 1], y: [0, 0], loss: "meanSquaredError" }],
      ["/gradients", { model: { modelId: id, loss: "meanSquaredError" }, x: [1, 1], y: [0, 0] }],
    ] as const) {
      const res = await post(url, body);
      expect(res.statusCode).toBe(200);
      // Output [1, 1.25], target 0: ∂L/∂b = 2(y − t)/2 for the mean over 2 outputs.
      expect(res.json().gradients["dense_Dense1/bias"]).toEqual([1, 1.25]);
    }
  });

  it("trains with { modelId, loss }, and the saved model records its base and its loss", async () => {
    const res = await post("/train", {
      model: { modelId: id, loss: "meanSquaredError" },
      initialWeights: { modelId: id },
      dataset: data,
      optimizer: { type: "sgd", learningRate: 0.1 },
      epochs: 1,
      batchSize: 3,
      saveModel: true,
    });
    expect(res.statusCode).toBe(200);
    const saved = (await app.inject({ method: "GET", url: `/models/${res.json().modelId}` })).json();
    expect(saved).toMatchObject({ source: "train", lossGiven: true, baseModelId: id });
    expect(saved.spec.loss).toBe("meanSquaredError");
    // One full-batch SGD step from the imported weights: the bias moves by −0.1·∂L/∂b, with
    // L = mean over 3 samples and 2 outputs of (y − t)²: ∂L/∂b = Σ 2(y − t) / 6.
    // Outputs: [1.5, 1], [0, -0.75], [1, 1.25]; errors: [0.5, -1], [0, -0.75], [0, 0.25].
    const b = res.json().weights["dense_Dense1/bias"];
    expect(b[0]).toBeCloseTo(0.5 - (0.1 * 2 * 0.5) / 6, 12);
    expect(b[1]).toBeCloseTo(-1 - (0.1 * 2 * -1.5) / 6, 12);
  });

  it("a job by id records its base model; the architecture alone names none", async () => {
    const fresh = await post("/train", {
      model: { modelId: id, loss: "meanAbsoluteError" },
      dataset: data,
      optimizer: { type: "sgd", learningRate: 0.1 },
      epochs: 1,
      seed: 3,
      saveModel: true,
    });
    expect(fresh.statusCode).toBe(200);
    const unrelated = (await app.inject({ method: "GET", url: `/models/${fresh.json().modelId}` })).json();
    expect(unrelated).toMatchObject({ source: "train", baseModelId: null });
    const created = await post("/jobs", {
      model: { modelId: id, loss: "meanAbsoluteError" },
      initialWeights: { modelId: id },
      dataset: data,
      optimizer: { type: "sgd", learningRate: 0.1 },
      epochs: 1,
      seed: 3,
    });
    expect(created.statusCode).toBe(202);
    const job = await waitForJob(app, created.json().id);
    expect(job.status).toBe("succeeded");
    const saved = (await app.inject({ method: "GET", url: `/models/${job.modelId}` })).json();
    expect(saved).toMatchObject({ source: "job", baseModelId: id, lossGiven: true });
    expect(saved.spec.loss).toBe("meanAbsoluteError");
  });

  it("lists and deletes page by page: next still leads on once the models listed are deleted", async () => {
    const all = (await app.inject({ method: "GET", url: "/models?limit=100" })).json().models;
    expect(all.length).toBeGreaterThanOrEqual(3);
    const seen: string[] = [];
    let url: string | null = "/models?limit=1";
    while (url) {
      const page: { models: { id: string }[]; next: string | null } = (
        await app.inject({ method: "GET", url })
      ).json();
      for (const m of page.models) {
        seen.push(m.id);
        expect((await app.inject({ method: "DELETE", url: `/models/${m.id}` })).statusCode).toBe(204);
      }
      url = page.next;
    }
    expect(seen).toEqual(all.map((m: { id: string }) => m.id));
    const both = await app.inject({ method: "GET", url: `/models?after=${id}&cursor=3` });
    expect(both.statusCode).toBe(400);
    expect((both.json() as ProblemBody).errors).toEqual([
      { path: "querystring.cursor", message: "not with after: give one of them" },
    ]);
    // Put the import back for the tests after this one.
    const again = await post("/models", {
      format: "layers-model",
      modelTopology: topology,
      weightsManifest: manifest,
      weightData: weightBytes.toString("base64"),
    });
    id = again.json().id;
  });

  it("reports stored weights of other names at initialWeights.modelId, with both names", async () => {
    const res = await post("/train", {
      model: { inputShape: [2], layers: [{ type: "dense", units: 2 }], loss: "meanSquaredError" },
      initialWeights: { modelId: id },
      dataset: data,
      optimizer: { type: "sgd", learningRate: 0.1 },
      epochs: 1,
    });
    expect(res.statusCode).toBe(422);
    const err = problem(res).errors?.[0];
    expect(err?.path).toBe("initialWeights.modelId");
    expect(err?.message).toContain(
      `the weights of model ${id} are "dense_Dense1/kernel", "dense_Dense1/bias"`,
    );
    expect(err?.message).toMatch(/this request's model expects "dense\w*\/kernel", "dense\w*\/bias"/);
    expect(err?.message).toContain(
      `"model": { "modelId": "${id}" } beside "initialWeights": { "modelId": "${id}" }`,
    );
  });

  it("reports stored weights of another shape at initialWeights.modelId", async () => {
    // The same layer name with 3 units: the names match, the kernel's shape does not.
    const layer = topology.config.layers[0]!;
    const wider = { ...topology, config: { layers: [{ ...layer, config: { ...layer.config, units: 3 } }] } };
    const res = await post("/train", {
      model: { ...wider, loss: "mean_squared_error" },
      initialWeights: { modelId: id },
      dataset: { x: data.x, y: data.x.map(() => [0, 0, 0]) },
      optimizer: { type: "sgd", learningRate: 0.1 },
      epochs: 1,
    });
    expect(res.statusCode).toBe(422);
    const err = problem(res).errors?.[0];
    expect(err?.path).toBe("initialWeights.modelId");
    expect(err?.message).toMatch(
      new RegExp(
        `^weight "dense_Dense1/kernel" of model ${id} has shape \\[2, ?2\\]; this request's model expects \\[2, ?3\\]`,
      ),
    );
  });
});
