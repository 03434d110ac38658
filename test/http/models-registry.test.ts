/**
 * The model registry's routes: list, get, delete, ownership, and a stored model named in
 * /predict, /gradients, /train and /jobs (`model: { modelId }`, `initialWeights: { modelId }`).
 */
import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ownerOf } from "../../src/service/auth.js";
import { buildTestApp, type ProblemBody, waitForJob } from "./helper.js";
import { storeModel, trainThrough, xorish } from "./models-helpers.js";

const KEY_A = "key-a-0123456789abcdef";
const KEY_B = "key-b-0123456789abcdef";
const A = { "x-api-key": KEY_A };
const B = { "x-api-key": KEY_B };

describe("/models with two API keys", () => {
  let app: FastifyInstance;
  let trained: Awaited<ReturnType<typeof trainThrough>>;
  const ids: string[] = [];

  beforeAll(async () => {
    app = await buildTestApp({ API_KEYS: `${KEY_A},${KEY_B}` });
    trained = await trainThrough(app, xorish, A);
    for (let i = 0; i < 3; i++)
      ids.push(await storeModel(app, xorish.model, trained.weights, ownerOf(KEY_A)));
  });
  afterAll(async () => {
    await app.close();
  });

  it("lists the owner's models newest first, in pages", async () => {
    const first = await app.inject({ method: "GET", url: "/models?limit=2", headers: A });
    expect(first.statusCode).toBe(200);
    const page = first.json();
    expect(page.models.map((m: { id: string }) => m.id)).toEqual([ids[2], ids[1]]);
    expect(page.hasMore).toBe(true);
    expect(page.next).toMatch(/^\/models\?limit=2&cursor=\d+$/);
    const byId = (
      await app.inject({ method: "GET", url: `/models?limit=2&after=${ids[1]}`, headers: A })
    ).json();
    expect(byId.models.map((m: { id: string }) => m.id)).toEqual([ids[0]]);
    const second = (await app.inject({ method: "GET", url: page.next, headers: A })).json();
    expect(second.models.map((m: { id: string }) => m.id)).toEqual([ids[0]]);
    expect(second).toMatchObject({ hasMore: false, next: null });
    const other = (await app.inject({ method: "GET", url: "/models", headers: B })).json();
    expect(other.models).toEqual([]);
  });

  it("gets a model without its weights or owner, with its links", async () => {
    const res = await app.inject({ method: "GET", url: `/models/${ids[0]}`, headers: A });
    expect(res.statusCode).toBe(200);
    const model = res.json();
    expect(model).toMatchObject({
      id: ids[0],
      source: "train",
      jobId: null,
      spec: xorish.model,
      parameters: 2 * 4 + 4 + 4 * 2 + 2,
      links: { tfjs: `/models/${ids[0]}/tfjs/model.json`, onnx: `/models/${ids[0]}/onnx` },
    });
    expect(model.weightsSha256).toMatch(/^[0-9a-f]{64}$/);
    expect(model).not.toHaveProperty("owner");
    expect(model).not.toHaveProperty("weights");
  });

  it("answers 404 for another owner's model on every route, and for an unknown id", async () => {
    const id = ids[0]!;
    for (const [method, url, payload] of [
      ["GET", `/models/${id}`, undefined],
      ["DELETE", `/models/${id}`, undefined],
      ["POST", `/models/${id}/predict`, { x: [[0, 1]] }],
      ["POST", `/models/${id}/gradients`, { x: [0, 1], y: 1 }],
      ["GET", `/models/${id}/tfjs/model.json`, undefined],
      ["GET", `/models/${id}/tfjs/weights.bin`, undefined],
      ["GET", `/models/${id}/onnx`, undefined],
    ] as const) {
      const res = await app.inject({ method, url, payload, headers: B });
      expect(res.statusCode, `${method} ${url}`).toBe(404);
      expect((res.json() as ProblemBody).detail).toBe(`no model ${id}`);
    }
    expect((await app.inject({ method: "GET", url: "/models/mdl_nothing", headers: A })).statusCode).toBe(
      404,
    );
  });

  it("names model.modelId and initialWeights.modelId for another owner's model", async () => {
    const id = ids[0]!;
    const predict = await app.inject({
      method: "POST",
      url: "/predict",
      headers: B,
      payload: { model: { modelId: id }, x: [[0, 1]] },
    });
    expect(predict.statusCode).toBe(404);
    expect((predict.json() as ProblemBody).errors).toEqual([
      {
        path: "model.modelId",
        message: "no stored model of this client has this id (GET /models lists them)",
      },
    ]);
    const train = await app.inject({
      method: "POST",
      url: "/train",
      headers: B,
      payload: { ...xorish, initialWeights: { modelId: id } },
    });
    expect(train.statusCode).toBe(404);
    expect((train.json() as ProblemBody).errors?.[0]?.path).toBe("initialWeights.modelId");
    const job = await app.inject({
      method: "POST",
      url: "/jobs",
      headers: B,
      payload: { ...xorish, model: { modelId: id } },
    });
    expect(job.statusCode).toBe(404);
    expect((job.json() as ProblemBody).errors?.[0]?.path).toBe("model.modelId");
  });

  it("refuses a bad cursor, naming querystring.after", async () => {
    const res = await app.inject({ method: "GET", url: "/models?after=mdl_nothing", headers: A });
    expect(res.statusCode).toBe(400);
    expect((res.json() as ProblemBody).errors?.[0]?.path).toBe("querystring.after");
  });

  it("deletes (204), after which the model is gone; another owner cannot", async () => {
    const id = await storeModel(app, xorish.model, trained.weights, ownerOf(KEY_A));
    expect((await app.inject({ method: "DELETE", url: `/models/${id}`, headers: B })).statusCode).toBe(404);
    const res = await app.inject({ method: "DELETE", url: `/models/${id}`, headers: A });
    expect(res.statusCode).toBe(204);
    expect(res.body).toBe("");
    expect((await app.inject({ method: "GET", url: `/models/${id}`, headers: A })).statusCode).toBe(404);
    expect((await app.inject({ method: "DELETE", url: `/models/${id}`, headers: A })).statusCode).toBe(404);
  });
});

describe("a stored model in requests", () => {
  let app: FastifyInstance;
  let trained: Awaited<ReturnType<typeof trainThrough>>;
  let id: string;
  const x = [
    [0, 0],
    [0.5, 1],
    [1, -2],
  ];

  beforeAll(async () => {
    app = await buildTestApp();
    trained = await trainThrough(app, xorish);
    id = await storeModel(app, xorish.model, trained.weights);
  });
  afterAll(async () => {
    await app.close();
  });

  it("POST /models/{id}/predict answers what /predict answers with the same spec and weights", async () => {
    const direct = await app.inject({
      method: "POST",
      url: "/predict",
      payload: { model: xorish.model, weights: trained.weights, x },
    });
    const stored = await app.inject({ method: "POST", url: `/models/${id}/predict`, payload: { x } });
    const byRef = await app.inject({
      method: "POST",
      url: "/predict",
      payload: { model: { modelId: id }, x },
    });
    expect(direct.statusCode).toBe(200);
    expect(stored.statusCode).toBe(200);
    expect(stored.json()).toEqual(direct.json());
    expect(byRef.json()).toEqual(direct.json());
    // Probabilities of 2 classes, not a constant: the weights are the trained ones.
    const p = direct.json().outputs as number[][];
    expect(p).toHaveLength(3);
    for (const row of p) expect(row[0]! + row[1]!).toBeCloseTo(1, 12);
    expect(p[0]![0]).not.toBeCloseTo(p[2]![0]!, 3);
  });

  it("POST /models registers the engine's own { model, weights }: it predicts what /predict does with them", async () => {
    const res = await app.inject({
      method: "POST",
      url: "/models",
      payload: { model: xorish.model, weights: trained.weights },
    });
    expect(res.statusCode).toBe(201);
    const model = res.json();
    expect(model).toMatchObject({ source: "import", spec: xorish.model, parameters: 22, seed: null });
    expect(res.headers.location).toBe(`/models/${model.id}`);
    const direct = await app.inject({
      method: "POST",
      url: "/predict",
      payload: { model: xorish.model, weights: trained.weights, x },
    });
    const stored = await app.inject({ method: "POST", url: `/models/${model.id}/predict`, payload: { x } });
    expect(stored.json()).toEqual(direct.json());
    // The same weights, the same fingerprint as the stored copy of the training's.
    const original = (await app.inject({ method: "GET", url: `/models/${id}` })).json();
    expect(model.weightsSha256).toBe(original.weightsSha256);
  });

  it("POST /models { model, weights } names the weight that is missing or misshapen, and the model's bad field", async () => {
    const { "dense_1/bias": _, ...missing } = trained.weights;
    const noBias = await app.inject({
      method: "POST",
      url: "/models",
      payload: { model: xorish.model, weights: missing },
    });
    expect(noBias.statusCode).toBe(422);
    expect((noBias.json() as ProblemBody).errors?.[0]?.path).toBe('weights["dense_1/bias"]');
    const badShape = await app.inject({
      method: "POST",
      url: "/models",
      payload: { model: xorish.model, weights: { ...trained.weights, "dense_1/bias": [1, 2, 3] } },
    });
    expect(badShape.statusCode).toBe(422);
    expect((badShape.json() as ProblemBody).errors?.[0]?.path).toBe('weights["dense_1/bias"]');
    const badModel = await app.inject({
      method: "POST",
      url: "/models",
      payload: {
        model: { ...xorish.model, layers: [{ type: "dense", units: 0 }] },
        weights: trained.weights,
      },
    });
    expect(badModel.statusCode).toBe(400);
    expect((badModel.json() as ProblemBody).errors?.[0]?.path).toBe("model.layers[0].units");
  });

  it("POST /models/{id}/gradients answers what /gradients answers at the stored weights", async () => {
    const body = { x: [0.5, 1], y: 1, training: false, numericalCheck: true };
    const direct = await app.inject({
      method: "POST",
      url: "/gradients",
      payload: { model: xorish.model, weights: trained.weights, ...body },
    });
    const stored = await app.inject({ method: "POST", url: `/models/${id}/gradients`, payload: body });
    expect(direct.statusCode).toBe(200);
    expect(stored.statusCode).toBe(200);
    const a = direct.json();
    const b = stored.json();
    delete a.seed;
    delete b.seed;
    expect(b).toEqual(a);
    expect(a.numerical.maxRelError).toBeLessThan(1e-6);
  });

  it("/predict with model: {modelId} and explicit weights uses those weights", async () => {
    const zero = Object.fromEntries(
      Object.entries(trained.weights).map(([k, v]) => [
        k,
        JSON.parse(JSON.stringify(v).replace(/-?\d[\d.e+-]*/g, "0")),
      ]),
    );
    const res = await app.inject({
      method: "POST",
      url: "/predict",
      payload: { model: { modelId: id }, weights: zero, x: [[3, 4]] },
    });
    expect(res.statusCode).toBe(200);
    // Zero weights: the softmax of zeros.
    expect(res.json().outputs).toEqual([[0.5, 0.5]]);
  });

  it("/train with model and initialWeights {modelId} continues from the stored weights", async () => {
    const continued = await trainThrough(app, {
      ...xorish,
      model: { modelId: id },
      initialWeights: { modelId: id },
      epochs: 2,
    });
    const inline = await trainThrough(app, { ...xorish, initialWeights: trained.weights, epochs: 2 });
    expect(continued.weights).toEqual(inline.weights);
    expect(continued.weights).not.toEqual(trained.weights);
  });

  it("a job stores the resolved spec and weights: deleting the model after creating the job does not break it", async () => {
    const source = await storeModel(app, xorish.model, trained.weights);
    const created = await app.inject({
      method: "POST",
      url: "/jobs",
      payload: { ...xorish, model: { modelId: source }, initialWeights: { modelId: source }, epochs: 2 },
    });
    expect(created.statusCode).toBe(202);
    expect((await app.inject({ method: "DELETE", url: `/models/${source}` })).statusCode).toBe(204);
    const job = await waitForJob(app, created.json().id);
    expect(job.status).toBe("succeeded");
    const full = (await app.inject({ method: "GET", url: `/jobs/${job.id}` })).json();
    const inline = await trainThrough(app, { ...xorish, initialWeights: trained.weights, epochs: 2 });
    expect(full.result.weights).toEqual(inline.weights);
  });

  it("passes on the 422 of a kind a format cannot express, naming the layer and the format", async () => {
    const spec = {
      inputShape: [2],
      layers: [
        { type: "dense", units: 3 },
        { type: "elu", alpha: 0.5 },
        { type: "dense", units: 1 },
      ],
      loss: "meanSquaredError",
    } as const;
    const trained = await trainThrough(app, {
      model: spec,
      dataset: {
        x: [
          [0, 1],
          [1, 0],
        ],
        y: [1, 0],
      },
      optimizer: { type: "sgd", learningRate: 0.1 },
      epochs: 1,
      saveModel: true,
    });
    for (const url of [
      `/models/${trained.modelId}/tfjs/model.json`,
      `/models/${trained.modelId}/tfjs/weights.bin`,
    ]) {
      const res = await app.inject({ method: "GET", url });
      expect(res.statusCode).toBe(422);
      expect(res.headers["content-type"]).toMatch(/^application\/problem\+json/);
      expect((res.json() as ProblemBody).errors).toEqual([
        {
          path: "model.layers[1].alpha",
          message:
            "cannot be exported to TensorFlow.js: tfjs-layers' ELU layer supports only alpha 1, this one has 0.5",
        },
      ]);
    }
    // ONNX's Elu has an alpha: that export works.
    const onnx = await app.inject({ method: "GET", url: `/models/${trained.modelId}/onnx` });
    expect(onnx.statusCode).toBe(200);
    expect(onnx.rawPayload.length).toBeGreaterThan(100);
  });

  it("/predict without weights and without a stored model still says weights is missing", async () => {
    const res = await app.inject({ method: "POST", url: "/predict", payload: { model: xorish.model, x } });
    expect(res.statusCode).toBe(400);
    expect((res.json() as ProblemBody).errors).toEqual([
      { path: "weights", message: "required field is missing (expected record)" },
    ]);
  });

  it("refuses a modelId of the wrong type and extra keys beside it, naming them", async () => {
    const res = await app.inject({
      method: "POST",
      url: "/predict",
      payload: { model: { modelId: 5, layers: [] }, x },
    });
    expect(res.statusCode).toBe(400);
    const paths = (res.json() as ProblemBody).errors?.map((e) => e.path);
    expect(paths).toEqual(expect.arrayContaining(["model.modelId", "model.layers"]));
  });
});
