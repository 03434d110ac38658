import { z } from "zod";
import { type ExtraMetric, METRIC_NAMES, type MetricSeries, valKey } from "../engine/index.js";
import {
  DtypeSchema,
  FiniteNamedTensorsSchema,
  NamedTensorsOutputSchema,
  NestedNumbersSchema,
  NestedOutputSchema,
  OutputNumberSchema,
} from "./common.js";
import { DatasetInfoSchema } from "./dataset.js";
import { StoredDatasetSchema } from "./stored-datasets.js";
import { OptimizerStateOutputSchema, TelemetrySchema } from "./training.js";

const perEpoch = z.array(OutputNumberSchema);

const EXTRA_METRICS = METRIC_NAMES.filter((m): m is ExtraMetric => m !== "accuracy");

/**
 * A field per metric of `TrainOptions.metrics` but accuracy, training (`precision`) and validation
 * (`valPrecision`), each `value` optional and described.
 */
export function metricFields<T extends z.ZodType>(
  value: T,
  what: string,
): { [K in keyof MetricSeries<number>]-?: z.ZodOptional<T> } {
  return Object.fromEntries(
    EXTRA_METRICS.flatMap((m) => [
      [m, value.optional().describe(`metrics: ["${m}"]: ${what} on the training samples.`)],
      [
        valKey(m),
        value
          .optional()
          .describe(`metrics: ["${m}"] with a validationSplit: ${what} on the validation samples.`),
      ],
    ]),
  ) as { [K in keyof MetricSeries<number>]-?: z.ZodOptional<T> };
}

export const HistorySchema = z
  .object({
    loss: perEpoch.describe("Mean training loss of each epoch."),
    accuracy: perEpoch.optional().describe("Training accuracy of each epoch (classification losses)."),
    valLoss: perEpoch.optional().describe("Validation loss at the end of each epoch."),
    valAccuracy: perEpoch.optional(),
    distanceToOptimum: perEpoch
      .optional()
      .describe(
        "Linear regression trained by sgd/adam: the distance ‖W − W*‖ (Frobenius, kernel and bias together) " +
          "from the weights at the end of each epoch to the least-squares optimum.",
      ),
    regularizationLoss: perEpoch
      .optional()
      .describe(
        "With a kernel, bias or activity regularizer: the epoch's mean penalty, the part of `loss` it adds.",
      ),
    ...metricFields(perEpoch, "per epoch, from the epoch's batches (training) or at its end (validation)"),
  })
  .meta({ id: "History", description: "Per-epoch values, one entry per epoch run." });

export const MetricsSchema = z
  .object({
    loss: z.number().optional(),
    accuracy: z.number().optional(),
    valLoss: z.number().optional(),
    valAccuracy: z.number().optional(),
    ...metricFields(z.number(), "the value at the returned weights"),
  })
  .meta({
    id: "Metrics",
    description:
      "Loss (and accuracy, validation values) at the returned weights; a value that is not finite is left " +
      "out and named in `nonFinite`.",
  });

export const DivergenceSchema = z
  .object({
    epoch: z.number().int().describe("0-based epoch at which a non-finite value first appeared."),
    batch: z.number().int().describe("0-based batch within that epoch."),
    stage: z
      .enum(["activation", "loss", "gradient", "weight", "valLoss"])
      .describe(
        "Where it appeared, checked in this order every batch: a layer's output, the batch loss, a " +
          "parameter's gradient, a weight after the step; after each epoch, the validation loss.",
      ),
    layer: z.string().optional().describe("The layer whose output, gradient or weight became non-finite."),
    parameter: z.string().optional().describe("The parameter whose gradient or weight became non-finite."),
    largestUpdate: z
      .object({ parameter: z.string(), ratio: z.number().nullable() })
      .optional()
      .describe("The parameter the previous step changed most, ‖ΔW‖/‖W‖: the likely overshoot."),
    lastFiniteLoss: z.number().optional().describe("Mean loss of the last batch whose loss was finite."),
    message: z.string(),
  })
  .meta({
    id: "Divergence",
    description:
      "Present when training stopped on a NaN or infinite value (NaN forensics); the weights returned are " +
      "the last finite ones.",
  });

export const ClosedFormSolutionSchema = z
  .object({
    method: z
      .enum(["qr", "svd"])
      .describe("qr: full rank, the unique minimiser; svd: rank-deficient data, the minimum-norm minimiser."),
    rank: z.number().int().describe("Numerical rank of the design matrix [X 1]."),
    mse: OutputNumberSchema.describe("Training mean squared error at the solution."),
    r2: OutputNumberSchema.describe("Coefficient of determination on the training samples."),
  })
  .meta({ id: "ClosedFormSolution", description: "How normalEquation solved the least-squares problem." });

export const ConfusionMatrixSchema = z
  .object({
    labels: z
      .array(z.number().int())
      .describe("The class index of each row and column: 0 … units − 1, or [0, 1] for binary decisions."),
    train: z.array(z.array(z.number().int())).describe("On the training samples: train[true][predicted]."),
    validation: z
      .array(z.array(z.number().int()))
      .optional()
      .describe("On the validation samples (with a validationSplit)."),
  })
  .meta({
    id: "ConfusionMatrix",
    description:
      "Classifiers: counts at the returned weights, rows the true class, columns the predicted one (argmax; one " +
      "sigmoid unit: output > 0.5). A multi-label output (several sigmoid units) pools every unit's yes/no decision.",
  });

export const TrainWarningSchema = z
  .object({
    code: z
      .enum(["maskDropped"])
      .describe(
        "What kind of remark, stable for programs (the message is for people). maskDropped: a layer " +
          "without mask support (conv1d, a 1-D pooling, globalMaxPooling1d, flatten, reshape) received " +
          "the time-step mask an embedding's maskZero made and dropped it unread, as Keras 3 does: it, the " +
          "layers after it and the loss treat the padding as real steps (docs/backprop.md §21.1).",
      ),
    layer: z.string().describe("The layer that drops the mask, as named in the weights' keys."),
    message: z.string().describe("What happened and what to do about it."),
  })
  .meta({ id: "TrainWarning" });

export const TrainResponseSchema = z.object({
  weights: FiniteNamedTensorsSchema.describe(
    "The final weights, always finite (after a divergence, the last finite ones): send them back as " +
      "`initialWeights` or `weights` as they are.",
  ),
  history: HistorySchema,
  gradients: FiniteNamedTensorsSchema.optional().describe(
    "Gradient of the mean loss over the whole training set at the returned weights (absent, and named " +
      "in `nonFinite`, when not finite).",
  ),
  metrics: MetricsSchema,
  confusionMatrix: ConfusionMatrixSchema.optional(),
  seed: z.number().int().describe("The seed used (drawn when the request had none)."),
  modelId: z
    .string()
    .optional()
    .describe(
      "The stored model (`mdl_…`): every succeeded job's, and POST /train's with `saveModel`. GET /models/{id} shows it.",
    ),
  modelNotSaved: z
    .string()
    .optional()
    .describe(
      "POST /train with `saveModel`: why no model was stored (the run diverged: its last finite weights are not a trained model).",
    ),
  engineVersion: z.string().describe("Version of the back-propagation engine that trained."),
  weightsSha256: z
    .string()
    .describe(
      "SHA-256 (hex) of the returned weights over a canonical encoding: per tensor, keys in code-point " +
        "order: uint32 LE key length, UTF-8 key, uint32 LE rank, uint32 LE dims, float64 LE values. Equal " +
        "hashes mean bit-identical weights.",
    ),
  epochsRun: z.number().int().describe("Epochs completed in this run."),
  initialEpoch: z.number().int().describe("0-based number of the first epoch (continues a resumed run)."),
  stoppedEpoch: z.number().int().optional().describe("earlyStopping: the epoch after which it stopped."),
  bestEpoch: z.number().int().optional().describe("earlyStopping: the epoch with the best monitored value."),
  nonFinite: z
    .object({ omitted: z.array(z.string()), message: z.string() })
    .optional()
    .describe("Values at the returned weights left out because they are not finite."),
  telemetry: TelemetrySchema.optional(),
  optimizerState: OptimizerStateOutputSchema.optional(),
  durationMs: z.number().describe("Time spent training in the worker, milliseconds."),
  diverged: DivergenceSchema.optional(),
  solution: ClosedFormSolutionSchema.optional().describe("Present for optimizer normalEquation."),
  optimum: NamedTensorsOutputSchema.optional().describe(
    "Linear regression trained by sgd/adam: the closed-form least-squares weights, keyed as `weights` " +
      "(omitted for problems too large to solve on the side).",
  ),
  warnings: z
    .array(TrainWarningSchema)
    .min(1)
    .optional()
    .describe("What the numbers alone do not say, in layer order; absent when there is nothing to say."),
});

/**
 * The training answer as the routes send it (POST /train, a job's `result`): `TrainResponseSchema`
 * whose `weights`, `history` and `metrics` a request's `return` may leave out (every other large
 * part is optional already). Without `return` every part the run produced is there.
 */
export const TrainAnswerSchema = TrainResponseSchema.partial({ weights: true, history: true, metrics: true })
  .describe(
    "The training result. `weights`, `history` and `metrics` are always there unless the request's `return` leaves them out.",
  )
  .meta({ id: "TrainResponse" });

export const NumericalReportSchema = z
  .object({
    method: z.enum(["central", "forward", "ridders"]),
    epsilon: z.number(),
    gradients: NamedTensorsOutputSchema,
    maxAbsError: OutputNumberSchema.describe("max |analytic − numerical| over every parameter."),
    maxRelError: OutputNumberSchema.describe(
      "max |a − n| / max(|a|, |n|, 1e-8) over every parameter element (docs/backprop.md §10.3).",
    ),
    normRelError: OutputNumberSchema.describe(
      "‖a − n‖₂ / max(‖a‖₂, ‖n‖₂) over every element: the error against the gradient's size, which " +
        "elements far smaller than the rest (rare tokens' embeddings, steps far back in time) cannot dominate.",
    ),
    worst: z
      .object({
        key: z.string(),
        index: z.array(z.number().int()),
        analytic: OutputNumberSchema,
        numerical: OutputNumberSchema,
        relError: OutputNumberSchema,
      })
      .describe("The parameter element with the largest relative error."),
  })
  .meta({
    id: "NumericalReport",
    description: "Finite-difference gradients and how far they are from backprop's.",
  });

export const GradientsWarningSchema = z
  .object({
    code: z
      .enum(["batchStatisticsOfOneValue", "stepBelowResolution"])
      .describe(
        "What kind of remark, stable for programs (the message is for people). batchStatisticsOfOneValue: " +
          "in training mode a batchNormalization layer took its statistics over one value per channel " +
          "(one sample of a dense layer's features; a convolution's channels over several positions are " +
          "fine), so every channel's variance is 0, its output is its beta and no gradient flows below it; " +
          "training: false inspects with the moving statistics instead. stepBelowResolution: the " +
          "numericalCheck's epsilon is lost against some weights (w + h == w), whose numerical gradients " +
          "are then 0.",
      ),
    layer: z.string().describe("The layer it concerns, as named in activations and the weights' keys."),
    message: z.string().describe("What happened and what to do about it."),
  })
  .meta({ id: "GradientsWarning" });

export const GradientsResponseSchema = z
  .object({
    loss: z
      .number()
      .describe("The loss for the sample (always finite: an overflow is a 422 naming the weights)."),
    output: NestedOutputSchema.describe("The model's output for the sample, shape outputShape."),
    gradients: FiniteNamedTensorsSchema.describe(
      "∂loss/∂w for every parameter, same keys and shapes as weights (always finite: an overflow is a 422).",
    ),
    activations: z
      .array(z.object({ layer: z.string(), output: NestedOutputSchema }))
      .describe("Output of every layer (after its activation), in order."),
    weights: FiniteNamedTensorsSchema.describe("The weights used (handy when they were seeded)."),
    seed: z
      .number()
      .int()
      .describe("The seed used to initialise weights (drawn when absent) and draw the dropout masks."),
    dtype: DtypeSchema.describe(
      "The precision the pass ran in: the request's dtype, else a stored model's own, else float64.",
    ),
    dropoutMasks: z
      .record(z.string(), NestedOutputSchema)
      .optional()
      .describe(
        "Training mode, a model with dropout: per dropout layer, the mask it applied, shaped as its input; " +
          "each value 0 (dropped) or 1/(1 − rate) (kept and scaled), so the layer's output is its input " +
          "times the mask. A recurrent layer with dropout shows `<layer>/dropout` [features] (multiplying x_t) " +
          "and `<layer>/recurrentDropout` [units] (multiplying h_{t−1}), one mask for every step and gate; a " +
          "bidirectional layer's copies as `<name>/forward_<inner>/…` and `<name>/backward_<inner>/…`.",
      ),
    numerical: NumericalReportSchema.optional(),
    recurrent: z
      .record(
        z.string(),
        z.object({
          states: z
            .array(z.array(OutputNumberSchema))
            .describe(
              "The states h_1 … h_T, [T, units], in processing order (reversed input with goBackwards).",
            ),
          stateGradientNorm: z
            .array(OutputNumberSchema)
            .describe(
              "Entry t − 1: ‖∂loss/∂h_t‖₂, the whole gradient on the state h_t (from the output and from " +
                "step t + 1). Where it falls towards t = 1 the gradient vanishes through time " +
                "(docs/backprop.md §22.5).",
            ),
        }),
      )
      .optional()
      .describe(
        "Gradient flow through time: per recurrent layer (simpleRNN, lstm, gru), keyed by its name (a " +
          "bidirectional layer's two copies by their weights' prefixes, <name>/forward_<inner> and " +
          "<name>/backward_<inner>, each in its own processing order), the " +
          "sample's per-timestep states and the norms of the loss gradient on them. Absent without recurrent layers.",
      ),
    warnings: z
      .array(GradientsWarningSchema)
      .min(1)
      .optional()
      .describe("What the numbers alone do not say, in layer order; absent when there is nothing to say."),
  })
  .meta({ id: "GradientsResponse" });

export const PredictResponseSchema = z
  .object({
    outputs: z
      .array(NestedNumbersSchema)
      .describe(
        "One output per sample, each of the model's output shape (always finite: an overflow is a 422).",
      ),
    dtype: DtypeSchema.describe(
      "The precision the outputs were computed in: the request's dtype, else a stored model's own, else float64.",
    ),
  })
  .meta({ id: "PredictResponse" });

export const DatasetsResponseSchema = z
  .object({
    datasets: z.array(DatasetInfoSchema).describe("The built-in data sets (train on one by name)."),
    stored: z.array(StoredDatasetSchema).describe("Stored data sets, newest first, one page."),
    hasMore: z.boolean().describe("More stored data sets follow: fetch `next`."),
    next: z.string().nullable().describe("The next page of stored data sets, or null."),
  })
  .meta({ id: "DatasetsResponse" });

export const HealthResponseSchema = z.object({ status: z.literal("ok") }).meta({ id: "Health" });

export type TrainResponse = z.output<typeof TrainResponseSchema>;
export type GradientsResponse = z.output<typeof GradientsResponseSchema>;
export type PredictResponse = z.output<typeof PredictResponseSchema>;
