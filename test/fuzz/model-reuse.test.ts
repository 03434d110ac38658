/**
 * A model built once for a validated spec and reused (src/engine/model-cache.ts) answers exactly
 * as a model built afresh (property-based). Generated POST /gradients bodies — every layer kind,
 * given or seeded weights, training or inference, float32 or float64, numerical checks — are
 * validated and planned as the service does (the spec comes out of the `model` memo, deep-frozen,
 * so the engine keeps its model), then run in interleaved orders with other seeds and modes, so a
 * kept model always carries another run's weights, moving statistics, dropout streams, masks and
 * gradients into the next. Each run is compared with the same options on an unfrozen copy of the
 * spec (built afresh): the same answer text, every number the same bits, or the same error; and
 * every answer written directly (`gradientsJson`) is the text of the answer built as objects, also
 * when written from views of the model's buffers (`withGradients`, as the service writes it).
 *
 * Reproduce a failure: fast-check prints nothing here; rerun with FUZZ_SEED=<seed> and read the body.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { safeParse } from "zod/v4/core";
import {
  computeGradients,
  EngineError,
  type Floats,
  type GradientsOptions,
  type GradientsResult,
  isDeepFrozen,
  withGradients,
} from "../../src/engine/index.js";
import { reusableModel } from "../../src/engine/model-cache.js";
import { GradientsRequestSchema } from "../../src/schemas/requests.js";
import { resolveGradients } from "../../src/service/models/resolve.js";
import { planGradients } from "../../src/service/plan/inspect-plan.js";
import { gradientsJson, gradientsResponse } from "../../src/service/responses.js";
import { genGradients, rand } from "./generators.js";
import { toJsonText } from "./json-text.js";

const SEED = Number(process.env.FUZZ_SEED ?? 17_2026);
const RUNS = Math.max(1, Math.round(150 * Number(process.env.FUZZ_RUNS ?? 1)));
const LIMITS = { maxParams: 50_000, maxWork: 5e7 };

/** Every typed array of a result, named, for a bitwise comparison. */
function arraysOf(r: GradientsResult): [string, Floats][] {
  const named = (prefix: string, t: Record<string, { data: Floats }> | undefined) =>
    Object.entries(t ?? {}).map(([k, v]): [string, Floats] => [`${prefix}.${k}`, v.data]);
  return [
    ["output", r.output.data],
    ...r.activations.map((a, i): [string, Floats] => [`activations.${i}`, a.output.data]),
    ...named("gradients", r.gradients),
    ...named("weights", r.weights),
    ...named("dropoutMasks", r.dropoutMasks),
    ...named("numerical", r.numerical?.gradients),
  ];
}

type Outcome = { text: string; arrays: [string, Floats][]; loss: number } | { error: string };

function run(options: GradientsOptions): Outcome {
  try {
    const r = computeGradients(options);
    const text = gradientsJson(r, options.seed);
    // The answer written directly is the text of the answer built as objects.
    expect(text).toBe(JSON.stringify(gradientsResponse(r, options.seed)));
    // Written from views of the model's buffers (what the service does), the same text.
    expect(withGradients(options, (v) => gradientsJson(v, options.seed))).toBe(text);
    return { text, arrays: arraysOf(r), loss: r.loss };
  } catch (err) {
    if (!(err instanceof EngineError)) throw err;
    return { error: `${err.message} at ${JSON.stringify(err.path)}` };
  }
}

function expectSame(kept: Outcome, fresh: Outcome, what: string): void {
  if ("error" in fresh) {
    expect(kept, what).toEqual(fresh);
    return;
  }
  expect("error" in kept ? kept.error : undefined, what).toBeUndefined();
  const k = kept as Exclude<Outcome, { error: string }>;
  expect(k.text, what).toBe(fresh.text);
  expect(Object.is(k.loss, fresh.loss), what).toBe(true);
  expect(
    k.arrays.map(([n]) => n),
    what,
  ).toEqual(fresh.arrays.map(([n]) => n));
  k.arrays.forEach(([name, a], i) => {
    const b = fresh.arrays[i]![1];
    expect(a.constructor, `${what}: ${name}`).toBe(b.constructor);
    const bytes = (x: Floats) => Buffer.from(x.buffer, x.byteOffset, x.byteLength);
    expect(bytes(a).equals(bytes(b)), `${what}: ${name}`).toBe(true);
  });
}

describe("a reused model answers as a fresh one", () => {
  it("for generated bodies run in interleaved orders, seeds and modes", async () => {
    const plans: { body: string; options: GradientsOptions }[] = [];
    for (const g of fc.sample(fc.gen(), { seed: SEED, numRuns: RUNS })) {
      const body = toJsonText(genGradients(rand(g)).body);
      const parsed = safeParse(GradientsRequestSchema, JSON.parse(body));
      if (!parsed.success) continue;
      try {
        const { task } = planGradients(await resolveGradients(parsed.data, {}), LIMITS);
        plans.push({ body, options: task.options });
      } catch {
        // Over the budget, or a sample that does not fit: the service answers 4xx before the engine.
      }
    }
    expect(plans.length).toBeGreaterThan(RUNS / 2);
    const variants = (o: GradientsOptions, k: number): GradientsOptions[] => [
      o,
      { ...o, seed: (o.seed + 1 + k) >>> 0 },
      { ...o, training: !(o.training ?? true) },
    ];
    const order = [...plans, ...[...plans].reverse(), ...plans];
    let kept = 0;
    order.forEach(({ body, options }, k) => {
      expect(isDeepFrozen(options.model), body).toBe(true);
      for (const o of variants(options, k)) {
        const fresh = run({ ...o, model: structuredClone(o.model) });
        expectSame(run(o), fresh, body);
      }
      // The engine did keep a model for the spec (unless it is over the size it keeps).
      const dtype = options.dtype ?? "float64";
      let built = false;
      reusableModel(options.model, dtype, () => {
        built = true;
        throw new Error("not kept");
      });
      if (!built) kept++;
    });
    expect(kept).toBeGreaterThan(order.length / 2);
  });
});
