/**
 * batchNormalization and layerNormalization over HTTP (docs/backprop.md §19): /train on iris
 * returns the moving statistics with the weights, /predict normalises with them (inference),
 * initialWeights and optimizerState continue a run exactly, a wrong-shaped moving statistic is a
 * 422 naming it, Keras spellings get hints, bad options name the field, and a checkpointed job ends
 * with /train's weights. /gradients in training mode warns of a batch normalisation over one value
 * per channel (one sample of a dense layer's features), and only then.
 */
import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { gradientsExample, gradientsTrainingExample } from "../../src/schemas/examples.js";
import { GradientsResponseSchema, TrainResponseSchema } from "../../src/schemas/responses.js";
import { buildTestApp, type ProblemBody, waitForJob } from "./helper.js";

let app: FastifyInstance;
beforeAll(async () => {
  app = await buildTestApp();
});
afterAll(async () => {
  await app.close();
});

const post = (url: string, payload: object) => app.inject({ method: "POST", url, payload });

const model = {
  inputShape: [4],
  layers: [
    { type: "batchNormalization", name: "bn", momentum: 0.9 },
    { type: "dense", units: 8, activation: "tanh", name: "hidden" },
    { type: "layerNormalization", name: "ln" },
    { type: "dense", units: 3, activation: "softmax", name: "out" },
  ],
  loss: "sparseCategoricalCrossentropy",
};
const request = {
  model,
  dataset: { name: "iris" },
  optimizer: { type: "adam", learningRate: 0.02 },
  epochs: 20,
  batchSize: 16,
  seed: 3,
};

describe("batch and layer normalisation over HTTP", () => {
  it("/train on iris returns the moving statistics; /predict normalises with them", async () => {
    const res = await post("/train", request);
    expect(res.statusCode, res.body).toBe(200);
    const body = res.json();
    TrainResponseSchema.parse(body);
    expect(Object.keys(body.weights).sort()).toEqual([
      "bn/beta",
      "bn/gamma",
      "bn/moving_mean",
      "bn/moving_variance",
      "hidden/bias",
      "hidden/kernel",
      "ln/beta",
      "ln/gamma",
      "out/bias",
      "out/kernel",
    ]);
    expect(Object.keys(body.gradients)).not.toContain("bn/moving_mean");
    expect(body.metrics.accuracy).toBeGreaterThan(0.9);
    // Iris' feature means are about [5.8, 3.1, 3.8, 1.2]: the moving mean has moved towards them.
    const mm = body.weights["bn/moving_mean"] as number[];
    const mv = body.weights["bn/moving_variance"] as number[];
    expect(mm[0]).toBeGreaterThan(4);
    expect(mv[2]).toBeGreaterThan(1.5);

    // /predict of the batch normalisation alone: γ·(x − moving_mean)/√(moving_variance + ε) + β.
    const bnOnly = { inputShape: [4], layers: [model.layers[0]], loss: "meanSquaredError" };
    const bnWeights = Object.fromEntries(Object.entries(body.weights).filter(([k]) => k.startsWith("bn/")));
    const x = [5.1, 3.5, 1.4, 0.2];
    const pred = await post("/predict", { model: bnOnly, weights: bnWeights, x: [x] });
    expect(pred.statusCode, pred.body).toBe(200);
    const [out] = pred.json().outputs as number[][];
    const g = body.weights["bn/gamma"] as number[];
    const b = body.weights["bn/beta"] as number[];
    for (let k = 0; k < 4; k++)
      expect(out![k]).toBeCloseTo((g[k]! * (x[k]! - mm[k]!)) / Math.sqrt(mv[k]! + 1e-3) + b[k]!, 12);
    // The whole model predicts iris from one sample (a training-mode pass would normalise it to β).
    const all = await post("/predict", { model, weights: body.weights, x: [x, [6.7, 3.0, 5.2, 2.3]] });
    const [setosa, virginica] = all.json().outputs as number[][];
    expect(setosa![0]).toBeGreaterThan(0.5);
    expect(virginica![2]).toBeGreaterThan(0.5);
  });

  it("initialWeights and optimizerState: 10 epochs, then 10 more, equal 20 bit for bit", async () => {
    const twenty = (await post("/train", request)).json();
    const first = (await post("/train", { ...request, epochs: 10, returnOptimizerState: true })).json();
    const second = await post("/train", {
      ...request,
      epochs: 10,
      initialWeights: first.weights,
      optimizerState: first.optimizerState,
    });
    expect(second.statusCode, second.body).toBe(200);
    expect(second.json().weights).toEqual(twenty.weights);
    expect(second.json().weightsSha256).toBe(twenty.weightsSha256);
  });

  it("a wrong-shaped or missing moving statistic is a 422 naming it", async () => {
    const good = (await post("/train", { ...request, epochs: 1 })).json().weights;
    const short = await post("/train", {
      ...request,
      initialWeights: { ...good, "bn/moving_mean": [0, 0, 0] },
    });
    expect(short.statusCode, short.body).toBe(422);
    const errors = (short.json() as ProblemBody).errors!;
    expect(errors).toHaveLength(1);
    expect(errors[0]!.path).toContain("initialWeights");
    expect(errors[0]!.path).toContain("bn/moving_mean");
    expect(errors[0]!.message).toContain("expected [4]");
    const { "bn/moving_variance": _, ...missing } = good;
    const pred = await post("/predict", { model, weights: missing, x: [[1, 2, 3, 4]] });
    expect(pred.statusCode, pred.body).toBe(422);
    expect((pred.json() as ProblemBody).errors![0]!.path).toContain("bn/moving_variance");
  });

  it("/gradients agrees with central differences", async () => {
    const res = await post("/gradients", {
      model,
      x: [5.1, 3.5, 1.4, 0.2],
      y: 0,
      seed: 4,
      numericalCheck: true,
    });
    expect(res.statusCode, res.body).toBe(200);
    const body = res.json();
    GradientsResponseSchema.parse(body);
    expect(body.numerical.maxRelError).toBeLessThan(1e-6);
    expect(Object.keys(body.weights)).toContain("bn/moving_variance");
    expect(Object.keys(body.gradients)).not.toContain("bn/moving_variance");
  });
});

describe("Keras spellings and bad options", () => {
  const problem = async (layers: object[], status: number, inputShape = [2, 2, 3]) => {
    const res = await post("/train", {
      model: {
        inputShape,
        layers: [...layers, { type: "flatten" }, { type: "dense", units: 1 }],
        loss: "meanSquaredError",
      },
      dataset: { x: [new Array(inputShape.reduce((a, b) => a * b, 1)).fill(1)], y: [1] },
      optimizer: { type: "sgd", learningRate: 0.1 },
      epochs: 1,
    });
    expect(res.statusCode, res.body).toBe(status);
    return (res.json() as ProblemBody).errors ?? [];
  };

  it.each([
    ["BatchNormalization", "batchNormalization"],
    ["batch_normalization", "batchNormalization"],
    ["BatchNorm", "batchNormalization"],
    ["LayerNormalization", "layerNormalization"],
    ["layer_norm", "layerNormalization"],
  ])("layer type %j → %s", async (sent, ours) => {
    const errors = await problem([{ type: sent }], 400);
    expect(errors.map((e) => e.path)).toEqual(["model.layers[0].type"]);
    expect(errors[0]!.message).toContain(`did you mean \`${ours}\`?`);
  });

  it("an axis that is the batch or outside the input is a 422 at model.layers[i].axis", async () => {
    for (const layer of [
      { type: "batchNormalization", axis: 0 },
      { type: "batchNormalization", axis: 4 },
      { type: "batchNormalization", axis: -4 },
      { type: "layerNormalization", axis: [1, 1] },
      { type: "layerNormalization", axis: [0] },
    ]) {
      const errors = await problem([layer], 422);
      expect(
        errors.map((e) => e.path),
        JSON.stringify(layer),
      ).toEqual(["model.layers[0].axis"]);
      expect(errors[0]!.message).toContain("[1, 3]");
    }
  });

  it("momentum outside [0, 1], epsilon ≤ 0, a bad initialiser: a 400 naming the field", async () => {
    const at = async (layer: object, path: string) => {
      const errors = await problem([layer], 400);
      expect(errors.length).toBeGreaterThan(0);
      for (const e of errors) expect(e.path.startsWith(path), e.path).toBe(true);
    };
    await at({ type: "batchNormalization", momentum: 1.5 }, "model.layers[0].momentum");
    await at({ type: "batchNormalization", epsilon: 0 }, "model.layers[0].epsilon");
    await at({ type: "layerNormalization", epsilon: -1 }, "model.layers[0].epsilon");
    await at({ type: "batchNormalization", center: "yes" }, "model.layers[0].center");
    await at({ type: "batchNormalization", gammaInitializer: "nope" }, "model.layers[0].gammaInitializer");
    await at({ type: "layerNormalization", axis: 1.5 }, "model.layers[0].axis");
  });
});

describe("a job with batch and layer normalisation", () => {
  let jobs: FastifyInstance;
  beforeAll(async () => {
    jobs = await buildTestApp({ CHECKPOINT_EVERY: "2" });
  });
  afterAll(async () => {
    await jobs.close();
  });

  it("trains in checkpointed chunks to POST /train's weights, moving statistics included, bit for bit", async () => {
    const body = { ...request, epochs: 7 };
    const res = await jobs.inject({ method: "POST", url: "/jobs", payload: body });
    expect(res.statusCode, res.body).toBe(202);
    const job = await waitForJob(jobs, res.json().id as string);
    expect(job.status, JSON.stringify(job.error)).toBe("succeeded");
    const sync = (await jobs.inject({ method: "POST", url: "/train", payload: body })).json();
    expect(job.result!.weightsSha256).toBe(sync.weightsSha256);
    expect(job.result!.weights).toEqual(sync.weights);
    expect(Object.keys(job.result!.weights!)).toContain("bn/moving_mean");
  });
});

describe("/gradients names a batch normalisation over one value per channel", () => {
  /** The report: one iris sample through dense → dropout → batchNormalization → dense. */
  const report = {
    model: {
      inputShape: [4],
      layers: [
        { type: "dense", units: 6, activation: "relu" },
        { type: "dropout", rate: 0.5 },
        { type: "batchNormalization" },
        { type: "dense", units: 3, activation: "softmax" },
      ],
      loss: "sparseCategoricalCrossentropy",
    },
    seed: 7,
    x: [5.1, 3.5, 1.4, 0.2],
    y: 0,
    numericalCheck: true,
  };

  it("training (the default): warnings names the layer, and indeed nothing flows below it", async () => {
    const res = await post("/gradients", report);
    expect(res.statusCode, res.body).toBe(200);
    const body = GradientsResponseSchema.parse(res.json());
    expect(body.warnings).toEqual([
      {
        code: "batchStatisticsOfOneValue",
        layer: "batchNormalization_2",
        message: expect.stringContaining("its output is its beta and no gradient flows below it"),
      },
    ]);
    expect(body.warnings![0]!.message).toContain("training: false");
    expect((body.gradients["dense_0/kernel"] as number[][]).flat().every((g) => g === 0)).toBe(true);
    expect(body.gradients["batchNormalization_2/gamma"]).toEqual([0, 0, 0, 0, 0, 0]);
    expect(body.numerical!.maxAbsError).toBeLessThan(1e-9);
  });

  it("training: false answers without warnings, and the gradient reaches the first layer", async () => {
    const res = await post("/gradients", { ...report, training: false });
    expect(res.statusCode, res.body).toBe(200);
    const body = res.json();
    expect("warnings" in body).toBe(false);
    expect((body.gradients["dense_0/kernel"] as number[][]).flat().some((g) => g !== 0)).toBe(true);
  });

  it("the Swagger example (a conv's channels over 2×2 positions) has masks and no warnings; a model without batch normalisation none either", async () => {
    const res = await post("/gradients", gradientsTrainingExample);
    expect(res.statusCode, res.body).toBe(200);
    const body = GradientsResponseSchema.parse(res.json());
    expect(body.warnings).toBeUndefined();
    expect(new Set((body.dropoutMasks!.dropout_3 as number[][][]).flat(2))).toEqual(new Set([0, 2]));
    expect(body.numerical!.maxRelError).toBeLessThan(1e-7);
    for (const g of body.gradients["batchNormalization_1/gamma"] as number[]) expect(g).not.toBe(0);
    const plain = (await post("/gradients", gradientsExample)).json();
    expect("warnings" in plain).toBe(false);
  });
});
