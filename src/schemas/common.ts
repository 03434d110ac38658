import { z } from "zod";
import { MAX_ISSUES_PER_VALUE, numberOrArrayMessage, pushNumberIssues, summarise } from "./issue-caps.js";

/** A number, or arrays of them nested to any depth; rectangular-ness is checked by the service. */
export type NestedNumbers = number | NestedNumbers[];

/** A response value: non-finite numbers (only after a diverged run) are sent as `null`. */
export type NestedOutput = number | null | NestedOutput[];

/**
 * Finite numbers nested in arrays: a sample, a target or a weight tensor. JSON cannot carry NaN,
 * and `1e999` parses to Infinity, which `z.number()` rejects. An array is checked in one walk
 * (`validatedInOneWalk`), never element by element through the recursive union.
 */
export const NestedNumbersSchema: z.ZodType<NestedNumbers, NestedNumbers> = z
  .lazy(() =>
    // Built once (the lazy's clones share it): `.describe()` on the lazy keeps the one walk.
    validatedInOneWalk(
      z.union([z.number(), z.array(NestedNumbersSchema)], {
        error: (iss) => numberOrArrayMessage(iss.input),
      }),
    ),
  )
  .meta({
    id: "NestedNumbers",
    description: "A finite number or an array of them, nested to the depth of the tensor's shape.",
  });

/** Deeper than this, the fast walk leaves a value to the schema (the body parser allows 32 levels). */
const FAST_WALK_DEPTH = 64;

/**
 * Whether `v` is a finite number, or plain arrays nested at most `FAST_WALK_DEPTH` deep whose
 * leaves all are: a subset of what `NestedNumbersSchema`'s union of `z.number()` (finite, not
 * NaN) and `z.array` of itself accepts.
 */
export function finiteNestedNumbers(v: unknown): boolean {
  if (typeof v === "number") return Number.isFinite(v);
  if (!Array.isArray(v) || Object.getPrototypeOf(v) !== Array.prototype) return false;
  const stack: unknown[][] = [v];
  const depths: number[] = [1];
  while (stack.length > 0) {
    const a = stack.pop()!;
    const depth = depths.pop()!;
    for (let i = 0; i < a.length; i++) {
      const e = a[i];
      if (typeof e === "number") {
        if (!Number.isFinite(e)) return false;
      } else if (
        Array.isArray(e) &&
        Object.getPrototypeOf(e) === Array.prototype &&
        depth < FAST_WALK_DEPTH
      ) {
        stack.push(e);
        depths.push(depth + 1);
      } else return false;
    }
  }
  return true;
}

type Parse = (payload: { value: unknown; issues: z.core.$ZodRawIssue[] }, ctx: unknown) => unknown;

/** The walk's answer for an array `value`: true when it holds only finite numbers, else its issues pushed. */
function walkedArray(value: unknown[], issues: z.core.$ZodRawIssue[]): boolean {
  if (finiteNestedNumbers(value)) return true;
  const budget = { left: MAX_ISSUES_PER_VALUE, omitted: 0 };
  const before = issues.length;
  pushNumberIssues(value, [], budget, issues);
  summarise(budget, issues);
  return issues.length === before;
}

const backward = (ctx: unknown) => (ctx as { direction?: string } | undefined)?.direction === "backward";

/**
 * `schema` (NestedNumbers' union) made to take an array in one walk: accepted as it is when all its
 * leaves are finite numbers (zod would accept it too, element by element through the recursive
 * union: most of the time of a body with large weights; docs/performance.md, "/gradients"), else
 * rejected with one issue per bad leaf, at most `MAX_ISSUES_PER_VALUE` (a million strings where
 * numbers belong cost a walk, not a million unions). A value that is not an array (a number, a
 * missing field) is the schema's.
 */
function validatedInOneWalk<T extends z.ZodType>(schema: T): T {
  const zod = schema._zod as unknown as { run: Parse; parse: Parse };
  const run = zod.run;
  zod.run = (payload, ctx) => {
    const v = payload.value;
    if (backward(ctx) || !Array.isArray(v))
      return typeof v === "number" && Number.isFinite(v) ? payload : run(payload, ctx);
    walkedArray(v, payload.issues);
    return payload;
  };
  return schema;
}

/** A tensor in a response: nested arrays of its shape (`null` marks a non-finite value). */
export const NestedOutputSchema: z.ZodType<NestedOutput, NestedOutput> = z
  .lazy(() => z.union([z.number(), z.null(), z.array(NestedOutputSchema)]))
  .meta({
    id: "TensorValue",
    description:
      "A tensor as nested arrays of its shape. `null` stands for NaN or ±Infinity, which JSON cannot carry " +
      "(only seen after a diverged run).",
  });

/**
 * The deepest nesting a tensor that can succeed has: a conv2d kernel `[kH, kW, in, filters]`
 * (samples and targets have at most 3 axes). The zod schemas accept any depth (a deeper value
 * gets the service's shape error); the OpenAPI document spells the nesting out to this depth,
 * since a recursive array type is one a generated TypeScript client cannot express.
 */
export const MAX_TENSOR_RANK = 4;

/** A number in a response that may be non-finite after divergence (then `null`). */
export const OutputNumberSchema = z.number().nullable();

/** Weights or gradients keyed `"<layerName>/kernel"` / `"<layerName>/bias"`. */
export const NamedTensorsInputSchema = z.record(z.string().max(200), NestedNumbersSchema).meta({
  id: "Weights",
  description:
    'Weights keyed "<layerName>/kernel" and "<layerName>/bias", each a nested array of its shape ' +
    "(dense kernel [in, units], conv2d kernel [kernelH, kernelW, inChannels, filters], bias [units]).",
});

export const NamedTensorsOutputSchema = z.record(z.string(), NestedOutputSchema).meta({
  id: "NamedTensors",
  description:
    'Tensors keyed "<layerName>/kernel" and "<layerName>/bias", each a nested array of its shape ' +
    "(dense kernel [in, units], conv2d kernel [kernelH, kernelW, inChannels, filters], bias [units]); " +
    "`null` marks a value that is not finite.",
});

/**
 * Weights or gradients in a response that are finite by construction (the weights `/train`
 * returns are the last finite ones; `/gradients` answers 422 rather than a non-finite gradient):
 * the `Weights` a request takes, so they can be sent back as they came.
 */
export const FiniteNamedTensorsSchema = NamedTensorsInputSchema;

/**
 * The query-string integers and their bounds, for the OpenAPI document: parsed from strings, they
 * are documented as what they mean, `type: integer` with `minimum`/`maximum`.
 */
export const queryIntegers = z.registry<{ minimum: number; maximum: number }>();

export const SeedSchema = z
  .number()
  .int()
  .min(0)
  .max(2 ** 32 - 1)
  .describe(
    "Seed (uint32) for weight initialisation and shuffling; drawn at random and returned when absent.",
  );

export const DTYPES = ["float64", "float32"] as const;

export const DtypeSchema = z
  .enum(DTYPES, { error: 'expected "float64" or "float32"' })
  .describe(
    "The element type the run computes in (docs/precision.md): float64 (default, exact to double " +
      "precision) or float32 (IEEE single precision, every stored value rounded to float32: half the " +
      "memory traffic). Both are deterministic; `engineVersion` ends in `+float32` for a float32 run " +
      "and `weightsSha256` hashes its float32 bytes.",
  )
  .meta({ examples: ["float32"] });

/**
 * An integer in `[min, max]` given in a query string: decimal digits only, once. zod's
 * `coerce.number()` would take "" and " " as 0, "0x10" as 16, "1e2" as 100; these (and a repeated
 * parameter, which arrives as an array) are 400s naming the parameter.
 */
export function queryInt(min: number, max: number) {
  const range = `expected an integer in [${min}, ${max}]`;
  const schema = z
    .string({
      error: (issue) =>
        Array.isArray(issue.input)
          ? "given more than once: give it once"
          : "expected an integer (decimal digits)",
    })
    .regex(/^\d+$/, { message: "expected an integer (decimal digits)", abort: true })
    // Digits, but more than any bound here has: said as the range, not parsed (20 digits lose
    // precision, 400 parse to Infinity).
    .refine((digits) => digits.replace(/^0+(?=\d)/, "").length <= String(max).length, {
      message: range,
      abort: true,
    })
    .transform(Number)
    .pipe(z.number().int().min(min, range).max(max, range));
  queryIntegers.add(schema, { minimum: min, maximum: max });
  return schema;
}
