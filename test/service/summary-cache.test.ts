/**
 * SummaryCache and `describe`: one description per spec and limit, never a stale one for a
 * changed spec, no error kept; and POST /gradients through the cache answers exactly what the
 * engine alone gives when the spec or the weights change between requests.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  computeGradients,
  describeModel,
  type ModelSpec,
  type ModelSummary,
} from "../../src/engine/index.js";
import { deepFreeze } from "../../src/schemas/accepted-memo.js";
import { gradientsExample } from "../../src/schemas/examples.js";
import { nestedToNamedTensors } from "../../src/service/convert.js";
import { describe as describeSpec } from "../../src/service/plan/limits.js";
import { SummaryCache } from "../../src/service/plan/summary-cache.js";
import { gradientsResponse } from "../../src/service/responses.js";
import { buildTestApp } from "../http/helper.js";

const spec = (units: number): ModelSpec => ({
  inputShape: [2],
  layers: [
    { type: "dense", units, activation: "tanh" },
    { type: "dense", units: 3, activation: "softmax" },
  ],
  loss: "categoricalCrossentropy",
});

/** `describeModel` counting its calls. */
function counting(): { calls: number; of: (s: ModelSpec, maxParams?: number) => () => ModelSummary } {
  const c = {
    calls: 0,
    of: (s: ModelSpec, maxParams?: number) => () => {
      c.calls++;
      return describeModel(s, maxParams === undefined ? {} : { maxParams });
    },
  };
  return c;
}

describe("SummaryCache", () => {
  it("describes a spec once and hands the same frozen summary to later requests", () => {
    const cache = new SummaryCache(8);
    const d = counting();
    const a = cache.get(spec(4), 1000, d.of(spec(4)));
    // A new object with the same JSON: a request parsed again.
    const b = cache.get(JSON.parse(JSON.stringify(spec(4))), 1000, d.of(spec(4)));
    expect(b).toBe(a);
    expect(d.calls).toBe(1);
    // 2×4 + 4 + 4×3 + 3 parameters.
    expect(a.paramCount).toBe(27);
    expect(Object.isFrozen(a.layers[0]!.params[0]!.shape)).toBe(true);
    expect(() => {
      (a.layers[0]!.outputShape as number[])[0] = 9;
    }).toThrow(TypeError);
  });

  it("never answers a changed spec, or another limit, with a stale entry", () => {
    const cache = new SummaryCache(8);
    const d = counting();
    expect(cache.get(spec(4), 1000, d.of(spec(4))).paramCount).toBe(27);
    expect(cache.get(spec(5), 1000, d.of(spec(5))).paramCount).toBe(33);
    const relu = {
      ...spec(4),
      layers: [{ type: "dense", units: 4, activation: "relu" }, spec(4).layers[1]!],
    };
    const r = cache.get(relu, 1000, d.of(relu as ModelSpec));
    expect(r.paramCount).toBe(27);
    expect(r).not.toBe(cache.get(spec(4), 1000, d.of(spec(4))));
    // The same spec under a lower MAX_PARAMS is described again, and refused.
    expect(() => cache.get(spec(4), 20, d.of(spec(4), 20))).toThrow(/20/);
    expect(d.calls).toBe(4);
  });

  it("keeps no error, and drops the least recently used entry past its capacity", () => {
    const cache = new SummaryCache(2);
    let calls = 0;
    const failing = () => {
      calls++;
      throw new Error("bad spec");
    };
    expect(() => cache.get(spec(1), 1000, failing)).toThrow("bad spec");
    expect(() => cache.get(spec(1), 1000, failing)).toThrow("bad spec");
    expect(calls).toBe(2);
    expect(cache.size).toBe(0);
    const d = counting();
    cache.get(spec(2), 1000, d.of(spec(2)));
    cache.get(spec(3), 1000, d.of(spec(3)));
    cache.get(spec(2), 1000, d.of(spec(2))); // spec(3) is now the oldest
    cache.get(spec(4), 1000, d.of(spec(4)));
    expect(cache.size).toBe(2);
    expect(d.calls).toBe(3);
    cache.get(spec(2), 1000, d.of(spec(2)));
    expect(d.calls).toBe(3);
    cache.get(spec(3), 1000, d.of(spec(3)));
    expect(d.calls).toBe(4);
  });

  it("finds a deep-frozen spec (a validated request's model) by identity, past the JSON entries' capacity", () => {
    const cache = new SummaryCache(1);
    const d = counting();
    const frozen = deepFreeze(spec(4));
    const a = cache.get(frozen, 1000, d.of(spec(4)));
    cache.get(spec(5), 1000, d.of(spec(5))); // evicts spec(4)'s JSON entry
    expect(cache.get(frozen, 1000, d.of(spec(4)))).toBe(a);
    expect(d.calls).toBe(2);
    // An unfrozen copy is looked up by its JSON: described again (its entry was dropped).
    expect(cache.get(spec(4), 1000, d.of(spec(4)))).toEqual(a);
    expect(d.calls).toBe(3);
    // Frozen on top only: not by identity.
    const shallow = Object.freeze(spec(6));
    cache.get(shallow, 1000, d.of(spec(6)));
    cache.get(spec(5), 1000, d.of(spec(5)));
    cache.get(shallow, 1000, d.of(spec(6)));
    expect(d.calls).toBe(6);
    // Another limit is another description, and refused under it.
    expect(() => cache.get(frozen, 20, d.of(spec(4), 20))).toThrow(/20/);
  });

  it("describe() gives what describeModel gives, for a spec met before and after a change", () => {
    const limits = { maxParams: 1000, maxWork: 1e9 };
    for (const s of [spec(4), spec(6), spec(4)])
      expect(describeSpec(s, limits)).toEqual(describeModel(s, { maxParams: 1000 }));
    // Over the limit: the 422 still comes, whatever was cached for the spec under another limit.
    expect(() => describeSpec(spec(4), { maxParams: 20, maxWork: 1e9 })).toThrow(/MAX_PARAMS/);
  });
});

describe("POST /gradients through the summary cache", () => {
  let app: Awaited<ReturnType<typeof buildTestApp>>;
  beforeAll(async () => {
    app = await buildTestApp();
  });
  afterAll(async () => {
    await app.close();
  });

  const post = async (body: unknown) => {
    const res = await app.inject({ method: "POST", url: "/gradients", payload: body as object });
    expect(res.statusCode, res.body).toBe(200);
    return res.body;
  };
  /** The engine's answer without the service (no plan, no cache), serialised as the worker does. */
  const reference = (model: ModelSpec, weights?: unknown, x: readonly number[] = gradientsExample.x) => {
    const data = { n: 1, x: Float64Array.from(x), y: Float64Array.from(gradientsExample.y) };
    const w = weights === undefined ? undefined : nestedToNamedTensors(weights as never, ["weights"]);
    const r = computeGradients({ model, seed: gradientsExample.seed, data, ...(w ? { weights: w } : {}) });
    return JSON.stringify(gradientsResponse(r, gradientsExample.seed));
  };

  it("answers a changed spec, or changed weights, as the engine alone does, byte for byte", async () => {
    const seedBody = { ...gradientsExample, numericalCheck: false };
    const seedSpec = JSON.parse(JSON.stringify(seedBody.model)) as ModelSpec;
    const wider: ModelSpec = {
      ...seedSpec,
      layers: [{ type: "dense", units: 4, activation: "sigmoid" }, ...seedSpec.layers.slice(1)],
    };
    const first = await post(seedBody);
    expect(first).toBe(reference(seedSpec));
    const widerAnswer = await post({ ...seedBody, model: wider });
    expect(widerAnswer).toBe(reference(wider));
    expect(JSON.parse(widerAnswer).gradients["dense_0/kernel"][0]).toHaveLength(4);
    // Another input shape: the sample is checked against this spec's summary, not the last one's.
    const x3 = [0.5, -1.2, 0.3];
    const threeInputs: ModelSpec = { ...seedSpec, inputShape: [3] };
    expect(await post({ ...seedBody, model: threeInputs, x: x3 })).toBe(
      reference(threeInputs, undefined, x3),
    );
    const weights = JSON.parse(first).weights as { "dense_0/kernel": number[][] };
    weights["dense_0/kernel"][0]![0] = 0.25;
    const withWeights = await post({ ...seedBody, weights });
    expect(withWeights).toBe(reference(seedSpec, weights));
    expect(JSON.parse(withWeights).weights["dense_0/kernel"][0][0]).toBe(0.25);
    expect(JSON.parse(withWeights).loss).not.toBe(JSON.parse(first).loss);
    // Back to the first spec and seeded weights: the first answer again.
    expect(await post(seedBody)).toBe(first);
  });
});
