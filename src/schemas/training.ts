import { z } from "zod";
import { type EarlyStoppingOptions, METRIC_NAMES, type OptimizerState } from "../engine/index.js";
import { NamedTensorsInputSchema, NamedTensorsOutputSchema, OutputNumberSchema } from "./common.js";
import { cappedIssues } from "./issue-caps.js";
import { LIMITS } from "./limits.js";

export const EarlyStoppingSchema = z
  .strictObject({
    monitor: z.enum(["valLoss", "loss"]).describe("valLoss needs a validationSplit."),
    patience: z.number().int().min(0).max(LIMITS.maxEpochs).optional().describe("Default 0."),
    minDelta: z
      .number()
      .min(0)
      .optional()
      .describe("Smallest decrease that counts as improvement. Default 0."),
    restoreBestWeights: z.boolean().optional().describe("Return the best epoch's weights. Default false."),
  })
  .meta({
    id: "EarlyStopping",
    description:
      "Keras EarlyStopping: stop when `monitor` has not improved by more than minDelta for `patience` epochs.",
  });

const uint32 = z
  .number()
  .int()
  .min(0)
  .max(2 ** 32 - 1);

/** A xoshiro128** generator's state (Blackman & Vigna, 2018): 4 uint32, said so whatever was sent. */
const RNG_STATE_MESSAGE = "expected an array of 4 integers in [0, 2^32)";
const rngState = z.array(uint32, { error: RNG_STATE_MESSAGE }).length(4, { error: RNG_STATE_MESSAGE });

export const OptimizerTypeSchema = z.enum([
  "sgd",
  "adam",
  "rmsprop",
  "adagrad",
  "adadelta",
  "adamax",
  "nadam",
  "adamw",
]);

/** The per-parameter arrays of the optimisers after sgd and adam, keyed and shaped as the weights. */
function slotFields<T extends z.ZodType>(tensors: T) {
  return {
    meanSquare: tensors.optional().describe("rmsprop: mean square ms (≥ 0)."),
    meanGradient: tensors.optional().describe("rmsprop with centered: mean gradient mg."),
    momentum: tensors.optional().describe("rmsprop with momentum > 0: the accumulated step."),
    accumulator: tensors.optional().describe("adagrad: sum of squared gradients (≥ 0)."),
    accumulatedGrad: tensors.optional().describe("adadelta: running mean of g² (≥ 0)."),
    accumulatedUpdate: tensors.optional().describe("adadelta: running mean of squared updates (≥ 0)."),
    u: tensors.optional().describe("adamax: weighted infinity norm (≥ 0)."),
  };
}

export const OptimizerStateSchema = z
  .strictObject({
    type: OptimizerTypeSchema,
    iterations: z.number().int().min(0).describe("Optimiser updates made so far."),
    epochsCompleted: z.number().int().min(0),
    velocity: NamedTensorsInputSchema.optional().describe("sgd with momentum: the velocity."),
    m: NamedTensorsInputSchema.optional().describe("adam, adamw, nadam, adamax: first-moment estimate."),
    v: NamedTensorsInputSchema.optional().describe("adam, adamw, nadam: second-moment estimate."),
    ...slotFields(NamedTensorsInputSchema),
    shuffleRng: rngState.describe("The shuffling generator's state."),
    shuffleOrder: cappedIssues(
      z
        .array(z.number().int().min(0))
        .max(LIMITS.maxSamples)
        .describe("Sample order after the latest shuffle."),
    ),
    dropoutRng: z
      .record(z.string(), rngState)
      .optional()
      .describe(
        "A model with dropout: the generator state of each dropout layer and of each recurrent layer with " +
          "dropout or recurrentDropout above 0, keyed by the layer's name (a bidirectional layer's copies as " +
          "<name>/forward_<inner> and <name>/backward_<inner>); required then, exactly those.",
      ),
  })
  .meta({
    id: "OptimizerState",
    description: "Everything the optimiser carries between steps, as returned with returnOptimizerState.",
  });

export const OptimizerStateOutputSchema = z
  .object({
    type: OptimizerTypeSchema,
    iterations: z.number().int(),
    epochsCompleted: z.number().int(),
    velocity: NamedTensorsOutputSchema.optional(),
    m: NamedTensorsOutputSchema.optional(),
    v: NamedTensorsOutputSchema.optional(),
    ...slotFields(NamedTensorsOutputSchema),
    shuffleRng: z.array(z.number().int()),
    shuffleOrder: z.array(z.number().int()),
    dropoutRng: z
      .record(z.string(), z.array(z.number().int()))
      .optional()
      .describe(
        "A model with dropout: the generator state of each dropout layer and each recurrent layer (or copy) " +
          "with dropout, keyed by its name.",
      ),
  })
  .meta({
    id: "OptimizerStateOut",
    description:
      "Send back as `optimizerState` (with the weights) to continue. A moment estimate is `null` where it " +
      "overflowed (adam's `v` and the other sums of squared gradients overflow above about 1e154, 1.8e19 in a float32 run, " +
      "though the gradient is finite); such a state cannot be continued from.",
  });

export const TelemetrySchema = z
  .object({
    gradientNorm: z
      .record(z.string(), z.array(OutputNumberSchema))
      .describe(
        "Per parameter, per epoch: the mean over batches of ‖∂L/∂W‖₂ (the batch's mean-loss gradient).",
      ),
    updateRatio: z
      .record(z.string(), z.array(OutputNumberSchema))
      .describe("Per parameter, per epoch: ‖W_end − W_start‖₂ / ‖W_start‖₂ (null when W_start = 0)."),
    activations: z
      .record(
        z.string(),
        z.object({
          activation: z.enum(["relu", "sigmoid", "tanh"]),
          deadFraction: z
            .array(z.number())
            .optional()
            .describe("relu: fraction of units (last axis) exactly 0 on every training sample of the epoch."),
          saturatedFraction: z
            .array(z.number())
            .optional()
            .describe(
              "sigmoid/tanh: fraction of (unit, sample) pairs within 1e-3 of an asymptote " +
                "(sigmoid < 1e-3 or > 1 − 1e-3; |tanh| > 1 − 1e-3).",
            ),
        }),
      )
      .describe("Per layer with a relu, sigmoid or tanh activation."),
    regularizationGradientNorm: z
      .record(z.string(), z.array(OutputNumberSchema))
      .optional()
      .describe(
        "Per parameter with a kernel or bias regularizer, per epoch: the mean over batches of the norm of " +
          "the penalty's own part of the gradient, ‖∂P/∂W‖₂ (compare with gradientNorm).",
      ),
    stateGradientNorm: z
      .record(z.string(), z.array(z.array(OutputNumberSchema)))
      .optional()
      .describe(
        "Gradient flow through time. Per recurrent layer (simpleRNN, lstm, gru; a bidirectional layer's two " +
          "copies as <name>/forward_<inner> and <name>/backward_<inner>, their weights' prefixes), per epoch, per timestep " +
          "t = 1 … T (entry t − 1, in processing order: input step T + 1 − t with goBackwards): the mean over " +
          "the epoch's training samples of ‖∂lᵢ/∂h_t‖₂, the norm of the gradient of sample i's own loss " +
          "(times its sample/class weight) with respect to the layer's state h_t, from the output and from " +
          "step t + 1 (docs/backprop.md §22.5). Falling towards t = 1: the gradient vanishes through time; " +
          "rising: it explodes. At most 1,000,000 numbers (epochs × timesteps); more is a 422 at telemetry.",
      ),
  })
  .meta({ id: "Telemetry", description: "Per-epoch gradient and activation statistics (telemetry: true)." });

type Assert<T extends true> = T;
export type _EarlyStoppingFits = Assert<
  z.output<typeof EarlyStoppingSchema> extends EarlyStoppingOptions ? true : false
>;
export type _OptimizerStateKeys = Assert<
  keyof z.output<typeof OptimizerStateSchema> extends keyof OptimizerState ? true : false
>;

/** Keras' `fit` weighting and `compile` metrics (docs/backprop.md §20). */
export const MetricNameSchema = z
  .enum(METRIC_NAMES)
  .describe(
    "accuracy, precision, recall, auc: classifiers (cross-entropies, hinges); meanAbsoluteError, " +
      "meanSquaredError, rootMeanSquaredError, r2: the other losses.",
  );

export const MetricsListSchema = z
  .array(MetricNameSchema)
  .max(METRIC_NAMES.length * 4)
  .describe(
    "Keras' compile(metrics=…): each becomes a history series per epoch (from the training batches; with a " +
      "validationSplit also `val…`, e.g. valPrecision, from the split at the end of the epoch) and a value in " +
      "`metrics` at the returned weights. Unweighted. Precision and recall: binary decisions (one sigmoid unit, " +
      "threshold 0.5) pooled over the elements of multi-label outputs; multi-class (argmax) one-vs-rest, " +
      "macro-averaged over the classes that occur. auc: the exact ROC AUC (every threshold, ties ½), not Keras' " +
      "200-bucket approximation; multi-class one-vs-rest, macro. r2: Keras 3 R2Score (uniform average).",
  );

export const SampleWeightSchema = cappedIssues(
  z
    .array(z.number().min(0))
    .max(LIMITS.maxSamples)
    .describe(
      "Keras' sample_weight: one weight ≥ 0 per sample of the data set (the validation split's included). " +
        "Each sample's loss is multiplied by it; the batch loss is Σ wᵢ·lᵢ / batchSize. valLoss uses the " +
        "validation samples' weights (Keras 3). All 1: exactly as without.",
    ),
);

export const ClassWeightSchema = z
  .record(
    z.string().regex(/^(0|[1-9][0-9]*)$/, 'keys are class indices written as decimal integers ("0", "1", …)'),
    z.number().min(0),
  )
  .describe(
    "Keras' class_weight for classifiers, { class index: weight ≥ 0 }: a training sample's loss is multiplied " +
      "by its class's weight (1 for a class left out), times its sampleWeight. The class is the label " +
      "(sparse), the target's argmax, or for one unit 1 when the target is > 0.5 (> 0 for the hinges). " +
      "Training only: valLoss ignores it.",
  );
