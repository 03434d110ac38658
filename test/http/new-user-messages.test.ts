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
