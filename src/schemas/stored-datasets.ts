import { z } from "zod";
import { NestedNumbersSchema, queryInt } from "./common.js";
import { sameSampleCount } from "./dataset.js";
import { storeXorExample } from "./examples-datasets.js";
import { cappedIssues } from "./issue-caps.js";
import { LIMITS } from "./limits.js";

const NameSchema = z.string().min(1).max(200).describe("A name to recognise it by (not unique).");

export const StoreDatasetJsonSchema = z
  .strictObject({
    name: NameSchema.optional(),
    x: cappedIssues(
      z
        .array(NestedNumbersSchema)
        .min(1, "the data set is empty")
        .max(LIMITS.maxSamples)
        .describe(
          "Samples: nested arrays of inputShape (read from the first one when inputShape is absent).",
        ),
    ),
    y: cappedIssues(
      z
        .array(NestedNumbersSchema)
        .max(LIMITS.maxSamples)
        .describe(
          "Targets, one per sample, all of one shape: a number (a class label or a scalar target) or a vector.",
        ),
    ),
    inputShape: z
      .array(z.number().int().min(1).max(LIMITS.maxInputDim))
      .min(1)
      .max(LIMITS.maxInputRank)
      .optional()
      .describe("The shape of one sample; lets samples be sent flat. Default: the first sample's nesting."),
    classes: z
      .array(z.string().min(1).max(200))
      .min(2)
      .max(LIMITS.maxUnits)
      .optional()
      .describe("Class names when y holds class labels: label i is classes[i]."),
  })
  .check(sameSampleCount)
  .meta({
    id: "StoreDatasetJson",
    description: "A data set sent as JSON.",
    example: storeXorExample,
  });

export const CsvTextSchema = z
  .string()
  .describe(
    "CSV (RFC 4180): a header row naming the columns, then one sample per row. The label column (?label=, " +
      "default the last) is the target; every other column is a numeric feature. Labels that are not all " +
      "numbers are class names, mapped to indices in order of first appearance.",
  )
  .meta({ example: "sepal_length,sepal_width,species\n5.1,3.5,setosa\n7.0,3.2,versicolor\n" });

/** The body of POST /datasets: JSON or CSV (the OpenAPI document gives each media type its branch). */
export const StoreDatasetBodySchema = z.union([StoreDatasetJsonSchema, CsvTextSchema], {
  error: "expected a JSON object {x, y} or CSV text",
});

export const StoreDatasetQuerySchema = z.strictObject({
  label: z
    .string()
    .min(1)
    .max(200)
    .optional()
    .describe("CSV: the target column's name. Default: the last column."),
  name: NameSchema.optional().describe("CSV: a name for the data set (JSON bodies carry `name`)."),
  inputShape: z
    .string()
    .regex(
      /^[1-9]\d{0,5}(,[1-9]\d{0,5}){0,2}$/,
      "expected 1 to 3 positive integers separated by commas, e.g. 50,2",
    )
    .optional()
    .transform((v) => v?.split(",").map(Number))
    .describe(
      "CSV: the shape of one sample, e.g. `50,2` for sequences of 50 steps of 2 features: each row's feature " +
        "columns, in order, fill it row-major (timestep by timestep). Their count must be its size. Default: " +
        "`[features]`.",
    ),
});

export const DatasetIdParamsSchema = z.strictObject({
  id: z.string().min(1).max(100).describe("The stored data set's id."),
});

export const StoredDatasetSchema = z
  .object({
    id: z.string().describe('Train on it with `"dataset": { "id": "…" }`.'),
    name: z.string().nullable(),
    format: z.enum(["json", "csv"]).describe("How it was sent."),
    createdAt: z.string().describe("ISO 8601."),
    samples: z.number().int(),
    inputShape: z.array(z.number().int()).describe("The shape of one sample."),
    targetShape: z
      .array(z.number().int())
      .describe("The shape of one target; [] is one number per sample (a class label or a scalar)."),
    classes: z
      .array(z.string())
      .optional()
      .describe("Class names: label i is classes[i] (CSV labels that were names, or given with JSON)."),
    columns: z
      .object({ features: z.array(z.string()), label: z.string() })
      .optional()
      .describe("CSV: the feature columns in order, and the label column."),
    links: z.object({ self: z.string() }),
  })
  .meta({ id: "StoredDataset", description: "A stored data set (its values are not repeated)." });

export const ListQuerySchema = z.strictObject({
  limit: queryInt(1, 100).default(20).describe("Items per page: 1 … 100 (default 20)."),
  after: z
    .string()
    .min(1)
    .max(100)
    .optional()
    .describe("Cursor: the id of the last item of the previous page (`next` links carry it)."),
});

/**
 * A list whose `next` links survive deletion (models, jobs): `cursor` is the position of the
 * previous page's last item, valid even once that item is deleted (a list-and-delete loop).
 */
export const PagedListQuerySchema = ListQuerySchema.extend({
  cursor: queryInt(1, 999_999_999_999_999)
    .optional()
    .describe(
      "Cursor: the position after which to list (`next` links carry it); unlike `after`, it still " +
        "works when the previous page's last item has been deleted. Not with `after`.",
    ),
});

export type StoreDatasetJson = z.output<typeof StoreDatasetJsonSchema>;
export type StoredDatasetResponse = z.output<typeof StoredDatasetSchema>;
