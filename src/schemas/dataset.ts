import { z } from "zod";
import { NestedNumbersSchema } from "./common.js";
import { cappedIssues } from "./issue-caps.js";
import { LIMITS } from "./limits.js";

export const BUILT_IN_DATASETS = ["iris", "xor", "mnist", "addingProblem", "sineWave"] as const;

/** The built-in sets generated from parameters (`timesteps`, `samples`, `seed`). */
export const SEQUENCE_DATASETS = ["addingProblem", "sineWave"] as const;

/** The most values (samples × timesteps × features) a generated data set may hold: MNIST's 7.84 million, about. */
export const MAX_GENERATED_VALUES = 8_000_000;

/** Zod check of a `{ x, y }` body: one target per sample, reported at `y`. */
export function sameSampleCount(ctx: {
  value: { x: unknown[]; y: unknown[] };
  issues: z.core.$ZodRawIssue[];
}): void {
  const { x, y } = ctx.value;
  if (x.length !== y.length)
    ctx.issues.push({
      code: "custom",
      input: y,
      path: ["y"],
      message: `y has ${y.length} entries but x has ${x.length} samples`,
    });
}

export const InlineDatasetSchema = z
  .strictObject({
    x: cappedIssues(
      z
        .array(NestedNumbersSchema)
        .min(1, "the data set is empty")
        .max(LIMITS.maxSamples)
        .describe("Samples: each a nested array of the model's inputShape, or flat of the same size."),
    ),
    y: cappedIssues(
      z
        .array(NestedNumbersSchema)
        .max(LIMITS.maxSamples)
        .describe(
          "Targets, one per sample: an integer class label for sparseCategoricalCrossentropy; otherwise a " +
            "target vector of the output's shape, or one number when the output has one unit.",
        ),
    ),
  })
  .check(sameSampleCount)
  .meta({ id: "InlineDataset", description: "A data set sent with the request." });

export const NamedDatasetSchema = z
  .strictObject({
    name: z.enum(BUILT_IN_DATASETS).describe("A built-in data set (GET /datasets lists them)."),
    timesteps: z
      .int()
      .min(2)
      .max(LIMITS.maxInputDim)
      .optional()
      .describe(
        "addingProblem and sineWave only: the sequence length T (default 50 and 20); inputShape [T, features].",
      ),
    samples: z
      .int()
      .min(1)
      .max(LIMITS.maxSamples)
      .optional()
      .describe("addingProblem and sineWave only: how many samples to generate (default 1000)."),
    seed: z
      .int()
      .min(0)
      .max(2 ** 32 - 1)
      .optional()
      .describe(
        "addingProblem and sineWave only: the seed the values are drawn from (default 1997 and 2015); " +
          "the same parameters give the same data set everywhere. Independent of the request's seed.",
      ),
  })
  .check((ctx) => {
    const v = ctx.value;
    const generated = (SEQUENCE_DATASETS as readonly string[]).includes(v.name);
    for (const field of ["timesteps", "samples", "seed"] as const)
      if (v[field] !== undefined && !generated)
        ctx.issues.push({
          code: "custom",
          input: v[field],
          path: [field],
          message: `${v.name} is a fixed data set: ${field} applies to addingProblem and sineWave only`,
        });
    if (!generated) return;
    // A field over its own bound has its own issue: the product is not blamed on it (or its partner).
    const within = (n: number | undefined, max: number) =>
      n === undefined || (Number.isInteger(n) && n <= max);
    if (!within(v.timesteps, LIMITS.maxInputDim) || !within(v.samples, LIMITS.maxSamples)) return;
    const values =
      (v.samples ?? 1000) *
      (v.timesteps ?? (v.name === "addingProblem" ? 50 : 20)) *
      (v.name === "addingProblem" ? 2 : 1);
    if (values > MAX_GENERATED_VALUES)
      // At each of the two sent: either may be the one to lower.
      for (const field of ["samples", "timesteps"] as const)
        if (v[field] !== undefined)
          ctx.issues.push({
            code: "custom",
            input: v[field],
            path: [field],
            message: `samples × timesteps × features is ${values}; at most ${MAX_GENERATED_VALUES} values can be generated: lower samples or timesteps`,
          });
  })
  .meta({
    id: "NamedDataset",
    description:
      "A built-in data set by name; the generated sequence sets (addingProblem, sineWave) take timesteps, samples and seed.",
  });

export const StoredDatasetRefSchema = z
  .strictObject({
    id: z.string().min(1).max(100).describe("A stored data set's id (POST /datasets answers it)."),
  })
  .meta({ id: "StoredDatasetRef", description: "A data set stored with POST /datasets, by id." });

export const DatasetSchema = z
  .union([InlineDatasetSchema, NamedDatasetSchema, StoredDatasetRefSchema], {
    error: "expected an inline data set {x, y}, a built-in one {name} or a stored one {id}",
  })
  .meta({ id: "Dataset", description: "Inline samples `{x, y}`, a built-in `{name}` or a stored `{id}`." });

export const DatasetInfoSchema = z
  .object({
    name: z.string(),
    description: z.string(),
    inputShape: z.array(z.number().int()),
    samples: z.number().int(),
    classes: z
      .array(z.string())
      .describe("Class names; label i is classes[i]. Empty for a regression set (addingProblem)."),
    targets: z
      .string()
      .optional()
      .describe("A generated sequence set: what its targets are, for which losses."),
    source: z.string(),
    license: z.string(),
  })
  .meta({ id: "DatasetInfo", description: "A built-in data set." });
