/**
 * `memoizeAccepted` (src/schemas/accepted-memo.ts) and the request's `model` field that uses it:
 * an accepted value sent again is not validated again and gets the same frozen output; values the
 * JSON text does not tell apart (-0 and 0, an overflowed 1e999 and null) are not confused; a
 * rejected value gets the schema's own issues every time; the memo stays within its bounds.
 */
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { safeParse } from "zod/v4/core";
import { AcceptedMemo, memoizeAccepted, sameJson } from "../../src/schemas/accepted-memo.js";
import { gradientsExample } from "../../src/schemas/examples.js";
import { ModelFieldSchema, modelFieldMemo } from "../../src/schemas/model-refs.js";
import { GradientsRequestSchema } from "../../src/schemas/requests.js";

const LIMITS = { entries: 4, chars: 10_000, entryChars: 1_000 };

/** A schema that counts its validations, remembered by a memo of `limits`. */
function countingSchema(inner: z.ZodType, limits = LIMITS) {
  const counter = { calls: 0 };
  const [schema, memo] = memoizeAccepted(
    inner.transform((v) => {
      counter.calls++;
      return v;
    }),
    limits,
  );
  return { schema, memo, counter };
}

describe("memoizeAccepted", () => {
  it("validates an accepted value once and hands out the same frozen output", () => {
    const { schema, counter, memo } = countingSchema(z.strictObject({ units: z.number().int() }));
    const a = schema.parse({ units: 3 });
    const b = schema.parse(JSON.parse('{"units":3}'));
    expect(b).toBe(a);
    expect(counter.calls).toBe(1);
    expect(Object.isFrozen(a)).toBe(true);
    expect(memo.size).toEqual({ entries: 1, chars: '{"units":3}'.length });
    // Another value, or the same keys in another order, is validated.
    expect(schema.parse({ units: 4 })).toEqual({ units: 4 });
    expect(counter.calls).toBe(2);
  });

  it("tells -0 from 0 and an overflowed number (Infinity) from null, which print alike", () => {
    const { schema, counter } = countingSchema(z.looseObject({}));
    const negative = schema.parse(JSON.parse('{"rate":-0}')) as { rate: number };
    expect(Object.is(negative.rate, -0)).toBe(true);
    const zero = schema.parse(JSON.parse('{"rate":0}')) as { rate: number };
    expect(Object.is(zero.rate, 0)).toBe(true);
    const huge = schema.parse(JSON.parse('{"x":1e999}')) as { x: unknown };
    expect(huge.x).toBe(Number.POSITIVE_INFINITY);
    expect((schema.parse(JSON.parse('{"x":null}')) as { x: unknown }).x).toBeNull();
    expect(counter.calls).toBe(4);
    expect(sameJson({ a: [1, { b: 2 }] }, { a: [1, { b: 2 }] })).toBe(true);
    expect(sameJson({ a: 1, b: 2 }, { b: 2, a: 1 })).toBe(false);
    expect(sameJson([1, 2], { 0: 1, 1: 2 })).toBe(false);
  });

  it("remembers no rejected value: its issues are the schema's own, every time", () => {
    const { schema, memo, counter } = countingSchema(z.strictObject({ units: z.number().int().min(1) }));
    const first = schema.safeParse({ units: 0 });
    const second = schema.safeParse({ units: 0 });
    expect(first.success).toBe(false);
    expect(second.error?.issues).toEqual(first.error?.issues);
    expect(second.error?.issues[0]?.path).toEqual(["units"]);
    expect(memo.size.entries).toBe(0);
    expect(counter.calls).toBe(0);
  });

  it("keeps at most its entries and characters, dropping the least recently used", () => {
    const { schema, memo, counter } = countingSchema(z.looseObject({}));
    for (const i of [1, 2, 3, 4]) schema.parse({ i });
    schema.parse({ i: 1 }); // now 2 is the least recently used
    schema.parse({ i: 5 });
    expect(memo.size.entries).toBe(4);
    expect(counter.calls).toBe(5);
    schema.parse({ i: 1 });
    expect(counter.calls).toBe(5);
    schema.parse({ i: 2 });
    expect(counter.calls).toBe(6);
    // Longer than entryChars: validated, never remembered.
    const long = { s: "x".repeat(LIMITS.entryChars) };
    schema.parse(long);
    schema.parse(long);
    expect(counter.calls).toBe(8);
    // The characters bound: two entries of 600 fit in 1,300, a third drops the oldest.
    const small = countingSchema(z.looseObject({}), { entries: 10, chars: 1_300, entryChars: 1_000 });
    for (const c of ["a", "b", "c"]) small.schema.parse({ s: c.repeat(590) });
    expect(small.memo.size.entries).toBe(2);
    expect(small.memo.size.chars).toBeLessThanOrEqual(1_300);
  });

  it("remembers only plain JSON data", () => {
    const memo = new AcceptedMemo(LIMITS);
    class Spec {
      units = 3;
    }
    const key = memo.keyOf(new Spec())!;
    expect(memo.set(key, new Spec(), { units: 3 })).toEqual({ units: 3 });
    expect(memo.get(key, { units: 3 })).toBeUndefined();
    expect(memo.keyOf(3)).toBeUndefined();
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    expect(memo.keyOf(cyclic)).toBeUndefined();
  });
});

describe("a request's model field", () => {
  it("shares one frozen spec between requests sending the same model, and only the model", () => {
    const parse = (body: unknown) => {
      const r = safeParse(GradientsRequestSchema, JSON.parse(JSON.stringify(body)));
      if (!r.success) throw new Error(JSON.stringify(r.error.issues));
      return r.data;
    };
    const a = parse({ ...gradientsExample, seed: 1 });
    const b = parse({ ...gradientsExample, seed: 2, x: [1, 2] });
    expect(b.model).toBe(a.model);
    expect(Object.isFrozen(a.model)).toBe(true);
    expect(Object.isFrozen((a.model as { layers: object[] }).layers[0])).toBe(true);
    expect(Object.isFrozen(a)).toBe(false);
    expect(b.x).toEqual([1, 2]);
    const wider = {
      ...gradientsExample.model,
      layers: [{ type: "dense", units: 4, activation: "sigmoid" }, ...gradientsExample.model.layers.slice(1)],
    };
    const c = parse({ ...gradientsExample, model: wider });
    expect(c.model).not.toBe(a.model);
    expect((c.model as { layers: { units: number }[] }).layers[0]!.units).toBe(4);
    expect(modelFieldMemo.size.entries).toBeGreaterThanOrEqual(2);
  });

  it("answers a bad model with the same issues whether or not a good one was seen", () => {
    const good = gradientsExample.model;
    const bad = { ...good, layers: [{ type: "dense", units: -1 }] };
    const before = ModelFieldSchema.safeParse(bad).error?.issues;
    ModelFieldSchema.parse(good);
    expect(ModelFieldSchema.safeParse(bad).error?.issues).toEqual(before);
    expect(before?.[0]?.path).toEqual(["layers", 0, "units"]);
  });
});
