/**
 * The kept models of `computeGradients` (src/engine/model-cache.ts): which specs get one, and a
 * kept model left half-loaded by a failed call answering the next call as a fresh model does.
 * test/fuzz/model-reuse.test.ts compares kept and fresh models over generated bodies.
 */
import { describe, expect, it } from "vitest";
import { computeGradients, EngineError, isDeepFrozen, type ModelSpec } from "../../src/engine/index.js";
import { withRecycledBuffers } from "../../src/engine/layers/buffer-pool.js";
import { Model } from "../../src/engine/model.js";
import {
  keptModelCount,
  REUSE_MAX_MODELS,
  REUSE_MAX_PARAMS,
  REUSE_MAX_TOTAL_PARAMS,
  reusableModel,
} from "../../src/engine/model-cache.js";
import { deepFreeze } from "../../src/schemas/accepted-memo.js";

const spec = (units = 3): ModelSpec => ({
  inputShape: [2],
  layers: [
    { type: "dense", units, activation: "tanh" },
    { type: "dropout", rate: 0.5 },
    { type: "dense", units: 2, activation: "softmax" },
  ],
  loss: "categoricalCrossentropy",
});

/** `reusableModel` with a counting builder. */
function counted(s: ModelSpec, dtype: "float64" | "float32" = "float64") {
  let builds = 0;
  const model = reusableModel(s, dtype, () => {
    builds++;
    return new Model(s, { dtype });
  });
  return { model, builds };
}

describe("reusableModel", () => {
  it("keeps the model of a deep-frozen spec object, one per dtype", () => {
    const frozen = deepFreeze(spec());
    const first = counted(frozen);
    expect(first.builds).toBe(1);
    const again = counted(frozen);
    expect(again.builds).toBe(0);
    expect(again.model).toBe(first.model);
    const f32 = counted(frozen, "float32");
    expect(f32.builds).toBe(1);
    expect(f32.model.dtype).toBe("float32");
    expect(counted(frozen, "float32").model).toBe(f32.model);
    // An equal spec in another object is another key.
    expect(counted(deepFreeze(spec())).builds).toBe(1);
  });

  it("keeps nothing for a spec that could still change, inside a buffer scope, or for a large model", () => {
    const open = spec();
    expect(counted(open).builds).toBe(1);
    expect(counted(open).builds).toBe(1);
    // Frozen on top only: its layers can still be edited.
    const shallow = Object.freeze(spec());
    expect(isDeepFrozen(shallow)).toBe(false);
    expect(counted(shallow).builds).toBe(1);
    expect(counted(shallow).builds).toBe(1);
    // Built inside `withRecycledBuffers`: its memory goes back to the pool when the scope ends.
    const scoped = deepFreeze(spec(4));
    withRecycledBuffers(() => counted(scoped));
    expect(counted(scoped).builds).toBe(1);
    // 2·u + u + u·2 + 2 parameters: one unit over the limit.
    const units = Math.ceil((REUSE_MAX_PARAMS - 1) / 5) + 1;
    const large = deepFreeze(spec(units));
    expect(counted(large).builds).toBe(1);
    expect(counted(large).builds).toBe(1);
  });

  it("keeps at most REUSE_MAX_MODELS models and REUSE_MAX_TOTAL_PARAMS weights, dropping the least recently used", () => {
    const specs = Array.from({ length: REUSE_MAX_MODELS + 1 }, (_, i) => deepFreeze(spec(10 + i)));
    for (const s of specs) counted(s);
    expect(keptModelCount().models).toBeLessThanOrEqual(REUSE_MAX_MODELS);
    // The first was dropped; the last ones are still kept.
    expect(counted(specs.at(-1)!).builds).toBe(0);
    expect(counted(specs.at(-2)!).builds).toBe(0);
    expect(counted(specs[0]!).builds).toBe(1);
    // Large models: the weights bound drops models before the count does.
    const units = Math.floor((REUSE_MAX_PARAMS - 2) / 5);
    const large = Array.from({ length: 20 }, (_, i) => deepFreeze({ ...spec(units), name: `m${i}` }));
    for (const s of large) counted(s);
    const { models, params } = keptModelCount();
    expect(params).toBeLessThanOrEqual(REUSE_MAX_TOTAL_PARAMS);
    expect(models).toBeLessThan(REUSE_MAX_MODELS);
    expect(counted(large.at(-1)!).builds).toBe(0);
    expect(counted(large[0]!).builds).toBe(1);
  });

  it("answers after a call that failed half-way through loading weights as a fresh model does", () => {
    const frozen = deepFreeze(spec(3));
    const data = { n: 1, x: Float64Array.of(0.5, -1.2), y: Float64Array.of(0, 1) };
    const base = { model: frozen, seed: 11, data, dtype: "float32" as const };
    const fresh = (o: object) => computeGradients({ ...base, model: spec(3), ...o });
    const seeded = computeGradients(base);
    expect(seeded).toEqual(fresh({}));
    // Weights whose last tensor overflows float32: the kept model's first tensors are loaded,
    // then the call fails (422 at the weight).
    const weights = structuredClone(seeded.weights);
    weights["dense_2/bias"]!.data = Float64Array.of(0, 1e39);
    expect(() => computeGradients({ ...base, weights })).toThrow(EngineError);
    // The next calls (seeded, then given weights, then inference) answer as fresh models do.
    expect(computeGradients({ ...base, seed: 12 })).toEqual(fresh({ seed: 12 }));
    const given = { weights: seeded.weights };
    expect(computeGradients({ ...base, ...given })).toEqual(fresh(given));
    expect(computeGradients({ ...base, training: false })).toEqual(fresh({ training: false }));
    expect(computeGradients(base)).toEqual(seeded);
  });
});
