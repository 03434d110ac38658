/**
 * A body with more bad entries than an answer lists (130,000 strings where numbers belong, as many
 * unknown keys): a 400 naming the first, 100 errors listed and the rest counted, worked out without
 * a zod issue (or a recursion) per bad entry; and an error whose answer cannot be worked out is
 * still a problem+json 500.
 */
import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { safeParse } from "zod/v4/core";
import { loadConfig } from "../../src/config.js";
import { buildApp } from "../../src/http/app.js";
import { MAX_FIELD_ERRORS } from "../../src/http/validation.js";
import { InlineDatasetSchema } from "../../src/schemas/dataset.js";
import { SampleWeightSchema } from "../../src/schemas/training.js";
import { buildTestApp, type ProblemBody, sgd } from "./helper.js";

const N = 130_000;
const model = { inputShape: [1], layers: [{ type: "dense", units: 1 }], loss: "meanSquaredError" };
const trainBody = (extra: Record<string, unknown>) => ({
  model,
  dataset: { x: [[1]], y: [1] },
  optimizer: sgd,
  epochs: 1,
  ...extra,
});

let app: FastifyInstance;
beforeAll(async () => {
  app = await buildTestApp();
});
afterAll(async () => {
  await app.close();
});

/** The 400's first error and how many the detail says there are, with 100 listed. */
async function answer(url: string, payload: unknown) {
  const res = await app.inject({ method: "POST", url, payload: payload as object });
  expect(res.statusCode, res.body.slice(0, 300)).toBe(400);
  expect(res.headers["content-type"]).toMatch(/^application\/problem\+json/);
  const body = res.json() as ProblemBody;
  expect(body.errors).toHaveLength(MAX_FIELD_ERRORS);
  return { first: body.errors?.[0], last: body.errors?.at(-1), detail: body.detail };
}

describe("130,000 bad samples or targets", () => {
  const strings = { x: Array(N).fill("a"), y: Array(N).fill(1) };
  const nulls = { x: Array(N).fill([1]), y: Array(N).fill(null) };
  const got = (t: string) => `expected a number or an array of numbers, got ${t}`;

  it.each(["/train", "/jobs"])("%s: dataset.x of strings is a 400 naming dataset.x[0]", async (url) => {
    const { first, last, detail } = await answer(url, trainBody({ dataset: strings }));
    expect(first).toEqual({ path: "dataset.x[0]", message: got("string") });
    expect(last).toEqual({ path: "dataset.x[99]", message: got("string") });
    expect(detail).toBe(
      `the request body does not match the schema: dataset.x[0]: ${got("string")} (and ${N - 1} more, see errors)`,
    );
  });

  it("/train: dataset.y of nulls names dataset.y[0]", async () => {
    const { first, detail } = await answer("/train", trainBody({ dataset: nulls }));
    expect(first).toEqual({ path: "dataset.y[0]", message: got("null") });
    expect(detail).toMatch(/\(and 129999 more, see errors\)$/);
  });

  it("/datasets: x of strings, and one sample of 130,000 strings", async () => {
    expect((await answer("/datasets", strings)).first).toEqual({ path: "x[0]", message: got("string") });
    const one = await answer("/datasets", { x: [Array(N).fill("a")], y: [1] });
    expect(one.first).toEqual({ path: "x[0][0]", message: got("string") });
    expect(one.last).toEqual({ path: "x[0][99]", message: got("string") });
    expect(one.detail).toMatch(/\(and 129999 more, see errors\)$/);
  });

  it("/train: sampleWeight and shuffleOrder of strings; initialWeights with a tensor of strings", async () => {
    const numberExpected = "Invalid input: expected number, received string";
    const sw = await answer("/train", trainBody({ sampleWeight: Array(N).fill("a") }));
    expect(sw.first).toEqual({ path: "sampleWeight[0]", message: numberExpected });
    expect(sw.detail).toMatch(/\(and 129999 more, see errors\)$/);
    const state = { type: "sgd", iterations: 0, epochsCompleted: 0, shuffleRng: [1, 2, 3, 4] };
    const so = await answer(
      "/train",
      trainBody({ optimizerState: { ...state, shuffleOrder: Array(N).fill("a") } }),
    );
    expect(so.first).toEqual({ path: "optimizerState.shuffleOrder[0]", message: numberExpected });
    const w = await answer("/train", trainBody({ initialWeights: { "dense/kernel": [Array(N).fill("a")] } }));
    expect(w.first).toEqual({ path: 'initialWeights["dense/kernel"][0][0]', message: got("string") });
    expect(w.detail).toMatch(/\(and 129999 more, see errors\)$/);
  });

  it("9,000 unknown keys: the first 100 listed, all counted; 130,000 refused at parse", async () => {
    const keys = (n: number) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`k${i}`, 1]));
    const { first, detail } = await answer("/train", trainBody(keys(9000)));
    expect(first).toEqual({ path: "k0", message: "unknown field" });
    expect(detail).toMatch(/\(and 8999 more, see errors\)$/);
    // Past 10,000 keys in one object the body's parse refuses it, before any schema runs.
    const res = await app.inject({ method: "POST", url: "/train", payload: trainBody(keys(N)) });
    expect(res.statusCode).toBe(400);
    expect((res.json() as ProblemBody).errors).toEqual([
      { path: "", message: expect.stringMatching(/^an object of 13000\d keys; at most 10000/) },
    ]);
  });

  it("the schemas raise at most 101 issues for them, not one per bad entry", () => {
    const x = safeParse(InlineDatasetSchema, strings);
    expect(x.success).toBe(false);
    // 100 listed and one that counts the other 129,900.
    expect(x.error?.issues).toHaveLength(101);
    expect(x.error?.issues.at(-1)).toMatchObject({ path: ["x"], params: { omitted: N - 100 } });
    const deep = safeParse(InlineDatasetSchema, { x: [[[Array(N).fill(null)]]], y: [1] });
    expect(deep.error?.issues[0]?.path).toEqual(["x", 0, 0, 0, 0]);
    expect(deep.error?.issues).toHaveLength(101);
    expect(safeParse(SampleWeightSchema, Array(N).fill(-1)).error?.issues).toHaveLength(101);
  });

  it("an array they accept is taken as it was sent", () => {
    const ok = safeParse(InlineDatasetSchema, {
      x: [
        [1, 2],
        [3, [4]],
      ],
      y: [0, 1e-300],
    });
    expect(ok).toEqual({
      success: true,
      data: {
        x: [
          [1, 2],
          [3, [4]],
        ],
        y: [0, 1e-300],
      },
    });
  });
});

describe("an error whose answer cannot be worked out", () => {
  it("is a problem+json 500 that says where it is logged, nothing more", async () => {
    const own = await buildApp({
      config: loadConfig({ POOL_SIZE: "1", DATA_DIR: ":memory:" }),
      logger: false,
    });
    // An error whose status code cannot even be read.
    own.get("/broken", async () => {
      throw Object.defineProperty(new Error("secret detail"), "statusCode", {
        get() {
          throw new RangeError("Maximum call stack size exceeded");
        },
      });
    });
    try {
      const res = await own.inject({ method: "GET", url: "/broken" });
      expect(res.statusCode).toBe(500);
      expect(res.headers["content-type"]).toMatch(/^application\/problem\+json/);
      const body = res.json() as ProblemBody & { requestId: string };
      expect(body).toMatchObject({ type: "about:blank", title: "Internal Server Error", status: 500 });
      expect(body.detail).toBe(`an internal error occurred; it is logged under request id ${body.requestId}`);
      expect(res.body).not.toMatch(/secret|Maximum call stack/);
    } finally {
      await own.close();
    }
  });
});
