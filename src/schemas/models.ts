import { z } from "zod";
import { DtypeSchema, NamedTensorsInputSchema, NestedNumbersSchema, SeedSchema } from "./common.js";
import { cappedIssues } from "./issue-caps.js";
import { LIMITS } from "./limits.js";
import { LossSchema, ModelSpecSchema } from "./model.js";
import { dispatchUnion, hasKey, KerasSequentialSchema } from "./model-refs.js";
import { NumericalCheckSchema } from "./requests.js";

/** The path of the /models/{id}… routes (ids bounded as the jobs' are). */
export const ModelIdParamsSchema = z.strictObject({
  id: z.string().min(1).max(100).describe("The model's id (`mdl_…`)."),
});

/** A stored model as the API shows it (`ModelService.get`): the record without its owner, with links. */
export const ModelSchema = z
  .object({
    id: z.string().describe("`mdl_` and 22 url-safe base64 characters."),
    createdAt: z.string().describe("ISO 8601."),
    source: z
      .enum(["job", "train", "import"])
      .describe("A succeeded job, POST /train with `saveModel`, or POST /models (trained elsewhere)."),
    jobId: z.string().nullable().describe("The job it came from (`source: job`)."),
    spec: ModelSpecSchema.partial({ loss: true }).describe(
      "The model. `loss` is absent when it was imported without one (`lossGiven: false`).",
    ),
    optimizer: z
      .unknown()
      .describe(
        "The optimiser it was trained with, as the request gave it; for an import, its model.json's " +
          "`trainingConfig.optimizer_config` (re-exported as it came), else null.",
      ),
    metrics: z.unknown().describe("Final metrics and a history summary; null for an import."),
    dataset: z
      .unknown()
      .describe(
        "The data set it was trained on (`{ id }`, `{ builtin }` with a generated set's parameters, or " +
          "`{ inline }`); null for an import.",
      ),
    seed: z.number().int().nullable(),
    engineVersion: z.string(),
    dtype: DtypeSchema.describe(
      "The dtype it was trained in, which its predictions and gradients run in (docs/precision.md): " +
        "float32 when `engineVersion` ends in `+float32`, float64 otherwise (imports included).",
    ),
    weightsSha256: z
      .string()
      .describe(
        "SHA-256 of the weights (float64, or float32 bytes for a float32 model), as `weightsSha256` of " +
          "the training answer.",
      ),
    parameters: z.number().int().describe("Number of weight values, trainable and state."),
    lossGiven: z
      .boolean()
      .describe(
        "false: imported without a loss (an uncompiled tfjs model), `spec.loss` is only a placeholder; " +
          "training it by id then needs `model: { modelId, loss }`.",
      ),
    baseModelId: z
      .string()
      .nullable()
      .describe("The stored model its training started from (`initialWeights` or `model` by id), else null."),
    links: z.object({
      self: z.string(),
      predict: z.string(),
      gradients: z.string(),
      tfjs: z.string().describe("TensorFlow.js: `tf.loadLayersModel(<base> + links.tfjs)`."),
      onnx: z.string(),
    }),
  })
  .meta({
    id: "Model",
    description: "A stored model (its weights are not listed: export or predict with them).",
  });

/** One page of GET /models. */
export const ModelListSchema = z
  .object({
    models: z.array(ModelSchema).describe("Newest first."),
    hasMore: z.boolean(),
    next: z.string().nullable().describe("The next page, or null."),
  })
  .meta({ id: "ModelList" });

/** POST /models/{id}/predict: /predict's samples; the spec and weights are the stored ones. */
export const ModelPredictRequestSchema = z.strictObject({
  x: cappedIssues(
    z
      .array(NestedNumbersSchema)
      .min(1)
      .max(LIMITS.maxSamples)
      .describe("Samples, each a nested array of the model's inputShape or flat of the same size."),
  ),
});

/** POST /models/{id}/gradients: /gradients' sample and options; the spec and weights are the stored ones. */
export const ModelGradientsRequestSchema = z.strictObject({
  x: NestedNumbersSchema.describe("One sample: a nested array of inputShape, or flat of the same size."),
  y: NestedNumbersSchema.describe("Its target, as POST /gradients takes it."),
  seed: SeedSchema.optional(),
  numericalCheck: NumericalCheckSchema.optional(),
  training: z
    .boolean()
    .optional()
    .describe("As POST /gradients: the forward pass of a training step (default true), or inference."),
  loss: LossSchema.optional().describe(
    "The loss to differentiate instead of the stored one; required for a model imported without one (`lossGiven: false`).",
  ),
});

/** Base64 with the line breaks and spaces that wrapping encoders add (`base64`, Python's `encodebytes`). */
const BASE64 = /^[A-Za-z0-9+/\s]*(=\s*){0,2}$/;
const unspaced = (s: string) => s.replace(/\s+/g, "");

/**
 * The JSON form of an import: a TensorFlow.js `model.json`'s fields (`format`, `generatedBy`…
 * are accepted and ignored) with its weights inline in base64.
 */
export const ImportModelJsonSchema = z
  .strictObject({
    modelTopology: KerasSequentialSchema,
    weightsManifest: z
      .array(
        z.looseObject({
          paths: z.array(z.string()).optional(),
          weights: z.array(z.looseObject({ name: z.string(), shape: z.array(z.number().int().min(0)) })),
        }),
      )
      .describe(
        "The manifest of `model.json`: `[{ paths, weights: [{ name, shape, dtype }] }]`, in binary order.",
      ),
    weightData: z
      .string()
      .regex(
        BASE64,
        "expected base64 (A–Z, a–z, 0–9, +, /, = padding): the weights' bytes, float32 little-endian",
      )
      .refine(
        (s) => unspaced(s).length % 4 === 0,
        "expected base64 whose length (without whitespace) is a multiple of 4 (padded with =)",
      )
      .describe(
        "The weights' bytes (`weights.bin`: float32 little-endian in manifest order), base64; line breaks " +
          "and spaces are ignored.",
      ),
    loss: z
      .unknown()
      .optional()
      .describe("The model's loss (a Keras or ModelSpec name); default `trainingConfig.loss`, else none."),
    format: z.string().optional(),
    generatedBy: z.string().nullable().optional(),
    convertedBy: z.string().nullable().optional(),
    trainingConfig: z.looseObject({ loss: z.unknown().optional() }).nullable().optional(),
    userDefinedMetadata: z.unknown().optional(),
    modelInitializer: z.unknown().optional(),
    signature: z.unknown().optional(),
    initializerSignature: z.unknown().optional(),
  })
  .meta({
    description:
      "A TensorFlow.js model.json's fields (modelTopology, weightsManifest, trainingConfig…) with its " +
      "weights.bin inline as base64 `weightData`.",
  });

/** The engine's own form of an import: a `ModelSpec` and its weights as the API writes them. */
export const ImportModelNativeSchema = z
  .strictObject({
    model: ModelSpecSchema,
    weights: NamedTensorsInputSchema.describe(
      "Every weight of the model (non-trainable state included), keyed `<layer>/<param>` as /train answers them.",
    ),
  })
  .meta({
    description:
      "The service's own form: a model spec and its weights as /train answers them (what the playground's " +
      "Save model sends).",
  });

/**
 * POST /models' JSON body: a TensorFlow.js model.json's fields (`modelTopology`…) or the engine's
 * own `{ model, weights }`, told apart by their keys (`model` without `modelTopology` is the
 * engine's form), so each form is answered with its own errors.
 */
export const ImportModelBodySchema = dispatchUnion(
  [ImportModelJsonSchema, ImportModelNativeSchema],
  (v) =>
    hasKey(v, "model") && !hasKey(v, "modelTopology") ? ImportModelNativeSchema : ImportModelJsonSchema,
  ImportModelJsonSchema,
);

export type ModelView = z.output<typeof ModelSchema>;
export type ImportModelNative = z.output<typeof ImportModelNativeSchema>;
export type ModelList = z.output<typeof ModelListSchema>;
export type ImportModelJson = z.output<typeof ImportModelJsonSchema>;
