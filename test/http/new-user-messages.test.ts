/**
 * Answers to bad input a new user's pass found wanting, each with the exact request and the
 * answer it now gets: a union says what it takes, a hint names the kinds that have a field, a
 * wrapped layer's kind gets the kinds there are, a name collision says whose name it is.
 */
import type { FastifyInstance, LightMyRequestResponse } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { type SchemaValidationError, validatorCompiler } from "../../src/http/validation.js";
import { buildTestApp, type ProblemBody, sgd } from "./helper.js";

let app: FastifyInstance;
beforeAll(async () => {
  app = await buildTestApp();
});
afterAll(async () => {
  await app.close();
});

const model = { inputShape: [2], layers: [{ type: "dense", units: 1 }], loss: "meanSquaredError" };
const trainBody = (extra: Record<string, unknown> = {}) => ({
  model,
  dataset: { x: [[1, 2]], y: [1] },
  optimizer: sgd,
  epochs: 1,
  ...extra,
});
/** A model whose first layer is `layer`, on samples of `inputShape`. */
const withLayer = (layer: Record<string, unknown>, inputShape = [2]) => ({
  ...model,
  inputShape,
  layers: [layer, { type: "dense", units: 1 }],
});

/** The field errors of an answer with `status`, path → message. */
function errorsOf(res: LightMyRequestResponse, status = 400): Record<string, string> {
  expect(res.statusCode, res.body).toBe(status);
  const body = res.json() as ProblemBody;
  return Object.fromEntries((body.errors ?? []).map((e) => [e.path, e.message]));
}

const post = (payload: unknown, url = "/train") =>
  app.inject({
    method: "POST",
    url,
    payload: typeof payload === "string" ? payload : JSON.stringify(payload),
    headers: { "content-type": "application/json" },
  });

describe("a union says what it takes, never a bare 'Invalid input'", () => {
  const rate = "expected a finite number ≥ 0 or a schedule object {type, ...}";
  it.each(["1e999", '"NaN"', '"0.01"', "null", "true"])("learningRate %s", async (sent) => {
    const text = JSON.stringify(trainBody()).replace('"learningRate":0.1', `"learningRate":${sent}`);
    expect(errorsOf(await post(text))).toEqual({ "optimizer.learningRate": rate });
  });

  it("a negative rate gets its bound, a schedule its missing fields", async () => {
    const neg = trainBody({ optimizer: { type: "sgd", learningRate: -1 } });
    expect(errorsOf(await post(neg))).toEqual({
      "optimizer.learningRate": "Too small: expected number to be >=0",
    });
    const schedule = trainBody({
      optimizer: { type: "sgd", learningRate: { type: "cosineDecay", decaySteps: 9 } },
    });
    expect(errorsOf(await post(schedule))).toEqual({
      "optimizer.learningRate.initialLearningRate": "required field is missing (expected number)",
    });
  });

  it.each([
    [{ type: "prelu", sharedAxes: "a" }, "sharedAxes", "expected an axis (an integer ≥ 1) or a list of them"],
    [{ type: "layerNormalization", axis: "a" }, "axis", "expected an axis (an integer) or a list of them"],
    [
      { type: "dropout", rate: 0.1, noiseShape: ["a"] },
      "noiseShape[0]",
      "expected null, -1 or a positive integer",
    ],
    [
      { type: "dense", units: 1, kernelConstraint: { type: "maxNorm", axis: "a" } },
      "kernelConstraint.axis",
      "expected an axis (an integer) or a list of them",
    ],
  ])("%j", async (layer, field, message) => {
    expect(errorsOf(await post(trainBody({ model: withLayer(layer) })))).toEqual({
      [`model.layers[0].${field}`]: message,
    });
  });

  it("POST /datasets with a number: JSON {x, y} or CSV", async () => {
    expect(errorsOf(await post(5, "/datasets"))).toEqual({ "": "expected a JSON object {x, y} or CSV text" });
  });

  it("a union without a message of its own names its branches' types and the one sent", () => {
    const schema = z.strictObject({ a: z.union([z.number(), z.boolean()]) });
    const check = validatorCompiler({ schema } as never) as (d: unknown) => { error?: SchemaValidationError };
    const error = check({ a: "x" }).error;
    expect(error?.fieldErrors().errors).toEqual([
      { path: "a", message: "expected number or boolean, got string" },
    ]);
    expect(check({ a: null }).error?.fieldErrors().errors[0]?.message).toBe(
      "expected number or boolean, got null",
    );
  });
});

describe("a layer name that collides with a default name", () => {
  it("layer 0 named dense_1 is blamed at the name sent, as layer 1's default", async () => {
    const layers = [
      { type: "dense", units: 2, name: "dense_1" },
      { type: "dense", units: 1 },
    ];
    expect(errorsOf(await post(trainBody({ model: { ...model, layers } })), 422)).toEqual({
      "model.layers[0].name":
        "layer 0's name \"dense_1\" is layer 1's default name (its type and index): name layer 0 otherwise, " +
        "or give layer 1 a name",
    });
  });

  it("layer 1 named dense_0 is blamed at its own name, as layer 0's default", async () => {
    const layers = [
      { type: "dense", units: 2 },
      { type: "dense", units: 1, name: "dense_0" },
    ];
    expect(errorsOf(await post(trainBody({ model: { ...model, layers } })), 422)).toEqual({
      "model.layers[1].name":
        "layer 1's name \"dense_0\" is layer 0's default name (its type and index): name layer 1 otherwise, " +
        "or give layer 0 a name",
    });
  });

  it("two names sent alike stay a duplicate at the second", async () => {
    const layers = [
      { type: "dense", units: 2, name: "a" },
      { type: "dense", units: 1, name: "a" },
    ];
    expect(errorsOf(await post(trainBody({ model: { ...model, layers } })), 422)).toEqual({
      "model.layers[1].name": 'duplicate layer name "a"',
    });
  });
});

describe("a query integer of too many digits says the range", () => {
  const events = (id: string) => `/jobs/00000000-0000-0000-0000-000000000000/events?lastEventId=${id}`;
  it.each(["99999999999999999999", "1000000000", "9".repeat(400)])("lastEventId=%s", async (id) => {
    const res = await app.inject({ method: "GET", url: events(id) });
    expect(errorsOf(res)).toEqual({ "querystring.lastEventId": "expected an integer in [0, 999999999]" });
  });

  it("leading zeros are not digits too many; letters are not digits", async () => {
    expect((await app.inject({ method: "GET", url: events(`${"0".repeat(30)}7`) })).statusCode).toBe(404);
    const res = await app.inject({ method: "GET", url: events(`${"1".repeat(30)}a`) });
    expect(errorsOf(res)).toEqual({ "querystring.lastEventId": "expected an integer (decimal digits)" });
  });
});

describe("a generated data set over the product limit", () => {
  const product = (values: number) =>
    `samples × timesteps × features is ${values}; at most 8000000 values can be generated: lower samples or timesteps`;

  it("timesteps over its own bound is blamed alone", async () => {
    const dataset = { name: "addingProblem", timesteps: 100_000, samples: 50 };
    const res = await post(trainBody({ model: { ...model, inputShape: [4096, 2] }, dataset }));
    expect(errorsOf(res)).toEqual({ "dataset.timesteps": "Too big: expected number to be <=4096" });
  });

  it("both within their bounds but their product over it: the product, at both", async () => {
    const dataset = { name: "addingProblem", timesteps: 4000, samples: 1001 };
    const res = await post(trainBody({ model: { ...model, inputShape: [4000, 2] }, dataset }));
    expect(errorsOf(res)).toEqual({
      "dataset.samples": product(8_008_000),
      "dataset.timesteps": product(8_008_000),
    });
  });

  it("samples alone over the product (default timesteps): at samples", async () => {
    const res = await post(
      trainBody({
        model: { ...model, inputShape: [20, 1] },
        dataset: { name: "sineWave", samples: 400_001 },
      }),
    );
    expect(errorsOf(res)).toEqual({ "dataset.samples": product(8_000_020) });
  });
});

describe("Keras' short initializer aliases", () => {
  const names =
    "available: `glorotUniform`, `glorotNormal`, `heNormal`, `heUniform`, `leCunNormal`, `leCunUniform`, " +
    "`zeros`, `ones`, `randomNormal`, `randomUniform`, `truncatedNormal`, `orthogonal`, `varianceScaling`";
  it.each([
    ["embeddingsInitializer", "uniform", "randomUniform"],
    ["embeddingsInitializer", "normal", "randomNormal"],
    ["embeddingsInitializer", "zero", "zeros"],
    ["embeddingsInitializer", "one", "ones"],
  ])("%s %j is hinted as %s", async (field, sent, meant) => {
    const layer = { type: "embedding", inputDim: 3, outputDim: 2, [field]: sent };
    const res = await post(
      trainBody({
        model: { ...withLayer(layer), layers: [layer, { type: "flatten" }, { type: "dense", units: 1 }] },
      }),
    );
    expect(errorsOf(res)).toEqual({
      [`model.layers[0].${field}`]: `unknown ${field} ${JSON.stringify(sent)}: did you mean \`${meant}\`? ${names}`,
    });
  });

  it("varianceScaling's distribution still takes uniform and normal as they are", async () => {
    const init = { type: "varianceScaling", distribution: "uniform" };
    const res = await post(
      trainBody({ model: withLayer({ type: "dense", units: 2, kernelInitializer: init }) }),
    );
    expect(res.statusCode, res.body).toBe(200);
  });
});

describe("a kind a wrapper does not take", () => {
  it.each([
    [{ type: "lstm", units: 3, returnSequences: true }, "lstm"],
    [{ type: "conv2d", filters: 3, kernelSize: 1 }, "conv2d"],
    [{ type: "dropout", rate: 0.1 }, "dropout"],
  ])("timeDistributed around %j: unknown layer type, available dense", async (inner, type) => {
    const layers = [
      { type: "timeDistributed", layer: inner },
      { type: "flatten" },
      { type: "dense", units: 1 },
    ];
    const res = await post(trainBody({ model: { ...model, inputShape: [2, 1], layers } }));
    expect(errorsOf(res)).toEqual({
      "model.layers[0].layer.type": `unknown layer type "${type}" (\`${type}\` is a \`model.layers[i].type\`); available: \`dense\``,
    });
  });

  it("bidirectional around a dense layer, as before", async () => {
    const layers = [
      { type: "bidirectional", layer: { type: "dense", units: 3 } },
      { type: "dense", units: 1 },
    ];
    const res = await post(trainBody({ model: { ...model, inputShape: [2, 1], layers } }));
    expect(errorsOf(res)).toEqual({
      "model.layers[0].layer.type":
        'unknown layer type "dense" (`dense` is a `model.layers[i].type`); available: `simpleRNN`, `lstm`, `gru`',
    });
  });
});

describe("a field other kinds of layer have names those kinds, never a place inside a wrapper", () => {
  it.each([
    [
      { type: "simpleRNN", units: 3, recurrentActivation: "sigmoid" },
      "simpleRNN has no recurrentActivation (lstm and gru do)",
    ],
    [{ type: "gru", units: 3, unitForgetBias: true }, "gru has no unitForgetBias (lstm does)"],
    [{ type: "lstm", units: 3, resetAfter: true }, "lstm has no resetAfter (gru does)"],
    [
      { type: "lstm", units: 3, kernelRegularizer: "l2" },
      "lstm has no kernelRegularizer (dense, conv2d and conv1d do)",
    ],
  ])("%j", async (layer, said) => {
    const field = Object.keys(layer).at(-1) as string;
    const res = await post(trainBody({ model: withLayer(layer, [2, 1]) }));
    expect(errorsOf(res)).toEqual({ [`model.layers[0].${field}`]: `unknown field: ${said}` });
  });

  it("inside a wrapper, the wrapped layer's kinds", async () => {
    const layers = [
      { type: "bidirectional", layer: { type: "simpleRNN", units: 3, recurrentActivation: "sigmoid" } },
      { type: "dense", units: 1 },
    ];
    const res = await post(trainBody({ model: { ...model, inputShape: [2, 1], layers } }));
    expect(errorsOf(res)).toEqual({
      "model.layers[0].layer.recurrentActivation":
        "unknown field: simpleRNN has no recurrentActivation (lstm and gru do)",
    });
  });

  it("a wrapped layer's field sent on the wrapper is pointed at the wrapped layer", async () => {
    const layers = [
      { type: "bidirectional", units: 3, layer: { type: "lstm", units: 3 } },
      { type: "dense", units: 1 },
    ];
    const res = await post(trainBody({ model: { ...model, inputShape: [2, 1], layers } }));
    expect(errorsOf(res)["model.layers[0].units"]).toMatch(/`model\.layers\[i\]\.layer\.units`/);
  });
});
