/**
 * The zod schemas of the recurrent layers (docs/backprop.md §22): `simpleRNN`, `lstm` and `gru`,
 * joined into `LayerSchema` by `model.ts`. They validate into the engine's types of
 * `src/engine/spec-recurrent.ts`; tfjs-layers' names and defaults.
 */
import { z } from "zod";
import { ELEMENTWISE_NAMES } from "../engine/index.js";
import { LayerNameSchema } from "./layers.js";
import { LIMITS } from "./limits.js";
import { InitializerSchema } from "./weight-options.js";

const CellActivationSchema = z
  .enum(["linear", "sigmoid", "tanh", "relu", ...ELEMENTWISE_NAMES])
  .describe("An element-wise activation (tfjs-layers' names; softmax is not element-wise).");

const rate = (what: string) =>
  z
    .number()
    .min(0)
    .lt(1)
    .optional()
    .describe(
      `Fraction of ${what} dropped in training, in [0, 1); default 0 (tfjs-layers' semantics, docs/backprop.md §22.7): ` +
        "one mask per sequence, the same at every step and for every gate, kept units scaled by 1/(1 − rate); " +
        "none in inference. The masks come from the request's seed and the layer's index, and optimizerState " +
        "carries their stream in dropoutRng under the layer's name.",
    );

const recurrentFields = {
  units: z.number().int().min(1).max(LIMITS.maxUnits).describe("Size of the state h (and of each gate)."),
  activation: CellActivationSchema.optional().describe(
    'φ, of the candidate (and lstm\'s cell state); default "tanh".',
  ),
  useBias: z.boolean().optional().describe("Default true."),
  returnSequences: z
    .boolean()
    .optional()
    .describe(
      "Output every step's state, [timesteps, units], instead of the last one, [units]. Default false.",
    ),
  returnState: z
    .literal(false)
    .optional()
    .describe(
      "Only false (the default): a sequential model has one output; the final state is the output unless returnSequences is set.",
    ),
  goBackwards: z
    .boolean()
    .optional()
    .describe(
      "Read the sequence from its last step to its first; outputs come in that order (Keras). Default false.",
    ),
  kernelInitializer: InitializerSchema.optional().describe('Default "glorotNormal" (tfjs-layers).'),
  recurrentInitializer: InitializerSchema.optional().describe('Default "orthogonal".'),
  biasInitializer: InitializerSchema.optional().describe('Default "zeros".'),
  dropout: rate("the input features x_t"),
  recurrentDropout: rate(
    "the state's units h_{t−1} where the cell reads them (the recurrent products; gru's update too)",
  ),
  name: LayerNameSchema.optional(),
};

const recurrentActivation = CellActivationSchema.optional().describe(
  'σ of the gates; default "hardSigmoid" (tfjs-layers; Keras 2.3+ defaults to "sigmoid").',
);

export const SimpleRnnLayerSchema = z
  .strictObject({ type: z.literal("simpleRNN"), ...recurrentFields })
  .meta({
    id: "SimpleRnnLayer",
    description:
      "Elman recurrence h_t = φ(x_t·W + h_{t−1}·U + b) over [timesteps, features], trained by back-propagation " +
      "through time. Weights `<name>/kernel` [features, units], `<name>/recurrent_kernel` [units, units], `<name>/bias` [units].",
  });

export const LstmLayerSchema = z
  .strictObject({
    type: z.literal("lstm"),
    ...recurrentFields,
    recurrentActivation,
    unitForgetBias: z
      .boolean()
      .optional()
      .describe("Start the forget gate's bias at 1. Default false (tfjs-layers; Keras' default is true)."),
  })
  .meta({
    id: "LstmLayer",
    description:
      "Long short-term memory over [timesteps, features]: gates i, f, c, o in Keras' order. Weights `<name>/kernel` " +
      "[features, 4·units], `<name>/recurrent_kernel` [units, 4·units], `<name>/bias` [4·units].",
  });

export const GruLayerSchema = z
  .strictObject({
    type: z.literal("gru"),
    ...recurrentFields,
    recurrentActivation,
    resetAfter: z
      .boolean()
      .optional()
      .describe(
        "Apply the reset gate after the recurrent product (Keras 2.3+'s default; bias [2, 3·units]). " +
          "Default false (tfjs-layers, which supports only false: such a model does not export to TensorFlow.js).",
      ),
  })
  .meta({
    id: "GruLayer",
    description:
      "Gated recurrent unit over [timesteps, features]: gates z, r, h in Keras' order. Weights `<name>/kernel` " +
      "[features, 3·units], `<name>/recurrent_kernel` [units, 3·units], `<name>/bias` [3·units] ([2, 3·units] with resetAfter).",
  });
