import type { FastifySchemaCompiler } from "fastify";
import type { $ZodIssue, $ZodType } from "zod/v4/core";
import { safeParse } from "zod/v4/core";
import { acceptGradientsBody } from "../schemas/gradients-fast.js";
import { omittedBy } from "../schemas/issue-caps.js";
import type { FieldError } from "../schemas/problem.js";
import { GradientsRequestSchema } from "../schemas/requests.js";
import { formatPath } from "../service/errors.js";
import { kindMessage, suggestName, unknownFieldMessage } from "./keras-hints.js";
import { fieldPlaces, fieldsAt, formsAt, kindsWithField, namePlaces, tagsAt } from "./schema-names.js";
import { missingUnionExpects, mixedForms, unionMessage } from "./union-messages.js";

/**
 * At most this many field errors are listed (a broken data set could produce millions); past
 * them, issues are counted, not worded.
 */
export const MAX_FIELD_ERRORS = 100;

/**
 * A request part failed its zod schema. Carries every issue with its path intact
 * (fastify-type-provider-zod's own compiler flattens paths to `/a/b`, which is ambiguous for
 * weight keys such as `"dense_0/kernel"`).
 */
export class SchemaValidationError extends Error {
  override readonly name = "SchemaValidationError";
  /** Fastify reads these to answer 400 and to tell which part (body, querystring) failed. */
  readonly statusCode = 400;
  readonly code = "FST_ERR_VALIDATION";
  validationContext?: string;

  /** What was validated, and against what: read for hints, never logged (private fields). */
  readonly #sent: { schema?: $ZodType; data?: unknown };

  constructor(
    readonly issues: readonly $ZodIssue[],
    sent: { schema?: $ZodType; data?: unknown } = {},
  ) {
    super(`request does not match the schema (${issues.length} issue${issues.length === 1 ? "" : "s"})`);
    this.#sent = sent;
  }

  /**
   * One entry per bad field, paths formatted like `model.layers[1].units`. A name spelled the
   * Keras way gets a hint naming ours (see keras-hints.ts); a kind we lack lists the ones we have.
   */
  fieldErrors(): { errors: FieldError[]; total: number } {
    const prefix =
      this.validationContext && this.validationContext !== "body" ? [this.validationContext] : [];
    const hints = this.#sent.schema
      ? { ...this.#sent, schema: this.#sent.schema, skip: prefix.length }
      : undefined;
    const flat = flattenIssues(this.issues, prefix, hints);
    const shown = flat.filter((f) => f.omitted === undefined);
    const errors = shown.map((f) => ({
      path: formatPath(f.path),
      message: typeof f.message === "string" ? f.message : f.message(),
    }));
    return { errors: pairMissingWithMisspelt(errors, shown), total: errorCount(flat) };
  }
}

/**
 * Request schemas with a fast path for their common shape (docs/performance.md, "/gradients"):
 * the schema's output without zod, or undefined to let the schema validate (and word any issue).
 */
const FAST_PATHS = new Map<$ZodType, (data: unknown) => unknown>([
  [GradientsRequestSchema, acceptGradientsBody],
]);

/**
 * Zod validation for Fastify routes, keeping zod's issues for the problem answer. A schema in
 * `FAST_PATHS` tries its fast path first: the same output for the bodies it takes, zod for the rest.
 */
export const validatorCompiler: FastifySchemaCompiler<$ZodType> = ({ schema }) => {
  const fast = FAST_PATHS.get(schema);
  return (data) => {
    if (fast !== undefined) {
      const value = fast(data);
      if (value !== undefined) return { value };
    }
    const result = safeParse(schema, data);
    if (result.success) return { value: result.data };
    return { error: new SchemaValidationError(result.error.issues, { schema, data }) };
  };
};

interface FlatIssue {
  path: PropertyKey[];
  /** A hint is worked out only for the entries shown (a broken body may have millions). */
  message: string | (() => string);
  /** An unknown key's hinted field name, when it has one (`learningRate` for `learning_rate`). */
  meant?: () => string | undefined;
  /** Set on an entry that is not listed: it stands for this many errors past the ones listed. */
  omitted?: number;
}

/** How many errors `flat` stands for: its listed entries and those its unlisted ones count. */
const errorCount = (flat: readonly FlatIssue[]) => flat.reduce((n, f) => n + (f.omitted ?? 1), 0);

/** About how many field errors an issue left unflattened stands for (a union's branch counts as one). */
function roughCount(issue: $ZodIssue): number {
  if (issue.code === "unrecognized_keys") return issue.keys.length;
  return omittedBy(issue) ?? 1;
}

/**
 * `issues` tidied and flattened (`tidyIssues`, `flattenIssue`), in a loop (no recursion, no
 * spread over the issues): the first `MAX_FIELD_ERRORS` entries worked out, the rest counted in
 * one unlisted entry (`omitted`) at `base`.
 */
function flattenIssues(issues: readonly $ZodIssue[], base: PropertyKey[], hints?: HintSource): FlatIssue[] {
  const out: FlatIssue[] = [];
  let omitted = 0;
  for (const issue of tidyIssues(issues)) {
    if (out.length >= MAX_FIELD_ERRORS) {
      omitted += roughCount(issue);
      continue;
    }
    for (const f of flattenIssue(issue, base, hints)) {
      if (f.omitted !== undefined) omitted += f.omitted;
      else if (out.length < MAX_FIELD_ERRORS) out.push(f);
      else omitted++;
    }
  }
  if (omitted > 0) out.push({ path: [...base], message: "", omitted });
  return out;
}

/** The request part and its schema, for hints; `skip` leading path segments are not in `data`. */
interface HintSource {
  schema: $ZodType;
  data?: unknown;
  skip: number;
}

/** The value sent at `path` (undefined when absent). */
function valueAt(data: unknown, path: readonly PropertyKey[]): unknown {
  let v = data;
  for (const seg of path) {
    if (typeof v !== "object" || v === null || !Object.hasOwn(v, seg)) return undefined;
    v = (v as Record<PropertyKey, unknown>)[seg];
  }
  return v;
}

/** A path as a place pattern with array items as `[i]`: `model.layers[i]`. */
const placeOf = (path: readonly PropertyKey[]) =>
  path
    .map((seg, i) => (typeof seg === "number" ? "[i]" : i === 0 ? String(seg) : `.${String(seg)}`))
    .join("");

/**
 * A required field reported missing next to an unknown key that stands for it (`learning_rate`
 * beside a missing `learningRate`) says so.
 */
function pairMissingWithMisspelt(errors: FieldError[], flat: readonly FlatIssue[]): FieldError[] {
  const sentAs = new Map<string, string>();
  for (const f of flat) {
    const meant = f.meant?.();
    if (meant) sentAs.set(formatPath([...f.path.slice(0, -1), meant]), String(f.path.at(-1)));
  }
  if (sentAs.size === 0) return errors;
  return errors.map((e) => {
    const key = sentAs.get(e.path);
    return key && e.message.startsWith("required field is missing")
      ? { ...e, message: `${e.message}; it was sent as \`${key}\`` }
      : e;
  });
}

/**
 * Issues as one entry per bad field. A failed union (`dataset` is `{x, y}` or `{name}`; a
 * nested value is a number or an array) is replaced by the issues of the branch the client
 * evidently meant — the one that got furthest into the value — so the path points at the bad
 * field and not at the union. Unknown keys get one entry each. With `hints` (the schema and the
 * value sent), a name outside a closed list gets the list and the name it likely means, and an
 * unknown key the field it likely stands for.
 */
export function flattenIssue(issue: $ZodIssue, base: PropertyKey[], hints?: HintSource): FlatIssue[] {
  const path = [...base, ...issue.path];
  const inData = () => path.slice(hints?.skip ?? 0);
  // The closed lists of names chosen at other places of the request (not this one). A search
  // range's `type` (choice, uniform, …) is a vocabulary of its own: "normal" there is no initialiser.
  const others = () =>
    hints && !path.includes("searchSpace")
      ? namePlaces(hints.schema).filter((n) => n.place !== placeOf(inData()))
      : [];
  switch (issue.code) {
    case "invalid_union": {
      if (issue.errors.length === 0 && "options" in issue && Array.isArray(issue.options)) {
        // A discriminated union whose tag is not one of its own (or is missing).
        const tags = issue.options.filter((o): o is string => typeof o === "string");
        if (tags.length === issue.options.length && tags.length > 0)
          return [{ path, message: () => kindMessage(path, valueAt(hints?.data, inData()), tags, others()) }];
        return [{ path, message: issue.message }];
      }
      const mixed = mixedForms(issue.errors);
      if (mixed)
        return [{ path, message: `${issue.message}, not several: ${mixed} belong to different ones` }];
      if (issue.errors.length > 0 && issue.errors.every((b) => b.every(isMissingHere)))
        return [{ path, message: `required field is missing (${missingUnionExpects(issue)})` }];
      const branch = bestBranch(issue.errors, path, hints);
      return branch ?? [{ path, message: unionMessage(issue, () => valueAt(hints?.data, inData())) }];
    }
    case "unrecognized_keys": {
      // A hint is worked out per key shown: the keys past the list's length are counted.
      const shown = issue.keys.slice(0, MAX_FIELD_ERRORS).map((k) => unknownKey(path, k, hints));
      const omitted = issue.keys.length - shown.length;
      return omitted > 0 ? [...shown, { path, message: "", omitted }] : shown;
    }
    case "invalid_key": {
      // zod's own "Invalid key in record" says neither which record nor what a key must be.
      const key = path.at(-1);
      const owner = path.slice(0, -1).findLast((seg) => typeof seg === "string");
      const why = issue.issues.map((i) => i.message).join("; ");
      const where = owner === undefined ? "" : ` of \`${String(owner)}\``;
      return [{ path, message: `invalid key ${JSON.stringify(String(key))}${where}: ${why}` }];
    }
    case "invalid_value": {
      const names = issue.values.filter((v): v is string => typeof v === "string");
      if (names.length < 2 || names.length !== issue.values.length) return [{ path, message: issue.message }];
      return [{ path, message: () => kindMessage(path, valueAt(hints?.data, inData()), names, others()) }];
    }
    case "invalid_type":
      if (/received undefined$/.test(issue.message))
        return [{ path, message: `required field is missing (expected ${issue.expected})` }];
      if (issue.expected === "object" && hints)
        return [{ path, message: () => objectExpected(issue, path, hints) }];
      return [{ path, message: issue.message }];
    case "custom": {
      // The bad numbers past those listed (nested-numbers.ts, `summarise`): counted, not listed.
      const omitted = omittedBy(issue);
      return [omitted === undefined ? { path, message: issue.message } : { path, message: "", omitted }];
    }
    default:
      return [{ path, message: issue.message }];
  }
}

const pathKey = (path: readonly PropertyKey[]) => JSON.stringify(path.map(String));

/**
 * One fault per field, the one that explains it. zod runs its length checks on anything with a
 * `length`, so a string where an array belongs also gets "expected string to have exactly 4
 * characters": a size issue at a field whose type is already wrong is dropped. Of several bounds
 * a number breaks (`.int()`'s safe-integer range and a `.max(2 ** 32 - 1)`), only the tightest
 * is kept.
 */
export function tidyIssues(issues: readonly $ZodIssue[]): $ZodIssue[] {
  const wrongType = new Set(issues.filter((i) => i.code === "invalid_type").map((i) => pathKey(i.path)));
  const tightest = new Map<string, $ZodIssue>();
  for (const i of issues) {
    if (i.code !== "too_big" && i.code !== "too_small") continue;
    const key = `${i.code} ${pathKey(i.path)}`;
    const kept = tightest.get(key);
    if (!kept) tightest.set(key, i);
    else if (i.code === "too_big" && kept.code === "too_big" && Number(i.maximum) < Number(kept.maximum))
      tightest.set(key, i);
    else if (i.code === "too_small" && kept.code === "too_small" && Number(i.minimum) > Number(kept.minimum))
      tightest.set(key, i);
  }
  return issues.filter((i) => {
    if (i.code !== "too_big" && i.code !== "too_small") return true;
    if (wrongType.has(pathKey(i.path))) return false;
    return tightest.get(`${i.code} ${pathKey(i.path)}`) === i;
  });
}

const isMissingHere = (i: $ZodIssue) =>
  i.code === "invalid_type" && i.path.length === 0 && /received undefined$/.test(i.message);

/** An unknown key: "unknown field", or with the field it stands for. */
function unknownKey(path: PropertyKey[], key: string, hints: HintSource | undefined): FlatIssue {
  const at = [...path, key];
  if (!hints) return { path: at, message: "unknown field" };
  const here = () => path.slice(hints.skip);
  const known = () => fieldsAt(hints.schema, hints.data, here());
  return {
    path: at,
    message: () =>
      taggedWhereUntagged(key, path, hints) ??
      otherKindsField(key, known(), here(), hints) ??
      unknownFieldMessage(key, known(), fieldPlaces(hints.schema), placeOf(here())),
    meant: () => suggestName(key, known(), "fields"),
  };
}

/**
 * A field other kinds of the same tagged union have (`recurrentActivation` on a simpleRNN layer):
 * "simpleRNN has no recurrentActivation (lstm and gru do)"; else undefined. Not for a wrapper
 * (an object with a `layer`), whose wrapped layer may be where the field belongs.
 */
function otherKindsField(
  key: string,
  known: readonly string[],
  here: readonly PropertyKey[],
  hints: HintSource,
): string | undefined {
  if (known.includes("layer")) return undefined;
  const kinds = kindsWithField(hints.schema, hints.data, here, key);
  if (!kinds || kinds.having.length === 0) return undefined;
  const { kind, having } = kinds;
  const list =
    having.length === 1 ? `${having[0]} does` : `${having.slice(0, -1).join(", ")} and ${having.at(-1)} do`;
  return `unknown field: ${kind} has no ${key} (${list})`;
}

/**
 * A tag (`type`, the discriminator of other unions in the request) sent inside a union that has
 * none, as Keras' `{"class_name": "L2", ...}` habit writes `{"type": "l2", "l2": 0.01}`: what the
 * value is instead, and the name the tag gave when it is one of the union's; else undefined.
 */
function taggedWhereUntagged(key: string, path: PropertyKey[], hints: HintSource): string | undefined {
  const isTag = namePlaces(hints.schema).some((n) => n.place === key || n.place.endsWith(`.${key}`));
  if (!isTag) return undefined;
  const inData = path.slice(hints.skip);
  const forms = formsAt(hints.schema, hints.data, inData);
  if (!forms) return undefined;
  const field = inData.findLast((seg) => typeof seg === "string");
  const what = field === undefined ? "the value" : `\`${String(field)}\``;
  const tag = valueAt(hints.data, [...inData, key]);
  const named = typeof tag === "string" && forms.includes(JSON.stringify(tag));
  const alone =
    named && field !== undefined ? `: send the name alone, "${String(field)}": ${JSON.stringify(tag)},` : "";
  return `unknown field: ${what} has no \`${key}\`; it is ${forms}${alone ? `${alone} or the object without \`${key}\`` : ""}`;
}

/**
 * A string where a tagged object belongs (Keras' `optimizer="adam"`): the object to write,
 * with the tag it likely means.
 */
function objectExpected(issue: $ZodIssue, path: PropertyKey[], hints: HintSource): string {
  const inData = path.slice(hints.skip);
  const value = valueAt(hints.data, inData);
  if (typeof value !== "string") return issue.message;
  const union = tagsAt(hints.schema, hints.data, inData);
  if (!union) return issue.message;
  const tag = union.tags.includes(value) ? value : suggestName(value, union.tags);
  const list = union.tags.map((t) => `\`${t}\``).join(", ");
  if (!tag) return `expected an object {"${union.discriminator}": ...}, not a string; available: ${list}`;
  return `expected an object, not a string: did you mean {"${union.discriminator}": "${tag}", ...}? available: ${list}`;
}

function bestBranch(
  branches: $ZodIssue[][],
  path: PropertyKey[],
  hints: HintSource | undefined,
): FlatIssue[] | undefined {
  let best: { issues: FlatIssue[]; depth: number; count: number } | undefined;
  let tie = false;
  for (const raw of branches) {
    // A branch rejected only because the value has another type at the union's own level
    // (an array where a number was allowed) was not the one meant.
    if (raw.every((i) => i.code === "invalid_type" && i.path.length === 0)) continue;
    const issues = flattenIssues(raw, path, hints);
    const count = errorCount(issues);
    let depth = 0;
    for (const i of issues) if (i.omitted === undefined && i.path.length > depth) depth = i.path.length;
    if (!best || depth > best.depth || (depth === best.depth && count < best.count)) {
      best = { issues, depth, count };
      tie = false;
    } else if (depth === best.depth && count === best.count) tie = true;
  }
  return tie ? undefined : best?.issues;
}
