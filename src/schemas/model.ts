import { z } from "zod";
import { ELEMENTWISE_NAMES, type LayerSpec, type ModelSpec } from "../engine/index.js";
import {
  BatchNormalizationLayerSchema,
  DropoutLayerSchema,
  EluLayerSchema,
  GlobalAveragePooling2dLayerSchema,
  GlobalMaxPooling2dLayerSchema,
  LayerNameSchema,
  LayerNormalizationLayerSchema,
  LeakyReluLayerSchema,
  PreluLayerSchema,
  ReshapeLayerSchema,
  SoftmaxLayerSchema,
  ZeroPadding2dLayerSchema,
} from "./layers.js";
import { GruLayerSchema, LstmLayerSchema, SimpleRnnLayerSchema } from "./layers-recurrent.js";
import {
  AveragePooling1dLayerSchema,
  CONV1D_META,
  conv1dFields,
  EmbeddingLayerSchema,
  GlobalAveragePooling1dLayerSchema,
  GlobalMaxPooling1dLayerSchema,
  MaxPooling1dLayerSchema,
} from "./layers-sequence.js";
import { wrapperLayerSchemas } from "./layers-wrappers.js";
import { LIMITS } from "./limits.js";
import { weightOptionFields } from "./weight-options.js";

export const ActivationSchema = z
  .enum(["linear", "sigmoid", "tanh", "relu", "softmax", ...ELEMENTWISE_NAMES])
  .meta({
    id: "Activation",
    description:
      "Activation function (tfjs-layers' names and definitions); `linear` (identity) when omitted. " +
      "`elu` has alpha 1, `hardSigmoid` is clip(0.2·x + 0.5, 0, 1), `gelu` the exact x·Φ(x).",
  });

/** Every loss the engine has, by its tfjs name. */
export const LOSS_NAMES = [
  "meanSquaredError",
  "categoricalCrossentropy",
  "sparseCategoricalCrossentropy",
  "binaryCrossentropy",
  "meanAbsoluteError",
  "meanAbsolutePercentageError",
  "meanSquaredLogarithmicError",
  "huber",
  "logcosh",
  "hinge",
  "squaredHinge",
  "categoricalHinge",
  "kullbackLeiblerDivergence",
  "poisson",
  "cosineProximity",
] as const;

/** The losses that take `fromLogits` and `labelSmoothing`. */
const CROSSENTROPY_NAMES = [
  "categoricalCrossentropy",
  "sparseCategoricalCrossentropy",
  "binaryCrossentropy",
] as const;

type OptionlessLossName = Exclude<(typeof LOSS_NAMES)[number], (typeof CROSSENTROPY_NAMES)[number] | "huber">;

/** The losses without options (neither a cross-entropy nor huber), in `LOSS_NAMES`' order. */
const OPTIONLESS_LOSS_NAMES = LOSS_NAMES.filter(
  (n): n is OptionlessLossName => n !== "huber" && !(CROSSENTROPY_NAMES as readonly string[]).includes(n),
);

const crossentropyOptions = {
  fromLogits: z
    .boolean()
    .optional()
    .describe("The model output is logits; the loss applies the softmax (sigmoid) itself. Default false."),
  labelSmoothing: z
    .number()
    .min(0)
    .max(1)
    .optional()
    .describe("Targets become t(1 − s) + s/k (s/2 for binary), as Keras. In [0, 1]; default 0."),
};

const LossObjectSchema = z.discriminatedUnion("type", [
  z.strictObject({
    type: z.enum(CROSSENTROPY_NAMES),
    ...crossentropyOptions,
  }),
  z.strictObject({
    type: z.literal("huber"),
    delta: z
      .number()
      .positive()
      .max(Number.MAX_VALUE)
      .optional()
      .describe("Where the loss turns from quadratic to linear in |y − t|; > 0, default 1."),
  }),
  z.strictObject({ type: z.enum(OPTIONLESS_LOSS_NAMES) }),
]);

export const LossSchema = z.union([z.enum(LOSS_NAMES), LossObjectSchema]).meta({
  id: "Loss",
  description:
    'Loss (Keras names), by name (`"huber"`) or as an object with its options (`{ "type": "huber", "delta": 2 }`). ' +
    "`sparseCategoricalCrossentropy` takes integer class labels, `categoricalCrossentropy` one-hot or " +
    "probability vectors; the cross-entropies take `fromLogits` and `labelSmoothing`, huber `delta`.",
});

const PaddingSchema = z.enum(["valid", "same"]).describe('Padding; "valid" when omitted.');

const positiveInt = (max: number) => z.number().int().min(1).max(max);

/** An integer or a [height, width] pair. */
const Size2dSchema = z.union(
  [
    positiveInt(LIMITS.maxKernelSize),
    z.tuple([positiveInt(LIMITS.maxKernelSize), positiveInt(LIMITS.maxKernelSize)]),
  ],
  { error: `expected an integer in [1, ${LIMITS.maxKernelSize}] or a [height, width] pair of them` },
);

export const DenseLayerSchema = z
  .strictObject({
    type: z.literal("dense"),
    units: positiveInt(LIMITS.maxUnits).describe("Output size."),
    activation: ActivationSchema.optional(),
    useBias: z.boolean().optional().describe("Default true."),
    name: LayerNameSchema.optional(),
    ...weightOptionFields,
  })
  .meta({
    id: "DenseLayer",
    description:
      "Affine layer Y = X·W + b, input [in], output [units]; on an input of more than one axis " +
      "([timesteps, features], an image) it applies to the last axis, as Keras: [..., in] → [..., units].",
  });

export const ActivationLayerSchema = z
  .strictObject({
    type: z.literal("activation"),
    activation: ActivationSchema,
    name: LayerNameSchema.optional(),
  })
  .meta({ id: "ActivationLayer", description: "A stand-alone activation; shape unchanged." });

export const Conv2dLayerSchema = z
  .strictObject({
    type: z.literal("conv2d"),
    filters: positiveInt(LIMITS.maxFilters),
    kernelSize: Size2dSchema,
    strides: Size2dSchema.optional().describe("Default 1."),
    padding: PaddingSchema.optional(),
    activation: ActivationSchema.optional(),
    useBias: z.boolean().optional().describe("Default true."),
    name: LayerNameSchema.optional(),
    ...weightOptionFields,
  })
  .meta({
    id: "Conv2dLayer",
    description: "2-D convolution over [height, width, channels]; kernel [kH, kW, inChannels, filters].",
  });

const poolingFields = {
  poolSize: Size2dSchema,
  strides: Size2dSchema.optional().describe("Default poolSize."),
  padding: PaddingSchema.optional(),
  name: LayerNameSchema.optional(),
};

export const MaxPooling2dLayerSchema = z
  .strictObject({ type: z.literal("maxPooling2d"), ...poolingFields })
  .meta({ id: "MaxPooling2dLayer", description: "Max pooling over [height, width, channels]." });

export const AveragePooling2dLayerSchema = z
  .strictObject({ type: z.literal("averagePooling2d"), ...poolingFields })
  .meta({ id: "AveragePooling2dLayer", description: "Average pooling over [height, width, channels]." });

export const FlattenLayerSchema = z
  .strictObject({ type: z.literal("flatten"), name: LayerNameSchema.optional() })
  .meta({ id: "FlattenLayer", description: "Reshapes [h, w, c] to [h·w·c]." });

export const Conv1dLayerSchema = z
  .strictObject({ ...conv1dFields, activation: ActivationSchema.optional() })
  .meta(CONV1D_META);

export const { BidirectionalLayerSchema, TimeDistributedLayerSchema } = wrapperLayerSchemas(DenseLayerSchema);

export const LayerSchema = z
  .discriminatedUnion("type", [
    DenseLayerSchema,
    ActivationLayerSchema,
    Conv2dLayerSchema,
    MaxPooling2dLayerSchema,
    AveragePooling2dLayerSchema,
    FlattenLayerSchema,
    LeakyReluLayerSchema,
    PreluLayerSchema,
    EluLayerSchema,
    SoftmaxLayerSchema,
    GlobalAveragePooling2dLayerSchema,
    GlobalMaxPooling2dLayerSchema,
    ReshapeLayerSchema,
    ZeroPadding2dLayerSchema,
    BatchNormalizationLayerSchema,
    LayerNormalizationLayerSchema,
    DropoutLayerSchema,
    SimpleRnnLayerSchema,
    LstmLayerSchema,
    GruLayerSchema,
    EmbeddingLayerSchema,
    Conv1dLayerSchema,
    MaxPooling1dLayerSchema,
    AveragePooling1dLayerSchema,
    GlobalAveragePooling1dLayerSchema,
    GlobalMaxPooling1dLayerSchema,
    BidirectionalLayerSchema,
    TimeDistributedLayerSchema,
  ])
  .meta({ id: "Layer", description: "One layer, chosen by `type`." });

export const ModelSpecSchema = z
  .strictObject({
    inputShape: z
      .array(positiveInt(LIMITS.maxInputDim))
      .min(1)
      .max(LIMITS.maxInputRank)
      .describe(
        "Shape of one sample, no batch axis: [features], [steps, channels], [height, width, channels], " +
          "or [timesteps] of token ids for a model starting with an embedding.",
      ),
    layers: z.array(LayerSchema).min(1).max(LIMITS.maxLayers),
    loss: LossSchema,
  })
  .meta({
    id: "ModelSpec",
    description: "A sequential model: input shape per sample, layers in order, loss.",
  });

// The schemas must produce exactly the engine's spec types (a compile-time check).
type Assert<T extends true> = T;
export type _LayerFits = Assert<z.output<typeof LayerSchema> extends LayerSpec ? true : false>;
export type _ModelFits = Assert<z.output<typeof ModelSpecSchema> extends ModelSpec ? true : false>;
