/**
 * Messages a new user met, each with the exact request and the answer it now gets: the field
 * named, what was expected said once, in words about the value sent.
 */
import type { FastifyInstance, LightMyRequestResponse } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildTestApp, type ProblemBody, sgd, tinyModel } from "./helper.js";

let app: FastifyInstance;
beforeAll(async () => {
  app = await buildTestApp();
});
afterAll(async () => {
  await app.close();
});

function trainBody(overrides: Record<string, unknown> = {}) {
  return {
    model: tinyModel(),
    dataset: { x: [[0.1, 0.2]], y: [0] },
    optimizer: sgd,
    epochs: 1,
    seed: 1,
    ...overrides,
  };
}

/** The field errors of an answer with `status` (400 or 422), path → message. */
function errorsOf(res: LightMyRequestResponse, status = 400): Record<string, string> {
  const body = res.json() as ProblemBody;
  expect(res.statusCode, res.body).toBe(status);
  return Object.fromEntries((body.errors ?? []).map((e) => [e.path, e.message]));
}

const post = (payload: unknown, url = "/train") =>
  app.inject({ method: "POST", url, payload: payload as object });

/** A model whose first layer is `layer`. */
const modelWith = (layer: Record<string, unknown>) => ({
  ...tinyModel(),
  layers: [layer, { type: "dense", units: 3, activation: "softmax" }],
});

describe("classWeight keys", () => {
  const said = 'keys are class indices written as decimal integers ("0", "1", …)';
  it.each([
    ["a", "classWeight.a"],
    ["1.5", 'classWeight["1.5"]'],
    ["00", 'classWeight["00"]'],
  ])("key %j names classWeight and what a key is", async (key, path) => {
    const errors = errorsOf(await post(trainBody({ classWeight: { [key]: 1 } })));
    expect(errors).toEqual({ [path]: `invalid key ${JSON.stringify(key)} of \`classWeight\`: ${said}` });
  });
});

describe("a size check on a value of the wrong type is not reported", () => {
  const state = (shuffleRng: unknown, extra: Record<string, unknown> = {}) => ({
    type: "sgd",
    iterations: 0,
    epochsCompleted: 0,
    shuffleRng,
    shuffleOrder: [0],
    ...extra,
  });
  it.each(["x", "abcd", [1, 2, 3], 7])("shuffleRng %j: an array of 4 integers", async (rng) => {
    const errors = errorsOf(await post(trainBody({ optimizerState: state(rng) })));
    expect(errors).toEqual({ "optimizerState.shuffleRng": "expected an array of 4 integers in [0, 2^32)" });
  });

  it("a dropout layer's generator state, sent as a string", async () => {
    const errors = errorsOf(
      await post(trainBody({ optimizerState: state([1, 2, 3, 4], { dropoutRng: { dropout_1: "abcd" } }) })),
    );
    expect(errors).toEqual({
      "optimizerState.dropoutRng.dropout_1": "expected an array of 4 integers in [0, 2^32)",
    });
  });

  it("a long string where the metrics list belongs gets no string-length message", async () => {
    const errors = errorsOf(await post(trainBody({ metrics: "accuracy".repeat(10) })));
    expect(errors).toEqual({ metrics: "Invalid input: expected array, received string" });
  });
});

describe("a number out of several bounds gets the tightest one", () => {
  it.each([
    [1e20, "Too big: expected number to be <=4294967295"],
    [-1e20, "Too small: expected number to be >=0"],
    [2 ** 32, "Too big: expected number to be <=4294967295"],
  ])("seed %j", async (seed, message) => {
    expect(errorsOf(await post(trainBody({ seed })))).toEqual({ seed: message });
  });
});

describe("activation names", () => {
  it('"None" (Keras\' linear) is hinted as linear', async () => {
    const errors = errorsOf(
      await post(trainBody({ model: modelWith({ type: "dense", units: 4, activation: "None" }) })),
    );
    expect(errors["model.layers[0].activation"]).toMatch(
      /^unknown activation "None": did you mean `linear`\? available: /,
    );
  });

  it("null: expected an activation name (the article fits the vowel)", async () => {
    const errors = errorsOf(
      await post(trainBody({ model: modelWith({ type: "dense", units: 4, activation: null }) })),
    );
    expect(errors["model.layers[0].activation"]).toMatch(
      /^expected an activation name, got null; available: `linear`, /,
    );
  });

  it("a name that is a kind elsewhere gets its article too", async () => {
    const errors = errorsOf(await post(trainBody({ model: { ...tinyModel(), loss: "adam" } })));
    expect(errors["model.loss"]).toContain("`adam` is an `optimizer.type`");
  });
});

describe("a tag sent in a union without one (a regularizer)", () => {
  it('{"type": "l2", "l2": 0.01} says what a regularizer is', async () => {
    const layer = { type: "dense", units: 4, kernelRegularizer: { type: "l2", l2: 0.01 } };
    expect(errorsOf(await post(trainBody({ model: modelWith(layer) })))).toEqual({
      "model.layers[0].kernelRegularizer.type":
        'unknown field: `kernelRegularizer` has no `type`; it is {l1?, l2?} or one of "l1", "l2", "l1l2": ' +
        'send the name alone, "kernelRegularizer": "l2", or the object without `type`',
    });
  });

  it("a tag that is not one of the names says only what the value is", async () => {
    const layer = { type: "dense", units: 4, biasRegularizer: { type: "L1L2Reg", l1: 0.01 } };
    expect(errorsOf(await post(trainBody({ model: modelWith(layer) })))).toEqual({
      "model.layers[0].biasRegularizer.type":
        'unknown field: `biasRegularizer` has no `type`; it is {l1?, l2?} or one of "l1", "l2", "l1l2"',
    });
  });
});

describe("a layer after the output activation (the loss check)", () => {
  it.each([
    [{ type: "dropout", rate: 0.5 }, "dropout"],
    [{ type: "batchNormalization" }, "batchNormalization"],
  ])("%j after the softmax is named, not 'linear'", async (layer, type) => {
    const model = { ...tinyModel(), layers: [...tinyModel().layers, layer] };
    expect(errorsOf(await post(trainBody({ model })), 422)).toEqual({
      "model.loss":
        `sparseCategoricalCrossentropy needs probabilities, but the model's last layer is a ${type} layer after ` +
        `the output activation softmax; the output layer must be last: move the ${type} layer before it, or end ` +
        "the model with activation softmax, or set fromLogits",
    });
  });
});

describe("a top-level field another route has", () => {
  it("/predict with a seed is not pointed at the dropout layer's seed", async () => {
    const res = await post({ model: tinyModel(), weights: {}, x: [[0, 0]], seed: 1 }, "/predict");
    expect(errorsOf(res)).toEqual({ seed: "unknown field: this route takes no `seed`" });
  });
});
