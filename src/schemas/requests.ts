import { z } from "zod";
import { ReturnSchema, SaveModelSchema } from "./answer-parts.js";
import { DtypeSchema, NamedTensorsInputSchema, NestedNumbersSchema, SeedSchema } from "./common.js";
import { DatasetSchema } from "./dataset.js";
import { gradientsExample, predictExample, trainExample } from "./examples.js";
import { cappedIssues } from "./issue-caps.js";
import { LIMITS } from "./limits.js";
import { isModelRef, ModelFieldSchema, WeightsFieldSchema } from "./model-refs.js";
import { OptimizerSchema } from "./optimizer.js";
import {
  ClassWeightSchema,
  EarlyStoppingSchema,
  MetricsListSchema,
  OptimizerStateSchema,
  SampleWeightSchema,
} from "./training.js";

// Request bodies are not registered as components: their `examples` must stay inline so
// Swagger UI pre-fills "Try it out" with a body that works.

export const TrainRequestSchema = z
  .strictObject({
    model: ModelFieldSchema,
    dataset: DatasetSchema,
    optimizer: OptimizerSchema,
    epochs: z
      .number()
      .int()
      .min(1)
      .max(LIMITS.maxEpochs, {
        error:
          `at most ${LIMITS.maxEpochs} epochs (a fixed cap); within it, a run is bounded by its compute ` +
          "budget: MAX_WORK for POST /train, MAX_JOB_WORK for POST /jobs",
      })
      .optional()
      .describe("Passes over the training set; required unless the optimizer is normalEquation."),
    batchSize: z
      .number()
      .int()
      .min(1)
      .max(LIMITS.maxBatchSize)
      .optional()
      .describe("Samples per mini-batch, default 32; clamped to the training-set size."),
    shuffle: z.boolean().default(true).describe("Reshuffle the training samples every epoch (seeded)."),
    seed: SeedSchema.optional(),
    dtype: DtypeSchema.optional().describe(
      "The element type the run computes in (docs/precision.md): float64 or float32. Default: the " +
        "dtype of the stored model it fine-tunes (`initialWeights: { modelId }`, else `model: { modelId }`), " +
        "float64 otherwise. `engineVersion` ends in `+float32` for a float32 run.",
    ),
    validationSplit: z
      .number()
      .min(0)
      .lt(1)
      .optional()
      .describe("Fraction of samples held out for validation, taken from the end before shuffling (Keras)."),
    initialWeights: WeightsFieldSchema.optional().describe(
      "Weights to start from instead of the seeded Glorot initialisation: by name, or a stored model's " +
        "(`{ modelId }`, the same architecture).",
    ),
    telemetry: z
      .boolean()
      .optional()
      .describe(
        "Record per-epoch gradient norms, update-to-weight ratios, dead ReLU and saturated sigmoid/tanh " +
          "fractions in the answer's `telemetry`, and per recurrent layer the state gradient's norm per timestep " +
          "(at most 1,000,000 of those: epochs × timesteps; 422 at telemetry beyond).",
      ),
    earlyStopping: EarlyStoppingSchema.optional(),
    returnOptimizerState: z
      .boolean()
      .optional()
      .describe("Return the optimiser's state, to continue this run later exactly (`optimizerState`)."),
    optimizerState: OptimizerStateSchema.optional().describe(
      "Continue an earlier run: its `optimizerState`, sent with its `weights` as `initialWeights`, the same " +
        "data, validationSplit, shuffle, batchSize and optimiser. 10 epochs then 10 more equal 20 at once, bit for bit.",
    ),
    sampleWeight: SampleWeightSchema.optional(),
    classWeight: ClassWeightSchema.optional(),
    metrics: MetricsListSchema.optional(),
    saveModel: SaveModelSchema,
    return: ReturnSchema.optional(),
  })
  .check((ctx) => {
    if (ctx.value.epochs === undefined && ctx.value.optimizer?.type !== "normalEquation")
      ctx.issues.push({
        code: "custom",
        input: ctx.value,
        path: ["epochs"],
        message: `required field is missing (expected number): ${ctx.value.optimizer.type} iterates`,
      });
  })
  .meta({ examples: [trainExample] });

export const NumericalCheckSchema = z
  .union(
    [
      z.boolean(),
      z.strictObject({
        method: z
          .enum(["central", "forward", "ridders"])
          .default("central")
          .describe(
            "central: (f(w+h) − f(w−h)) / 2h, error O(h²); forward: (f(w+h) − f(w)) / h, error O(h); " +
              "ridders: central differences over steps shrinking from h by 1.4, extrapolated to h → 0 " +
              "(Ridders' method), up to 16 evaluations per parameter; start it wide (h = 0.01): " +
              "relative error near 1e-10 where central differences give 1e-7.",
          ),
        epsilon: z.number().positive().max(0.1).default(1e-5).describe("The step h."),
      }),
    ],
    { error: "expected true, false or {method?, epsilon?}" },
  )
  .describe(
    "Also compute the gradients numerically (finite differences) and compare; `true` = central, 1e-5.",
  );

export const GradientsRequestSchema = z
  .strictObject({
    model: ModelFieldSchema,
    weights: NamedTensorsInputSchema.optional().describe(
      "Weights to inspect; seeded Glorot weights when absent (the stored model's when `model` is `{ modelId }`).",
    ),
    seed: SeedSchema.optional(),
    dtype: DtypeSchema.optional().describe(
      "The element type of the forward and backward passes: float64 (default) or float32 (float32 " +
        "gradients). The numerical check runs in float64 either way, on the same weights (docs/precision.md).",
    ),
    x: NestedNumbersSchema.describe("One sample: a nested array of inputShape, or flat of the same size."),
    y: NestedNumbersSchema.describe(
      "Its target: an integer label (sparseCategoricalCrossentropy), a target vector, or a number for one unit.",
    ),
    numericalCheck: NumericalCheckSchema.optional(),
    training: z
      .boolean()
      .optional()
      .describe(
        "Run the forward pass as a training step sees it (default true): dropout (and a recurrent layer's " +
          "dropout/recurrentDropout) draws its masks from " +
          "the seed (shown in dropoutMasks) and batch statistics come from the sample, without updating " +
          "the moving ones; the numerical check reuses those masks. false: inference (dropout is the identity).",
      ),
  })
  .meta({ examples: [gradientsExample] });

export const PredictRequestSchema = z
  .strictObject({
    model: ModelFieldSchema,
    weights: NamedTensorsInputSchema.optional().describe(
      "The model's weights; required unless `model` is a stored model (`{ modelId }`), whose weights are the default.",
    ),
    dtype: DtypeSchema.optional().describe(
      "The element type of the forward pass: float64 or float32 (the weights rounded to float32 once). " +
        "Default: a stored model's own dtype (`{ modelId }`), float64 otherwise. A float32 run's weights " +
        "predicted in float32 give the saved model's predictions (docs/precision.md).",
    ),
    x: cappedIssues(
      z
        .array(NestedNumbersSchema)
        .min(1)
        .max(LIMITS.maxSamples)
        .describe("Samples, each a nested array of inputShape or flat of the same size."),
    ),
  })
  .check((ctx) => {
    if (ctx.value.weights === undefined && !isModelRef(ctx.value.model))
      ctx.issues.push({
        code: "custom",
        input: ctx.value,
        path: ["weights"],
        message: "required field is missing (expected record)",
      });
  })
  .meta({ examples: [predictExample] });

export type TrainRequest = z.output<typeof TrainRequestSchema>;
export type GradientsRequest = z.output<typeof GradientsRequestSchema>;
export type PredictRequest = z.output<typeof PredictRequestSchema>;
