/**
 * Dropout over HTTP (docs/backprop.md §18): /gradients shows the masks it drew in training mode
 * and checks them numerically, /predict is the identity through it, /train continues exactly from
 * the returned optimizerState (dropoutRng), a checkpointed job ends with /train's weights, and bad
 * options are a 400 (a 422 when the noise shape does not fit the input) naming the field.
 */
import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { GradientsResponseSchema, TrainResponseSchema } from "../../src/schemas/responses.js";
import { buildTestApp, type ProblemBody, waitForJob } from "./helper.js";

let app: FastifyInstance;
beforeAll(async () => {
  app = await buildTestApp({ CHECKPOINT_EVERY: "3" });
});
afterAll(async () => {
  await app.close();
});

const post = (url: string, payload: object) => app.inject({ method: "POST", url, payload });

const model = {
  inputShape: [4],
  layers: [
    { type: "dense", units: 16, activation: "tanh", name: "hidden" },
    { type: "dropout", rate: 0.5, name: "drop" },
    { type: "dense", units: 3, activation: "softmax", name: "out" },
  ],
  loss: "sparseCategoricalCrossentropy",
};
const withoutDropout = { ...model, layers: [model.layers[0], model.layers[2]] };

describe("/gradients with dropout", () => {
  const request = { model, x: [0.5, -1.2, 0.3, 2], y: 1, seed: 7, numericalCheck: true };

  it("training (the default): the mask drawn, applied, and checked numerically with it", async () => {
    const res = await post("/gradients", request);
    expect(res.statusCode, res.body).toBe(200);
    const body = GradientsResponseSchema.parse(res.json());
    const mask = body.dropoutMasks!.drop as number[];
    expect(mask).toHaveLength(16);
    expect(new Set(mask)).toEqual(new Set([0, 2]));
    // The layer's output is its input times the mask.
    const hidden = body.activations[0]!.output as number[];
    const dropped = body.activations[1]!.output as number[];
    expect(dropped).toEqual(hidden.map((h, j) => h * mask[j]! + 0));
    // The numerical check differentiates the same pass: the masks reused.
    expect(body.numerical!.maxRelError).toBeLessThan(1e-7);
    // Same request, same answer; the dropped units get no gradient from the output layer.
    expect((await post("/gradients", request)).body).toBe(res.body);
    const kernel = body.gradients["out/kernel"] as number[][];
    mask.forEach((m, j) => {
      if (m === 0) expect(kernel[j]).toEqual([0, 0, 0]);
    });
  });

  it("training: false is inference: no masks, the answer of the model without dropout", async () => {
    const res = await post("/gradients", { ...request, training: false });
    expect(res.statusCode, res.body).toBe(200);
    const body = GradientsResponseSchema.parse(res.json());
    expect(body.dropoutMasks).toBeUndefined();
    const plain = (await post("/gradients", { ...request, model: withoutDropout })).json();
    expect(body.loss).toBe(plain.loss);
    expect(body.gradients).toEqual(plain.gradients);
    expect(body.numerical!.maxRelError).toBeLessThan(1e-7);
  });

  it("a model without dropout answers without dropoutMasks in either mode", async () => {
    for (const training of [true, false]) {
      const body = (await post("/gradients", { ...request, model: withoutDropout, training })).json();
      expect("dropoutMasks" in body).toBe(false);
    }
  });
});

describe("/train and /predict with dropout", () => {
  const x = Array.from({ length: 24 }, (_, i) => [Math.sin(i), Math.cos(i), (i % 5) / 5, i / 24]);
  const y = x.map((_, i) => i % 3);
  const body = {
    model,
    dataset: { x, y },
    optimizer: { type: "adam", learningRate: 0.02 },
    batchSize: 5,
    seed: 11,
    validationSplit: 0.25,
  };

  it("10 epochs, then 10 more from optimizerState (its dropoutRng), equal 20 at once", async () => {
    const whole = (await post("/train", { ...body, epochs: 20 })).json();
    const first = await post("/train", { ...body, epochs: 10, returnOptimizerState: true });
    expect(first.statusCode, first.body).toBe(200);
    const state = TrainResponseSchema.parse(first.json()).optimizerState!;
    expect(Object.keys(state.dropoutRng!)).toEqual(["drop"]);
    const second = await post("/train", {
      ...body,
      epochs: 10,
      initialWeights: first.json().weights,
      optimizerState: state,
    });
    expect(second.statusCode, second.body).toBe(200);
    expect(second.json().weightsSha256).toBe(whole.weightsSha256);
    // Without the streams the state is a 422 naming them.
    const { dropoutRng: _, ...stateless } = state;
    const bad = await post("/train", {
      ...body,
      epochs: 1,
      initialWeights: first.json().weights,
      optimizerState: stateless,
    });
    expect(bad.statusCode, bad.body).toBe(422);
    expect((bad.json() as ProblemBody).errors!.map((e) => e.path)).toEqual(["optimizerState.dropoutRng"]);
  });

  it("/predict through dropout is the identity", async () => {
    const trained = (await post("/train", { ...body, epochs: 3 })).json();
    const a = (await post("/predict", { model, weights: trained.weights, x })).json();
    const b = (await post("/predict", { model: withoutDropout, weights: trained.weights, x })).json();
    expect(a.outputs).toEqual(b.outputs);
  });

  it("a job in checkpointed chunks ends with /train's weights, bit for bit", async () => {
    const job = { ...body, epochs: 8 };
    const res = await post("/jobs", job);
    expect(res.statusCode, res.body).toBe(202);
    const done = await waitForJob(app, res.json().id as string);
    expect(done.status, JSON.stringify(done.error)).toBe("succeeded");
    const sync = (await post("/train", job)).json();
    expect(done.result!.weightsSha256).toBe(sync.weightsSha256);
    expect(done.result!.history).toEqual(sync.history);
  });
});

describe("dropout: Keras spellings and bad options", () => {
  const problem = async (layer: object, status: number) => {
    const res = await post("/train", {
      model: {
        inputShape: [2, 3],
        layers: [layer, { type: "flatten" }, { type: "dense", units: 1 }],
        loss: "meanSquaredError",
      },
      dataset: {
        x: [
          [
            [1, 2, 3],
            [4, 5, 6],
          ],
        ],
        y: [[1]],
      },
      optimizer: { type: "sgd", learningRate: 0.1 },
      epochs: 1,
    });
    expect(res.statusCode, res.body).toBe(status);
    return (res.json() as ProblemBody).errors ?? [];
  };

  it("Dropout and noise_shape get hints", async () => {
    const a = await problem({ type: "Dropout", rate: 0.5 }, 400);
    expect(a[0]!.message).toContain("did you mean `dropout`?");
    const b = await problem({ type: "dropout", rate: 0.5, noise_shape: [1, 3] }, 400);
    expect(b.map((e) => e.message).join(" ")).toContain("`noiseShape`");
  });

  it.each([
    [{ type: "dropout", rate: 1 }, "model.layers[0].rate"],
    [{ type: "dropout", rate: -0.1 }, "model.layers[0].rate"],
    [{ type: "dropout" }, "model.layers[0].rate"],
    [{ type: "dropout", rate: 0.5, seed: 2 ** 32 }, "model.layers[0].seed"],
    [{ type: "dropout", rate: 0.5, seed: -1 }, "model.layers[0].seed"],
    [{ type: "dropout", rate: 0.5, noiseShape: [0, 3] }, "model.layers[0].noiseShape[0]"],
  ])("%j is a 400 at %s", async (layer, path) => {
    const errors = await problem(layer, 400);
    expect(errors.map((e) => e.path)).toEqual([path]);
  });

  it.each([
    [[3, 3], "model.layers[0].noiseShape[0]"],
    [[null, 2, 2], "model.layers[0].noiseShape[2]"],
    [[5, 2, 3], "model.layers[0].noiseShape[0]"],
    [[1], "model.layers[0].noiseShape"],
  ])("noiseShape %j does not broadcast to [2, 3]: a 422 at %s", async (noiseShape, path) => {
    const errors = await problem({ type: "dropout", rate: 0.5, noiseShape }, 422);
    expect(errors.map((e) => e.path)).toEqual([path]);
    expect(errors[0]!.message).toContain("noiseShape");
  });

  it("rate 0 and noiseShape with the batch axis train", async () => {
    expect((await problem({ type: "dropout", rate: 0 }, 200)).length).toBe(0);
    expect((await problem({ type: "dropout", rate: 0.3, noiseShape: [null, 1, 3] }, 200)).length).toBe(0);
    expect((await problem({ type: "dropout", rate: 0.3, noiseShape: [1, 2, -1] }, 200)).length).toBe(0);
  });
});
