/**
 * NestedNumbers' fast path (src/schemas/common.ts): the one walk accepts exactly finite numbers
 * in plain nested arrays, and the schema accepts exactly what a plain zod twin of it accepts (with
 * the same numbers), fast path or not; what it refuses it refuses at the bad elements' paths, where
 * the twin answers one failed union at the root.
 */
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { finiteNestedNumbers, NestedNumbersSchema } from "../../src/schemas/common.js";

/** The schema as zod alone would run it. */
const twin: z.ZodType = z.lazy(() => z.union([z.number(), z.array(twin)]));

const deep = (depth: number): unknown => (depth === 0 ? 1 : [deep(depth - 1)]);
class Row extends Array<number> {}

const VALUES: unknown[] = [
  0,
  -0,
  1.5,
  Number.MAX_VALUE,
  [],
  [1, 2, 3],
  [[1, 2], [3]],
  [[[]], [[1], [2, [3]]]],
  deep(64),
  // Deeper than the walk goes: left to zod (which accepts it).
  deep(65),
  Number.NaN,
  Number.POSITIVE_INFINITY,
  [1, Number.NEGATIVE_INFINITY],
  [[1], [2, Number.NaN]],
  [1, "2"],
  [1, null],
  [[1], { 0: 2 }],
  "1",
  null,
  undefined,
  { length: 0 },
  // biome-ignore lint/suspicious/noSparseArray: a hole, which JSON cannot send
  [1, , 3],
  Row.from([1, 2]),
];

describe("NestedNumbers", () => {
  it("walks to a yes only for finite numbers in plain arrays, within its depth", () => {
    // The first nine values: finite numbers in plain arrays, 64 levels deep at most.
    for (const [i, v] of VALUES.entries()) expect(finiteNestedNumbers(v), `${i}: ${String(v)}`).toBe(i < 9);
    const cyclic: unknown[] = [1];
    cyclic.push(cyclic);
    expect(finiteNestedNumbers(cyclic)).toBe(false);
  });

  it("accepts what zod alone accepts, with the same numbers; refuses the rest at the bad element", () => {
    for (const v of VALUES) {
      const ours = NestedNumbersSchema.safeParse(v);
      const zods = twin.safeParse(v);
      expect(ours.success, String(v)).toBe(zods.success);
      if (zods.success) {
        expect(ours.data).toEqual(zods.data);
        continue;
      }
      // zod alone answers a failed union at the root; ours names the first bad element (the
      // issue caps of src/schemas/issue-caps.ts: one walk, at most 100 issues per value).
      const issues = ours.error!.issues;
      expect(issues.length, String(v)).toBeGreaterThan(0);
      for (const { path, message } of issues) {
        let at: unknown = v;
        for (const k of path) at = (at as Record<PropertyKey, unknown>)[k as PropertyKey];
        expect(typeof at === "number" && Number.isFinite(at), `${String(v)} at ${path.join(".")}`).toBe(
          false,
        );
        expect(message).toMatch(/^expected a (finite number|number or an array of numbers), got /);
      }
    }
  });
});
