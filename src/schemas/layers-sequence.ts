/**
 * The zod schemas of the sequence layers (docs/backprop.md §21): embedding, conv1d and the 1-D
 * poolings, joined into `LayerSchema` by `model.ts`. They validate into the engine's types of
 * `src/engine/spec-sequence.ts`.
 */
import { z } from "zod";
import { LayerNameSchema } from "./layers.js";
import { LIMITS } from "./limits.js";
import { InitializerSchema, weightOptionFields } from "./weight-options.js";

/**
 * The largest vocabulary: 2²⁴, below which every integer id is exact in float32 (the ids travel
 * in the run's dtype). The parameter cap (MAX_PARAMS) bounds `inputDim · outputDim` as well.
 */
export const MAX_VOCABULARY = 2 ** 24;

const positiveInt = (max: number) => z.number().int().min(1).max(max);

/** An integer, or a list of one as Keras writes 1-D sizes (`[3]`). */
const size1d = (max: number) =>
  z.union([positiveInt(max), z.tuple([positiveInt(max)])], {
    error: `expected an integer in [1, ${max}] or a list of one`,
  });

export const EmbeddingLayerSchema = z
  .strictObject({
    type: z.literal("embedding"),
    inputDim: positiveInt(MAX_VOCABULARY).describe("Vocabulary size: ids are integers in [0, inputDim)."),
    outputDim: positiveInt(LIMITS.maxUnits).describe("Length of each embedding vector."),
    maskZero: z
      .boolean()
      .optional()
      .describe(
        "Id 0 is padding: the layer masks those steps for the layers after it (globalAveragePooling1d " +
          "then averages over the real steps only). Default false.",
      ),
    embeddingsInitializer: InitializerSchema.optional().describe(
      'Default {"type": "randomUniform", "minval": -0.05, "maxval": 0.05} (tfjs).',
    ),
    inputLength: positiveInt(LIMITS.maxInputDim)
      .optional()
      .describe("Keras' input_length: when given, must equal inputShape[0]."),
    name: LayerNameSchema.optional(),
  })
  .meta({
    id: "EmbeddingLayer",
    description:
      "Token ids [timesteps] (integers in [0, inputDim); any other value in the data is a 422 naming it) to " +
      "their rows of `<name>/embeddings` [inputDim, outputDim]: output [timesteps, outputDim]. Only as the " +
      "first layer (ids have no gradient; /gradients returns none for them).",
  });

/** conv1d's fields but `activation`, which `model.ts` adds (it owns `ActivationSchema`). */
export const conv1dFields = {
  type: z.literal("conv1d"),
  filters: positiveInt(LIMITS.maxFilters),
  kernelSize: size1d(LIMITS.maxKernelSize),
  strides: size1d(LIMITS.maxInputDim).optional().describe("Default 1."),
  padding: z
    .enum(["valid", "same", "causal"])
    .optional()
    .describe(
      '"valid" (default), "same", or "causal": dilationRate·(kernelSize − 1) zeros before the first step only.',
    ),
  dilationRate: size1d(LIMITS.maxInputDim)
    .optional()
    .describe("Spacing of the kernel's taps; default 1. Above 1 only with strides 1 (Keras)."),
  useBias: z.boolean().optional().describe("Default true."),
  name: LayerNameSchema.optional(),
  ...weightOptionFields,
};

/** conv1d's `meta`. */
export const CONV1D_META = {
  id: "Conv1dLayer",
  description:
    "1-D convolution over [steps, channels]; kernel `<name>/kernel` [kernelSize, inChannels, filters], " +
    "bias `<name>/bias` [filters].",
};

const pooling1dFields = {
  poolSize: size1d(LIMITS.maxKernelSize).optional().describe("Default 2."),
  strides: size1d(LIMITS.maxInputDim).optional().describe("Default poolSize."),
  padding: z.enum(["valid", "same"]).optional().describe('Padding; "valid" when omitted.'),
  name: LayerNameSchema.optional(),
};

export const MaxPooling1dLayerSchema = z
  .strictObject({ type: z.literal("maxPooling1d"), ...pooling1dFields })
  .meta({ id: "MaxPooling1dLayer", description: "Max pooling over [steps, channels]." });

export const AveragePooling1dLayerSchema = z
  .strictObject({ type: z.literal("averagePooling1d"), ...pooling1dFields })
  .meta({
    id: "AveragePooling1dLayer",
    description: "Average pooling over [steps, channels] (a padded window averages its real steps).",
  });

const DataFormatSchema = z
  .enum(["channelsLast"])
  .describe("Only channelsLast (the default): sequences are [steps, channels].");

export const GlobalAveragePooling1dLayerSchema = z
  .strictObject({
    type: z.literal("globalAveragePooling1d"),
    dataFormat: DataFormatSchema.optional(),
    name: LayerNameSchema.optional(),
  })
  .meta({
    id: "GlobalAveragePooling1dLayer",
    description:
      "The mean of each channel over the steps: [steps, channels] to [channels]. After an embedding with " +
      "maskZero, over the real (non-zero-id) steps only, as Keras; a sample with none gives 0.",
  });

export const GlobalMaxPooling1dLayerSchema = z
  .strictObject({
    type: z.literal("globalMaxPooling1d"),
    dataFormat: DataFormatSchema.optional(),
    name: LayerNameSchema.optional(),
  })
  .meta({
    id: "GlobalMaxPooling1dLayer",
    description:
      "The maximum of each channel over the steps: [steps, channels] to [channels]; the gradient goes to " +
      "the first maximum on ties. A mask is dropped (masked steps count), as Keras.",
  });
