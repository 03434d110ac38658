import { z } from "zod";
import { NestedNumbersSchema } from "./common.js";
import { LIMITS } from "./limits.js";

export const BUILT_IN_DATASETS = ["iris", "xor", "mnist"] as const;

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
    x: z
      .array(NestedNumbersSchema)
      .min(1, "the data set is empty")
      .max(LIMITS.maxSamples)
      .describe("Samples: each a nested array of the model's inputShape, or flat of the same size."),
    y: z
      .array(NestedNumbersSchema)
      .max(LIMITS.maxSamples)
      .describe(
        "Targets, one per sample: an integer class label for sparseCategoricalCrossentropy; otherwise a " +
          "target vector of the output's shape, or one number when the output has one unit.",
      ),
  })
  .check(sameSampleCount)
  .meta({ id: "InlineDataset", description: "A data set sent with the request." });

export const NamedDatasetSchema = z
  .strictObject({
    name: z.enum(BUILT_IN_DATASETS).describe("A built-in data set (GET /datasets lists them)."),
  })
  .meta({ id: "NamedDataset", description: "A built-in data set by name." });

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
    classes: z.array(z.string()).describe("Class names; label i is classes[i]."),
    source: z.string(),
    license: z.string(),
  })
  .meta({ id: "DatasetInfo", description: "A built-in data set." });
