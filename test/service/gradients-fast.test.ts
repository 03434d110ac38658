/**
 * The fast path of POST /gradients' body (src/schemas/gradients-fast.ts) against zod: for every
 * body, either it declines (undefined: zod validates, so every 4xx keeps zod's issues) or it gives
 * exactly zod's output as JSON data (same keys in the same order, every number by `Object.is`,
 * the model the very object zod hands out). Bodies: generated valid ones (test/fuzz generators,
 * every layer kind), the same bodies broken by the fuzz suite's mutations, and a table of edges.
 * Reproduce a failure: rerun with FUZZ_SEED=<seed>.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { safeParse } from "zod/v4/core";
import { parseJsonBody } from "../../src/http/json-body.js";
import { sameJson } from "../../src/schemas/accepted-memo.js";
import { acceptGradientsBody } from "../../src/schemas/gradients-fast.js";
import { GradientsRequestSchema } from "../../src/schemas/requests.js";
import { breakRequest, genGradients, rand } from "../fuzz/generators.js";
import { toJsonText } from "../fuzz/json-text.js";

const SEED = Number(process.env.FUZZ_SEED ?? 2026_17);
const RUNS = Math.max(1, Math.round(300 * Number(process.env.FUZZ_RUNS ?? 1)));

/** The body as the service's parser makes it, or undefined when it answers 400 before validation. */
function parsed(text: string): unknown {
  try {
    return parseJsonBody(text);
  } catch {
    return undefined;
  }
}

/**
 * Checks the fast path on a fresh parse of `text` against zod on another; returns whether the fast
 * path took the body. Zod runs first, so a model it accepts is in the memo the fast path reads.
 */
function compare(text: string): "fast" | "declined" | "unparsed" {
  const forZod = parsed(text);
  if (forZod === undefined) return "unparsed";
  const zod = safeParse(GradientsRequestSchema, forZod);
  const fast = acceptGradientsBody(parsed(text));
  if (!zod.success) {
    expect(fast, text).toBeUndefined();
    return "declined";
  }
  if (fast === undefined) return "declined";
  expect(sameJson(fast, zod.data), text).toBe(true);
  expect(Object.keys(fast), text).toEqual(Object.keys(zod.data));
  // The model is the memo's deep-frozen output, the object zod hands out for it.
  expect(fast.model, text).toBe(zod.data.model);
  return "fast";
}

describe("the fast path of POST /gradients' body", () => {
  it("gives zod's output for generated bodies, and declines a model zod has not seen", () => {
    let taken = 0;
    for (const g of fc.sample(fc.gen(), { seed: SEED, numRuns: RUNS })) {
      const r = rand(g);
      const { body } = genGradients(r);
      // A model seen for the first time is left to zod (which remembers it when it accepts it).
      const unseen = { ...body, model: { ...(body.model as object), name: `m${r.int(0, 2 ** 30)}` } };
      expect(acceptGradientsBody(parsed(toJsonText(unseen)))).toBeUndefined();
      if (compare(toJsonText(body)) === "fast") taken++;
    }
    // Every body without a numericalCheck object (about 85 %) is the common shape.
    expect(taken).toBeGreaterThan(RUNS * 0.7);
  });

  it("declines every body zod rejects: the fuzz suite's broken bodies", () => {
    const outcomes = { fast: 0, declined: 0, unparsed: 0 };
    for (const g of fc.sample(fc.gen(), { seed: SEED + 1, numRuns: RUNS })) {
      const r = rand(g);
      const valid = genGradients(r);
      compare(toJsonText(valid.body)); // the model remembered, so a broken body reaches the fast path's checks
      outcomes[compare(breakRequest(r, valid).text)]++;
    }
    expect(outcomes.declined).toBeGreaterThan(RUNS / 2);
  });

  it("agrees with zod at the edges of every field", () => {
    const model = {
      inputShape: [2],
      layers: [{ type: "dense", units: 3, activation: "softmax" }],
      loss: "categoricalCrossentropy",
    };
    const base = { model, x: [0.5, -1.2], y: [0, 1, 0] };
    compare(JSON.stringify(base));
    const text = (extra: string) => `${JSON.stringify(base).slice(0, -1)},${extra}}`;
    const kernel = "[[1,2,3],[4,5,6]]";
    const cases: [string, "fast" | "declined"][] = [
      [JSON.stringify(base), "fast"],
      [text('"seed":0'), "fast"],
      [text('"seed":-0'), "fast"],
      [text('"seed":4294967295'), "fast"],
      [text('"seed":4294967296'), "declined"],
      [text('"seed":-1'), "declined"],
      [text('"seed":1.5'), "declined"],
      [text('"seed":"7"'), "declined"],
      [text('"seed":null'), "declined"],
      [text('"dtype":"float32"'), "fast"],
      [text('"dtype":"float16"'), "declined"],
      [text('"numericalCheck":false,"training":true'), "fast"],
      [text('"numericalCheck":"yes"'), "declined"],
      [text('"numericalCheck":{"method":"forward"}'), "declined"], // zod's, with its default epsilon
      [text('"training":0'), "declined"],
      [text('"extra":1'), "declined"],
      [text(`"weights":{"dense_0/kernel":${kernel},"dense_0/bias":[0,-0,1e-300]}`), "fast"],
      [text(`"weights":{"${"k".repeat(200)}":[1]}`), "fast"],
      [text(`"weights":{"${"k".repeat(201)}":[1]}`), "declined"],
      [text('"weights":{"a":[1,null]}'), "declined"],
      [text('"weights":{"a":[1,1e999]}'), "declined"],
      [text('"weights":[]'), "declined"],
      [text('"weights":{"1":[1],"b":[[2]],"a":3}'), "fast"],
      ['{"model":{"inputShape":[2],"layers":[],"loss":"mse"},"x":[1],"y":[1]}', "declined"],
      [JSON.stringify({ ...base, x: [0.5, "1"] }), "declined"],
      [JSON.stringify({ ...base, x: [[[[[0.5]]]], -1.2] }), "fast"],
      [JSON.stringify({ ...base, x: 1 }), "fast"],
      [JSON.stringify({ ...base, y: {} }), "declined"],
      [JSON.stringify({ ...base, x: [1e308, -1e-320] }), "fast"],
      [JSON.stringify({ model, x: [1] }), "declined"],
      [JSON.stringify({ model: { modelId: "m_1" }, x: [1], y: [1] }), "fast"],
      ["[1,2]", "declined"],
      ["null", "declined"],
      ["7", "declined"],
    ];
    for (const [body, expected] of cases) expect(compare(body), body).toBe(expected);
  });
});
