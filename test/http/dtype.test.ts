/**
 * The `dtype` field (docs/precision.md) through the service: /train, /gradients, a chunked job
 * resuming from its checkpoints, and a saved float32 model predicting in float32.
 */
import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { describeModel, type ModelSpec } from "../../src/engine/index.js";
import { irisJob } from "../fixtures.js";
import { buildTestApp, waitForJob } from "./helper.js";

/** Every number of a JSON tree. */
function numbers(tree: unknown): number[] {
  if (typeof tree === "number") return [tree];
  if (Array.isArray(tree)) return tree.flatMap(numbers);
  if (tree && typeof tree === "object") return Object.values(tree).flatMap(numbers);
  return [];
}

const isFloat32 = (v: number) => Math.fround(v) === v;

describe("dtype", () => {
  let app: FastifyInstance;
  beforeAll(async () => {
    app = await buildTestApp({ CHECKPOINT_EVERY: "2" });
  });
  afterAll(() => app.close());

  const post = (url: string, payload: object) => app.inject({ method: "POST", url, payload });

  it("/train in float32: engineVersion ends +float32, weights are float32 numbers, runs repeat bit for bit", async () => {
    const body = irisJob(3, { dtype: "float32" });
    const a = await post("/train", body);
    expect(a.statusCode, a.body).toBe(200);
    const b = await post("/train", body);
    const f64 = await post("/train", irisJob(3));
    expect(a.json().engineVersion).toBe("0.3.0+float32");
    expect(f64.json().engineVersion).toBe("0.3.0");
    expect(b.json().weightsSha256).toBe(a.json().weightsSha256);
    expect(f64.json().weightsSha256).not.toBe(a.json().weightsSha256);
    const weights = numbers(a.json().weights);
    expect(weights.length).toBeGreaterThan(0);
    expect(weights.every(isFloat32)).toBe(true);
    expect(numbers(f64.json().weights).every(isFloat32)).toBe(false);
  });

  it("an initialiser finite in float64 but not in float32 is a 422 at model.layers[i].…Initializer", async () => {
    // Found by the fuzz suite: the path lacked its "model." prefix (it named no field of the request).
    const body = {
      model: {
        inputShape: [3],
        layers: [{ type: "dense", units: 3, kernelInitializer: { type: "constant", value: 1e300 } }],
        loss: "meanSquaredError",
      },
      dataset: { x: [[0, 0, 0]], y: [[0, 0, 0]] },
      optimizer: { type: "sgd", learningRate: 0.1 },
      epochs: 1,
      dtype: "float32",
    };
    const res = await post("/train", body);
    expect(res.statusCode, res.body).toBe(422);
    expect(res.json().errors).toEqual([
      {
        path: "model.layers[0].kernelInitializer",
        message: "constant gives a non-finite weight with these arguments; use smaller values",
      },
    ]);
    // The same in float64 trains.
    expect((await post("/train", { ...body, dtype: "float64" })).statusCode).toBe(200);
  });

  it("a bad dtype is a 400 naming dtype and listing both values", async () => {
    for (const [url, body] of [
      ["/train", irisJob(1, { dtype: "float16" })],
      ["/jobs", irisJob(1, { dtype: "double" })],
      ["/gradients", { model: irisJob(1).model, x: [1, 2, 3, 4], y: 0, dtype: 32 }],
      ["/predict", { model: { modelId: "mdl_none" }, x: [[1, 2, 3, 4]], dtype: "half" }],
    ] as const) {
      const res = await post(url, body);
      expect(res.statusCode, url).toBe(400);
      const errors = res.json().errors as { path: string; message: string }[];
      expect(errors.map((e) => e.path)).toEqual(["dtype"]);
      expect(errors[0]!.message).toContain("float64");
      expect(errors[0]!.message).toContain("float32");
    }
  });

  it("/gradients in float32 gives float32 gradients", async () => {
    const body = { model: irisJob(1).model, x: [5.1, 3.5, 1.4, 0.2], y: 0, seed: 3, numericalCheck: true };
    const res = await post("/gradients", { ...body, dtype: "float32" });
    expect(res.statusCode, res.body).toBe(200);
    const grads = numbers(res.json().gradients);
    expect(grads.length).toBeGreaterThan(0);
    expect(grads.every(isFloat32)).toBe(true);
    expect(res.json().numerical.maxRelError).toBeLessThan(1e-3);
    const f64 = await post("/gradients", body);
    expect(numbers(f64.json().gradients).every(isFloat32)).toBe(false);
  });

  it("a float32 job run in chunks, each resuming from its checkpoint, ends with the bits of one /train", async () => {
    const body = irisJob(7, { dtype: "float32", optimizer: { type: "adam", learningRate: 0.01 } });
    const created = await post("/jobs", body);
    expect(created.statusCode, created.body).toBe(202);
    const done = await waitForJob(app, created.json().id);
    expect(done.status).toBe("succeeded");
    const sync = (await post("/train", body)).json();
    expect(done.result!.engineVersion).toBe("0.3.0+float32");
    expect(done.result!.weightsSha256).toBe(sync.weightsSha256);
    expect(done.result!.history).toEqual(sync.history);
  });

  it("Adam's second moment overflowing names the run's dtype limit: √FLT_MAX ≈ 1.8e19 in float32, 1.3e154 in float64", async () => {
    const body = (x: number, y: number, loss: string, dtype: string) => ({
      model: { inputShape: [1], layers: [{ type: "dense", units: 1 }], loss },
      dataset: { x: [[x], [2 * x]], y: [y, y] },
      optimizer: { type: "adam", learningRate: 0.1 },
      epochs: 10,
      seed: 1,
      dtype,
    });
    // |g| ≈ 3e20 each step: v (≈ t·0.001·g² after t steps) passes FLT_MAX within a few steps, and
    // never DBL_MAX.
    const f32 = (await post("/train", body(1, 1e20, "meanSquaredError", "float32"))).json();
    expect(f32.diverged.stage).toBe("gradient");
    expect(f32.diverged.parameter).toBe("dense_0/kernel");
    expect(f32.diverged.message).toContain(
      "the gradient of dense_0/kernel is too large for adam: its square overflowed the bias-corrected " +
        "second moment v̂ (|g| ≳ 1.8e19 in float32)",
    );
    expect(
      (await post("/train", body(1, 1e20, "meanSquaredError", "float64"))).json().diverged,
    ).toBeUndefined();
    // Mean absolute error keeps the loss finite while the kernel's gradient (±x) squares past DBL_MAX.
    const f64 = (await post("/train", body(1e155, 0, "meanAbsoluteError", "float64"))).json();
    expect(f64.diverged.message).toContain("second moment v̂ (|g| ≳ 1.3e154 in float64)");
  });

  it("MAX_BATCH_BYTES counts 4 bytes per value in a float32 run, 8 in float64", async () => {
    const model = {
      inputShape: [3],
      layers: [{ type: "dense", units: 2, activation: "tanh" }],
      loss: "meanSquaredError",
    };
    const body = {
      model,
      dataset: {
        x: [
          [1, 2, 3],
          [4, 5, 6],
          [7, 8, 9],
          [1, 0, 1],
        ],
        y: [
          [0, 1],
          [1, 0],
          [0, 0],
          [1, 1],
        ],
      },
      optimizer: { type: "sgd", learningRate: 0.01 },
      epochs: 1,
      batchSize: 4,
      seed: 1,
    };
    const values = describeModel(model as ModelSpec).sampleValues;
    const limited = await buildTestApp({ MAX_BATCH_BYTES: String(4 * values.training * 4) });
    try {
      const f32 = await limited.inject({
        method: "POST",
        url: "/train",
        payload: { ...body, dtype: "float32" },
      });
      expect(f32.statusCode, f32.body).toBe(200);
      const f64 = await limited.inject({ method: "POST", url: "/train", payload: body });
      expect(f64.statusCode).toBe(422);
      expect(f64.json().errors[0].message).toContain(`(${values.training} values per sample × 8 bytes);`);
    } finally {
      await limited.close();
    }
    const below = await buildTestApp({ MAX_BATCH_BYTES: String(4 * values.training * 4 - 1) });
    try {
      const res = await below.inject({
        method: "POST",
        url: "/jobs",
        payload: { ...body, dtype: "float32" },
      });
      expect(res.statusCode).toBe(422);
      expect(res.json().errors.map((e: { path: string }) => e.path)).toEqual(["batchSize"]);
      expect(res.json().errors[0].message).toContain(
        `(${values.training} values per sample × 4 bytes in float32);`,
      );
    } finally {
      await below.close();
    }
  });

  it("data beyond float32's range is a 422 naming the element in a float32 run, on every route", async () => {
    const beyond = (path: string, v = 1e39) => ({
      path,
      message: `${v} is beyond float32's range in a float32 run: it rounds to ${v > 0 ? "" : "-"}Infinity (the largest float32 is 3.4028234663852886e+38)`,
    });
    const model = {
      inputShape: [2],
      layers: [{ type: "dense", units: 1 }],
      loss: "meanSquaredError",
    };
    const train = {
      model,
      dataset: {
        x: [
          [1e39, 2],
          [3, 4],
        ],
        y: [1, 2],
      },
      optimizer: { type: "sgd", learningRate: 0.01 },
      epochs: 1,
      seed: 1,
      dtype: "float32",
    };
    for (const url of ["/train", "/jobs"]) {
      const res = await post(url, train);
      expect(res.statusCode, url).toBe(422);
      expect(res.json().errors, url).toEqual([beyond("dataset.x[0][0]")]);
    }
    const targets = await post("/train", {
      ...train,
      dataset: {
        x: [
          [1, 2],
          [3, 4],
        ],
        y: [1, [-1e39]],
      },
    });
    expect(targets.json().errors).toEqual([beyond("dataset.y[1][0]", -1e39)]);
    // float64 takes the same data (and FLT_MAX itself is float32's).
    expect((await post("/train", { ...train, dtype: "float64" })).statusCode).toBe(200);
    const atMax = {
      ...train,
      dataset: {
        // FLT_MAX, and FLT_MAX as usually written (3.4028235e38 rounds to it, not to Infinity).
        x: [
          [3.4028234663852886e38, 2],
          [3.4028235e38, 4],
        ],
        y: [1, 2],
      },
    };
    expect((await post("/train", atMax)).statusCode).toBe(200);

    const gradients = await post("/gradients", { model, x: [1, 1e39], y: 0, dtype: "float32" });
    expect(gradients.statusCode).toBe(422);
    expect(gradients.json().errors).toEqual([beyond("x[1]")]);
    const gradientsY = await post("/gradients", { model, x: [1, 2], y: 1e39, dtype: "float32" });
    expect(gradientsY.json().errors).toEqual([beyond("y")]);

    // A float32 model's own routes refuse it too, naming x (not the stored weights).
    const created = await post("/jobs", {
      ...train,
      dataset: {
        x: [
          [1, 2],
          [3, 4],
        ],
        y: [1, 2],
      },
    });
    const done = await waitForJob(app, created.json().id);
    const id = done.modelId!;
    const predict = await post(`/models/${id}/predict`, {
      x: [
        [1, 2],
        [3, 1e39],
      ],
    });
    expect(predict.statusCode).toBe(422);
    expect(predict.json().errors).toEqual([beyond("x[1][1]")]);
    const modelGradients = await post(`/models/${id}/gradients`, { x: [1e39, 2], y: 0 });
    expect(modelGradients.statusCode).toBe(422);
    expect(modelGradients.json().errors).toEqual([beyond("x[0]")]);
    // A sample within range whose gradient overflows float32: named at x, as the body sent no weights.
    const overflow = await post(`/models/${id}/gradients`, { x: [1e30, 1e30], y: 0 });
    expect(overflow.statusCode).toBe(422);
    expect(overflow.json().errors.map((e: { path: string }) => e.path)).toEqual(["x"]);
    expect(overflow.json().errors[0].message).toContain("is not finite (overflow)");
  });

  it("POST /predict takes dtype: a float32 run's weights predicted in float32 give its saved model's predictions", async () => {
    const body = irisJob(3, { dtype: "float32" });
    const done = await waitForJob(app, (await post("/jobs", body)).json().id);
    const id = done.modelId!;
    const x = [
      [5.1, 3.5, 1.4, 0.2],
      [6.7, 3.1, 4.7, 1.5],
      [6.3, 2.9, 5.6, 1.8],
    ];
    const saved = await post(`/models/${id}/predict`, { x });
    expect(saved.statusCode, saved.body).toBe(200);
    const inline = { model: body.model, weights: done.result!.weights, x };
    const f32 = await post("/predict", { ...inline, dtype: "float32" });
    expect(f32.statusCode, f32.body).toBe(200);
    expect(saved.json().outputs).toHaveLength(3);
    expect(f32.json().outputs).toEqual(saved.json().outputs);
    expect(numbers(f32.json().outputs).every(isFloat32)).toBe(true);
    // float64 (the default for a spec) computes in double: other bits.
    const f64 = (await post("/predict", inline)).json().outputs;
    expect(numbers(f64).every(isFloat32)).toBe(false);
    // On a stored model an explicit dtype wins over the model's.
    const storedF64 = await post("/predict", { model: { modelId: id }, x, dtype: "float64" });
    expect(storedF64.json().outputs).toEqual(f64);
    const storedOwn = (await post("/predict", { model: { modelId: id }, x })).json();
    expect(storedOwn.outputs).toEqual(saved.json().outputs);
    // Each answer says which ran (the outputs alone would not, for a stored model).
    expect(saved.json().dtype).toBe("float32");
    expect(f32.json().dtype).toBe("float32");
    expect(storedOwn.dtype).toBe("float32");
    expect(storedF64.json().dtype).toBe("float64");
    const g32 = await post("/gradients", { model: { modelId: id }, x: x[0], y: 1 });
    expect(g32.json().dtype).toBe("float32");
  });

  it("fine-tuning a float32 model trains in float32 unless the body names a dtype, for /train and /jobs", async () => {
    const done = await waitForJob(app, (await post("/jobs", irisJob(2, { dtype: "float32" }))).json().id);
    const id = done.modelId!;
    const bodies = [
      irisJob(2, { initialWeights: { modelId: id } }),
      irisJob(2, { model: { modelId: id }, initialWeights: { modelId: id } }),
      irisJob(2, { model: { modelId: id } }),
    ];
    for (const body of bodies) {
      const sync = await post("/train", body);
      expect(sync.statusCode, sync.body).toBe(200);
      expect(sync.json().engineVersion).toBe("0.3.0+float32");
      // The same bits as naming float32.
      const named = (await post("/train", { ...body, dtype: "float32" })).json();
      expect(sync.json().weightsSha256).toBe(named.weightsSha256);
      const job = await waitForJob(app, (await post("/jobs", body)).json().id);
      expect(job.result!.weightsSha256).toBe(named.weightsSha256);
      // An explicit dtype wins.
      expect((await post("/train", { ...body, dtype: "float64" })).json().engineVersion).toBe("0.3.0");
    }
    // A float64 model's stays float64.
    const f64 = await waitForJob(app, (await post("/jobs", irisJob(1))).json().id);
    const tuned = await post("/train", irisJob(1, { initialWeights: { modelId: f64.modelId } }));
    expect(tuned.json().engineVersion).toBe("0.3.0");
  });

  it("GET /models/{id} and the list show the model's dtype", async () => {
    const f32 = await waitForJob(app, (await post("/jobs", irisJob(1, { dtype: "float32" }))).json().id);
    const f64 = await waitForJob(app, (await post("/jobs", irisJob(1))).json().id);
    const one = (id: string) => app.inject({ url: `/models/${id}` }).then((r) => r.json());
    expect(await one(f32.modelId!)).toMatchObject({ engineVersion: "0.3.0+float32", dtype: "float32" });
    expect(await one(f64.modelId!)).toMatchObject({ engineVersion: "0.3.0", dtype: "float64" });
    const listed = (await app.inject({ url: "/models" })).json().models as { id: string; dtype: string }[];
    expect(listed.find((m) => m.id === f32.modelId)!.dtype).toBe("float32");
    expect(listed.find((m) => m.id === f64.modelId)!.dtype).toBe("float64");
  });

  it("a float32 model's TensorFlow.js export holds its weights exactly (no rounding on the way out)", async () => {
    const done = await waitForJob(app, (await post("/jobs", irisJob(2, { dtype: "float32" }))).json().id);
    const id = done.modelId!;
    const modelJson = (await app.inject({ url: `/models/${id}/tfjs/model.json` })).json();
    const bin = (await app.inject({ url: `/models/${id}/tfjs/weights.bin` })).rawPayload;
    const exported = new Float32Array(bin.buffer.slice(bin.byteOffset, bin.byteOffset + bin.byteLength));
    const names = (modelJson.weightsManifest[0].weights as { name: string }[]).map((w) => w.name);
    // tfjs names a weight "dense_0/kernel" as the service does.
    const trained = names.flatMap((name) => numbers(done.result!.weights![name]));
    expect(trained.length).toBe(exported.length);
    expect(Array.from(exported)).toEqual(trained);
  });
});
