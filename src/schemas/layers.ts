/**
 * The zod schemas of the newer layer families (docs/backprop.md §13, §17–§19): advanced
 * activations, shape layers, normalisation and dropout, joined into `LayerSchema` by `model.ts`.
 * They validate into the engine's types of `src/engine/spec-layers.ts`.
 */
import { z } from "zod";
import { LIMITS } from "./limits.js";
import { InitializerSchema } from "./weight-options.js";

/** A layer's `name`, shared by every layer schema: the prefix of its weight keys (`<name>/kernel`). */
export const LayerNameSchema = z
  .string()
  .regex(/^[A-Za-z0-9_.-]+$/, "letters, digits, '_', '.' and '-' only (weights are keyed '<name>/kernel')")
  .max(LIMITS.maxNameLength)
  .describe("Layer name used in weight keys; `<type>_<index>` when omitted.");

export const LeakyReluLayerSchema = z
  .strictObject({
    type: z.literal("leakyReLU"),
    alpha: z.number().optional().describe("Slope for x < 0; default 0.3."),
    name: LayerNameSchema.optional(),
  })
  .meta({
    id: "LeakyReluLayer",
    description: "Leaky ReLU: x for x ≥ 0, alpha·x otherwise; shape unchanged.",
  });

export const PreluLayerSchema = z
  .strictObject({
    type: z.literal("prelu"),
    sharedAxes: z
      .union([z.number().int().min(1), z.array(z.number().int().min(1)).max(LIMITS.maxInputRank)], {
        error: "expected an axis (an integer ≥ 1) or a list of them",
      })
      .optional()
      .describe(
        "Axes sharing one slope, counting the batch axis as 0 (tfjs): [1, 2] for one slope per channel of [h, w, c]. Default none.",
      ),
    name: LayerNameSchema.optional(),
  })
  .meta({
    id: "PreluLayer",
    description:
      "Parametric ReLU: x for x > 0, alpha·x otherwise, with a trainable `<name>/alpha` shaped as the input " +
      "(1 along shared axes), initialised to zeros.",
  });

export const EluLayerSchema = z
  .strictObject({
    type: z.literal("elu"),
    alpha: z.number().optional().describe("Default 1."),
    name: LayerNameSchema.optional(),
  })
  .meta({ id: "EluLayer", description: "ELU: x for x > 0, alpha·(exp(x) − 1) otherwise; shape unchanged." });

export const SoftmaxLayerSchema = z
  .strictObject({
    type: z.literal("softmax"),
    axis: z
      .number()
      .int()
      .optional()
      .describe("Only the last axis: -1 (default) or the input's rank counting the batch axis."),
    name: LayerNameSchema.optional(),
  })
  .meta({ id: "SoftmaxLayer", description: "Softmax over the last axis; shape unchanged." });

const DataFormatSchema = z
  .enum(["channelsLast"])
  .describe("Only channelsLast (the default): images are [height, width, channels].");

export const GlobalAveragePooling2dLayerSchema = z
  .strictObject({
    type: z.literal("globalAveragePooling2d"),
    dataFormat: DataFormatSchema.optional(),
    name: LayerNameSchema.optional(),
  })
  .meta({
    id: "GlobalAveragePooling2dLayer",
    description: "The mean of each channel over all its cells: [height, width, channels] to [channels].",
  });

export const GlobalMaxPooling2dLayerSchema = z
  .strictObject({
    type: z.literal("globalMaxPooling2d"),
    dataFormat: DataFormatSchema.optional(),
    name: LayerNameSchema.optional(),
  })
  .meta({
    id: "GlobalMaxPooling2dLayer",
    description:
      "The maximum of each channel over all its cells: [height, width, channels] to [channels]; " +
      "the gradient goes to the first maximum on ties.",
  });

/** The largest per-sample size any input can have: a bound for `targetShape` entries. */
const MAX_TARGET_DIM = LIMITS.maxInputDim ** LIMITS.maxInputRank;

export const ReshapeLayerSchema = z
  .strictObject({
    type: z.literal("reshape"),
    targetShape: z
      .array(
        z
          .number()
          .int()
          .min(-1)
          .max(MAX_TARGET_DIM)
          .refine((d) => d !== 0, "expected -1 or a positive integer"),
      )
      .min(1)
      .max(LIMITS.maxInputRank)
      .describe(
        "The output shape per sample, no batch axis: positive integers, one of which may be -1 (what " +
          "makes the sizes match), e.g. [28, 28, 1] or [28, -1, 1] for a [784] input. Its size must " +
          "equal the input's (a 422 otherwise).",
      ),
    name: LayerNameSchema.optional(),
  })
  .meta({ id: "ReshapeLayer", description: "The same data in another shape (row-major)." });

const padCount = z.number().int().min(0).max(LIMITS.maxInputDim);

export const ZeroPadding2dLayerSchema = z
  .strictObject({
    type: z.literal("zeroPadding2d"),
    padding: z
      .union(
        [
          padCount,
          z.tuple([padCount, padCount]),
          z.tuple([z.tuple([padCount, padCount]), z.tuple([padCount, padCount])]),
        ],
        {
          error: `expected an integer in [0, ${LIMITS.maxInputDim}], [height, width] or [[top, bottom], [left, right]] of them`,
        },
      )
      .optional()
      .describe(
        "Zero rows and columns to add: n on every side, [height, width] (rows above and below, " +
          "columns left and right), or [[top, bottom], [left, right]]. Default 1.",
      ),
    dataFormat: DataFormatSchema.optional(),
    name: LayerNameSchema.optional(),
  })
  .meta({
    id: "ZeroPadding2dLayer",
    description:
      "Zeros around [height, width, channels]: [top + height + bottom, left + width + right, channels].",
  });

const normalizationFields = {
  epsilon: z
    .number()
    .positive()
    .optional()
    .describe("Added to the variance before its square root; > 0, default 1e-3."),
  center: z.boolean().optional().describe("Add the trainable offset `<name>/beta`. Default true."),
  scale: z.boolean().optional().describe("Multiply by the trainable scale `<name>/gamma`. Default true."),
};

export const BatchNormalizationLayerSchema = z
  .strictObject({
    type: z.literal("batchNormalization"),
    axis: z
      .number()
      .int()
      .optional()
      .describe(
        "The channel axis, counting the batch axis as 0 (Keras): -1 (default, the last) or 1 … rank; " +
          "statistics are taken over every other axis. 0 or an axis outside the input is a 422.",
      ),
    momentum: z
      .number()
      .min(0)
      .max(1)
      .optional()
      .describe(
        "In [0, 1]; default 0.99. moving ← momentum·moving + (1 − momentum)·batch, per training batch.",
      ),
    ...normalizationFields,
    gammaInitializer: InitializerSchema.optional().describe('Default "ones".'),
    betaInitializer: InitializerSchema.optional().describe('Default "zeros".'),
    movingMeanInitializer: InitializerSchema.optional().describe('Default "zeros".'),
    movingVarianceInitializer: InitializerSchema.optional().describe('Default "ones".'),
    name: LayerNameSchema.optional(),
  })
  .meta({
    id: "BatchNormalizationLayer",
    description:
      "Keras' batch normalisation: gamma·(x − mean)/√(variance + epsilon) + beta per channel, with the " +
      "batch's mean and (biased) variance while training (/train, jobs) and the moving ones otherwise " +
      "(/predict, validation, final metrics). Weights `<name>/gamma`, `<name>/beta` (trainable, [channels]), " +
      "`<name>/moving_mean`, `<name>/moving_variance` (not trainable; returned and loaded with the weights).",
  });

export const LayerNormalizationLayerSchema = z
  .strictObject({
    type: z.literal("layerNormalization"),
    axis: z
      .union([z.number().int(), z.array(z.number().int()).min(1).max(LIMITS.maxInputRank)], {
        error: "expected an axis (an integer) or a list of them",
      })
      .optional()
      .describe(
        "The axis or distinct axes to normalise each sample over, counting the batch axis as 0 (Keras): " +
          "-1 (default, the last) or 1 … rank. gamma and beta have the sizes of these axes, in the order listed.",
      ),
    ...normalizationFields,
    name: LayerNameSchema.optional(),
  })
  .meta({
    id: "LayerNormalizationLayer",
    description:
      "Keras' layer normalisation: each sample's values over `axis` become gamma·(x − mean)/√(variance + epsilon) + beta; " +
      "the same in training and inference.",
  });

export const DropoutLayerSchema = z
  .strictObject({
    type: z.literal("dropout"),
    rate: z
      .number()
      .min(0)
      .lt(1)
      .describe("Fraction of the units dropped in training, in [0, 1) (1 would drop everything)."),
    noiseShape: z
      .array(
        z.union(
          [
            z
              .number()
              .int()
              .min(-1)
              .max(LIMITS.maxInputDim)
              .refine((d) => d !== 0, "expected null, -1 or a positive integer"),
            z.null(),
          ],
          { error: "expected null, -1 or a positive integer" },
        ),
      )
      .min(1)
      .max(LIMITS.maxInputRank + 1)
      .optional()
      .describe(
        "The mask's shape, broadcast over the axes where it is 1: per sample ([1, 1, 8] for one draw per " +
          "channel of [h, w, 8]), or as Keras writes it with the batch axis first ([null, 1, 1, 8]; the " +
          "batch entry null or -1 for a mask per sample, 1 for one mask shared by the batch). null or -1 " +
          "stands for the input's extent; any other entry must be 1 or that extent (a 422 otherwise). " +
          "Default: the input's shape.",
      ),
    seed: z
      .number()
      .int()
      .min(0)
      .max(2 ** 32 - 1)
      .optional()
      .describe(
        "The layer's own seed (uint32) for its masks; default: derived from the request's seed and the " +
          "layer's index.",
      ),
    name: LayerNameSchema.optional(),
  })
  .meta({
    id: "DropoutLayer",
    description:
      "Inverted dropout (Keras): in training each unit is zeroed with probability rate and the others " +
      "scaled by 1/(1 − rate); in inference (/predict, validation, final metrics) the identity.",
  });
