import type { $ZodIssue } from "zod/v4/core";

/** The messages of a failed union no one branch explains (see validation.ts, `flattenIssue`). */

/** A value's kind for a message: `string`, `null`, `array`, `Infinity`. */
function kindOf(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "array";
  if (typeof value === "number" && !Number.isFinite(value)) return String(value);
  return typeof value;
}

/**
 * A failed union's message when no branch explains it: the union's own, else (zod's bare "Invalid
 * input" says neither) the types its branches expected and the one sent.
 */
export function unionMessage(issue: $ZodIssue & { errors: $ZodIssue[][] }, sent: () => unknown): string {
  if (issue.message !== "Invalid input") return issue.message;
  const expected = new Set<string>();
  for (const branch of issue.errors)
    for (const i of branch) if (i.code === "invalid_type" && i.path.length === 0) expected.add(i.expected);
  if (expected.size === 0) return issue.message;
  return `expected ${[...expected].join(" or ")}, got ${kindOf(sent())}`;
}

/** What a missing union value should have been: the union's own message, else its branches' types. */
export function missingUnionExpects(issue: $ZodIssue & { errors: $ZodIssue[][] }): string {
  if (issue.message !== "Invalid input") return issue.message;
  const types = issue.errors.flatMap((b) => b.map((i) => (i.code === "invalid_type" ? i.expected : "")));
  return `expected ${[...new Set(types)].join(" or ")}`;
}

/**
 * When an object mixes the fields of several branches (`{name, x, y}` for `{name}` or `{x, y}`),
 * every branch rejects some key another branch accepts: the mixed keys, listed; else undefined.
 * Keys no branch knows are left to the branch's own "unknown field".
 */
export function mixedForms(branches: $ZodIssue[][]): string | undefined {
  if (branches.length < 2) return undefined;
  const rejected = branches.map(
    (b) => new Set(b.flatMap((i) => (i.code === "unrecognized_keys" && i.path.length === 0 ? i.keys : []))),
  );
  const unknownToAll = [...rejected[0]!].filter((k) => rejected.every((r) => r.has(k)));
  const known = rejected.map((r) => [...r].filter((k) => !unknownToAll.includes(k)));
  if (known.some((keys) => keys.length === 0)) return undefined;
  return [...new Set(known.flat())].map((k) => `\`${k}\``).join(", ");
}
