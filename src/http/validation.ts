import type { FastifySchemaCompiler } from "fastify";
import type { $ZodIssue, $ZodType } from "zod/v4/core";
import { safeParse } from "zod/v4/core";
import type { FieldError } from "../schemas/problem.js";
import { formatPath } from "../service/errors.js";

/** At most this many field errors are listed (a broken data set could produce millions). */
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

  constructor(readonly issues: readonly $ZodIssue[]) {
    super(`request does not match the schema (${issues.length} issue${issues.length === 1 ? "" : "s"})`);
  }

  /** One entry per bad field, paths formatted like `model.layers[1].units`. */
  fieldErrors(): { errors: FieldError[]; total: number } {
    const prefix =
      this.validationContext && this.validationContext !== "body" ? [this.validationContext] : [];
    const flat = this.issues.flatMap((i) => flattenIssue(i, prefix));
    const errors = flat
      .slice(0, MAX_FIELD_ERRORS)
      .map((f) => ({ path: formatPath(f.path), message: f.message }));
    return { errors, total: flat.length };
  }
}

/** Zod validation for Fastify routes, keeping zod's issues for the problem answer. */
export const validatorCompiler: FastifySchemaCompiler<$ZodType> =
  ({ schema }) =>
  (data) => {
    const result = safeParse(schema, data);
    if (result.success) return { value: result.data };
    return { error: new SchemaValidationError(result.error.issues) };
  };

interface FlatIssue {
  path: PropertyKey[];
  message: string;
}

/**
 * Issues as one entry per bad field. A failed union (`dataset` is `{x, y}` or `{name}`; a
 * nested value is a number or an array) is replaced by the issues of the branch the client
 * evidently meant — the one that got furthest into the value — so the path points at the bad
 * field and not at the union. Unknown keys get one entry each.
 */
export function flattenIssue(issue: $ZodIssue, base: PropertyKey[]): FlatIssue[] {
  const path = [...base, ...issue.path];
  switch (issue.code) {
    case "invalid_union": {
      const mixed = mixedForms(issue.errors);
      if (mixed)
        return [{ path, message: `${issue.message}, not several: ${mixed} belong to different ones` }];
      const branch = bestBranch(issue.errors, path);
      return branch ?? [{ path, message: issue.message }];
    }
    case "unrecognized_keys":
      return issue.keys.map((k) => ({ path: [...path, k], message: "unknown field" }));
    case "invalid_type":
      if (/received undefined$/.test(issue.message))
        return [{ path, message: `required field is missing (expected ${issue.expected})` }];
      return [{ path, message: issue.message }];
    default:
      return [{ path, message: issue.message }];
  }
}

/**
 * When an object mixes the fields of several branches (`{name, x, y}` for `{name}` or `{x, y}`),
 * every branch rejects some key another branch accepts: the mixed keys, listed; else undefined.
 * Keys no branch knows are left to the branch's own "unknown field".
 */
function mixedForms(branches: $ZodIssue[][]): string | undefined {
  if (branches.length < 2) return undefined;
  const rejected = branches.map(
    (b) => new Set(b.flatMap((i) => (i.code === "unrecognized_keys" && i.path.length === 0 ? i.keys : []))),
  );
  const unknownToAll = [...rejected[0]!].filter((k) => rejected.every((r) => r.has(k)));
  const known = rejected.map((r) => [...r].filter((k) => !unknownToAll.includes(k)));
  if (known.some((keys) => keys.length === 0)) return undefined;
  return [...new Set(known.flat())].map((k) => `\`${k}\``).join(", ");
}

function bestBranch(branches: $ZodIssue[][], path: PropertyKey[]): FlatIssue[] | undefined {
  let best: { issues: FlatIssue[]; depth: number } | undefined;
  let tie = false;
  for (const raw of branches) {
    // A branch rejected only because the value has another type at the union's own level
    // (an array where a number was allowed) was not the one meant.
    if (raw.every((i) => i.code === "invalid_type" && i.path.length === 0)) continue;
    const issues = raw.flatMap((i) => flattenIssue(i, path));
    const depth = Math.max(...issues.map((i) => i.path.length));
    if (!best || depth > best.depth || (depth === best.depth && issues.length < best.issues.length)) {
      best = { issues, depth };
      tie = false;
    } else if (depth === best.depth && issues.length === best.issues.length) tie = true;
  }
  return tie ? undefined : best?.issues;
}
