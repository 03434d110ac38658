import { z } from "zod";

/** A number, or arrays of them nested to any depth; rectangular-ness is checked by the service. */
export type NestedNumbers = number | NestedNumbers[];

/** A response value: non-finite numbers (only after a diverged run) are sent as `null`. */
export type NestedOutput = number | null | NestedOutput[];

/** Why a union of "number or array" failed, said about the value actually sent. */
function numberOrArrayMessage(input: unknown): string {
  if (typeof input === "number") return `expected a finite number, got ${input}`;
  return `expected a number or an array of numbers, got ${input === null ? "null" : typeof input}`;
}

/**
 * Finite numbers nested in arrays: a sample, a target or a weight tensor. JSON cannot carry NaN,
 * and `1e999` parses to Infinity, which `z.number()` rejects. A value it accepts is checked in one
 * walk first (`acceptFastNestedNumbers`); anything else goes through the schema itself.
 */
export const NestedNumbersSchema: z.ZodType<NestedNumbers, NestedNumbers> = acceptFastNestedNumbers(
  z
    .lazy(() =>
      z.union([z.number(), z.array(NestedNumbersSchema)], {
        error: (iss) => numberOrArrayMessage(iss.input),
      }),
    )
    .meta({
      id: "NestedNumbers",
      description: "A finite number or an array of them, nested to the depth of the tensor's shape.",
    }),
);

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

/**
 * `schema` (NestedNumbers') made to accept what `finiteNestedNumbers` recognises in one walk, as
 * it is: zod would accept it too, element by element through a recursive union (most of the time
 * of a body with large weights; docs/performance.md, "/gradients"), and give a copy of the same
 * numbers. Any other value is validated by the schema, with its own issues and paths.
 */
function acceptFastNestedNumbers<T extends z.ZodType>(schema: T): T {
  type Run = (payload: { value: unknown; issues: unknown[] }, ctx: unknown) => unknown;
  const zod = schema._zod as unknown as { run: Run };
  const run = zod.run;
  zod.run = (payload, ctx) =>
    (ctx as { direction?: string } | undefined)?.direction !== "backward" &&
    finiteNestedNumbers(payload.value)
      ? payload
      : run(payload, ctx);
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
  const schema = z
    .string({
      error: (issue) =>
        Array.isArray(issue.input)
          ? "given more than once: give it once"
          : "expected an integer (decimal digits)",
    })
    .regex(/^\d{1,15}$/, "expected an integer (decimal digits)")
    .transform(Number)
    .pipe(z.number().int().min(min).max(max));
  queryIntegers.add(schema, { minimum: min, maximum: max });
  return schema;
}
