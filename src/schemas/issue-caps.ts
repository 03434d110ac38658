import type { z } from "zod";

/**
 * Caps on the issues one value raises (a sample array, a weight tensor): the problem answer lists
 * 100 field errors (`MAX_FIELD_ERRORS`), and a body of a million strings where numbers belong must
 * cost neither a million issues nor a million recursive unions.
 */

/** At most this many issues are raised about one value; the rest are counted in one (`summarise`). */
export const MAX_ISSUES_PER_VALUE = 100;

/** Why a value is not a finite number or an array of them, said about the value sent. */
export function numberOrArrayMessage(input: unknown): string {
  if (typeof input === "number") return `expected a finite number, got ${input}`;
  return `expected a number or an array of numbers, got ${input === null ? "null" : typeof input}`;
}

/**
 * The issues of one value: at most `left` more are raised, those past that are counted in
 * `omitted` (one summary issue says how many, `summarise`).
 */
export interface IssueBudget {
  left: number;
  omitted: number;
}

/** An issue zod finalises as it is: its message is set, and `continue` unset aborts later checks. */
type RawIssue = z.core.$ZodRawIssue;

/**
 * Pushes to `issues` one issue per leaf of `value` that is neither a finite number nor an array
 * (any depth, walked with a stack, in document order), at `prefix` + its indices, while `budget`
 * lasts; the leaves past it are counted in `budget.omitted`. The messages are those
 * `NestedNumbersSchema`'s union words (`numberOrArrayMessage`), at the path of the bad leaf.
 */
export function pushNumberIssues(
  value: unknown,
  prefix: PropertyKey[],
  budget: IssueBudget,
  issues: RawIssue[],
): void {
  const bad = (input: unknown, path: PropertyKey[]) => {
    if (budget.left <= 0) {
      budget.omitted++;
      return;
    }
    budget.left--;
    issues.push({ code: "custom", input, path, message: numberOrArrayMessage(input) });
  };
  if (!Array.isArray(value)) {
    if (typeof value !== "number" || !Number.isFinite(value)) bad(value, [...prefix]);
    return;
  }
  // `path` is `prefix` + the index of every open array but the innermost (whose index is `at`).
  const path = [...prefix];
  const arrays: unknown[][] = [value];
  const next: number[] = [0];
  while (arrays.length > 0) {
    const top = arrays.length - 1;
    const a = arrays[top]!;
    const i = next[top]!;
    if (i >= a.length) {
      arrays.pop();
      next.pop();
      if (arrays.length > 0) path.pop();
      continue;
    }
    next[top] = i + 1;
    const e = a[i];
    if (typeof e === "number") {
      if (!Number.isFinite(e)) bad(e, [...path, i]);
    } else if (Array.isArray(e)) {
      path.push(i);
      arrays.push(e);
      next.push(0);
    } else bad(e, [...path, i]);
  }
}

/**
 * The issue that counts the faults past the budget (none when there are none), at the value: `params.omitted` is the count, which the problem answer adds to its total rather than
 * listing.
 */
export function summarise(budget: IssueBudget, issues: RawIssue[]): void {
  if (budget.omitted === 0) return;
  issues.push({
    code: "custom",
    input: undefined,
    path: [],
    params: { omitted: budget.omitted },
    message: `and ${budget.omitted} more faults in this value (not listed)`,
  });
}

/** An issue `summarise` raised: how many bad values it stands for, else undefined. */
export function omittedBy(issue: { code: string; params?: Record<string, unknown> }): number | undefined {
  if (issue.code !== "custom") return undefined;
  const n = issue.params?.omitted;
  return typeof n === "number" ? n : undefined;
}

type Payload = { value: unknown; issues: RawIssue[] };
type Parse = (payload: Payload, ctx: unknown) => Payload | Promise<Payload>;

/**
 * `schema` (an array) made to raise at most `MAX_ISSUES_PER_VALUE` issues, however many of its
 * elements are bad: each element still goes through the element schema, as in zod's own loop
 * (the same output for an array it accepts), but past the cap an element's issues are counted in
 * one summary issue (`summarise`) instead of being prefixed, kept and worded one by one, which is
 * most of what a rejected element costs zod. An array over its `.max()` is zod's (its size check
 * answers first). Apply it last: `.describe()` or `.min()` afterwards makes a copy without it.
 */
export function cappedIssues<T extends z.ZodArray>(schema: T): T {
  const zod = schema._zod as unknown as {
    run: Parse;
    parse: Parse;
    bag: { maximum?: number };
    def: { element: { _zod: { run: Parse } } };
  };
  const parse = zod.parse;
  const same = zod.run === parse;
  zod.parse = (payload, ctx) => {
    const v = payload.value;
    if (
      (ctx as { direction?: string } | undefined)?.direction === "backward" ||
      !Array.isArray(v) ||
      v.length > (zod.bag.maximum ?? Number.POSITIVE_INFINITY)
    )
      return parse(payload, ctx);
    const element = zod.def.element._zod;
    const out: unknown[] = new Array(v.length);
    const budget = { left: MAX_ISSUES_PER_VALUE, omitted: 0 };
    for (let i = 0; i < v.length; i++) {
      const result = element.run({ value: v[i], issues: [] }, ctx);
      // As zod's own synchronous parse does with an asynchronous check.
      if (result instanceof Promise) throw new Error("cappedIssues: the element schema is asynchronous");
      out[i] = result.value;
      for (const issue of result.issues) {
        const counted = omittedBy(issue as { code: string; params?: Record<string, unknown> });
        if (budget.left <= 0 || counted !== undefined) {
          budget.omitted += counted ?? 1;
          continue;
        }
        budget.left--;
        payload.issues.push({ ...issue, path: [i, ...(issue.path ?? [])] });
      }
    }
    summarise(budget, payload.issues);
    payload.value = out;
    return payload;
  };
  if (same) zod.run = zod.parse;
  return schema;
}
