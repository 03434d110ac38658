import { z } from "zod";

/** A finite number (JSON has no infinities; zod's `number` refuses them). */
const num = () => z.number();

const SCALED_NAMES = [
  "glorotUniform",
  "glorotNormal",
  "heNormal",
  "heUniform",
  "leCunNormal",
  "leCunUniform",
  "zeros",
  "ones",
] as const;

export const InitializerSchema = z
  .union([
    z.enum([
      ...SCALED_NAMES,
      "randomNormal",
      "randomUniform",
      "truncatedNormal",
      "orthogonal",
      "varianceScaling",
    ]),
    z.discriminatedUnion("type", [
      z.strictObject({ type: z.enum(SCALED_NAMES) }),
      z.strictObject({ type: z.literal("constant"), value: num() }),
      z.strictObject({
        type: z.literal("randomNormal"),
        mean: num().optional().describe("Default 0."),
        stddev: num().min(0).optional().describe("Default 0.05."),
      }),
      z
        .strictObject({
          type: z.literal("randomUniform"),
          minval: num().optional().describe("Default -0.05."),
          maxval: num().optional().describe("Default 0.05."),
        })
        .refine((o) => (o.maxval ?? 0.05) >= (o.minval ?? -0.05), {
          message: "maxval must be at least minval",
          path: ["maxval"],
        }),
      z.strictObject({
        type: z.literal("truncatedNormal"),
        mean: num().optional().describe("Default 0."),
        stddev: num().min(0).optional().describe("Default 0.05; draws beyond 2 stddev are redrawn."),
      }),
      z.strictObject({ type: z.literal("orthogonal"), gain: num().optional().describe("Default 1.") }),
      z.strictObject({
        type: z.literal("varianceScaling"),
        scale: num().min(0).optional().describe("Default 1."),
        mode: z.enum(["fanIn", "fanOut", "fanAvg"]).optional().describe('Default "fanIn".'),
        distribution: z
          .enum(["normal", "uniform", "truncatedNormal"])
          .optional()
          .describe('Default "normal" (tfjs: a normal truncated at 2σ, σ² = scale / fan).'),
      }),
    ]),
  ])
  .meta({
    id: "Initializer",
    description:
      "How a weight starts (tfjs-layers names): a name such as `heNormal`, or `{type, ...arguments}`. " +
      "Every random one draws from the request's seed.",
  });

export const RegularizerSchema = z
  .union([
    z.enum(["l1", "l2", "l1l2"]),
    z.strictObject({
      l1: num().min(0).optional().describe("Default 0."),
      l2: num().min(0).optional().describe("Default 0."),
    }),
  ])
  .meta({
    id: "Regularizer",
    description:
      "Keras' L1L2: the penalty l1·Σ|x| + l2·Σx² is added to the loss. By name as Keras and tfjs: " +
      '`"l1"` = {l1: 0.01}, `"l2"` = {l2: 0.01}, `"l1l2"` = {l1: 0.01, l2: 0.01}.',
  });

const AxisSchema = z
  .union([z.number().int(), z.array(z.number().int()).min(1).max(8)], {
    error: "expected an axis (an integer) or a list of them",
  })
  .describe("Axis or axes the norm is taken over; default 0 (a dense kernel's inputs, per unit).");

export const ConstraintSchema = z
  .union([
    z.enum(["maxNorm", "nonNeg", "unitNorm"]),
    z.discriminatedUnion("type", [
      z.strictObject({
        type: z.literal("maxNorm"),
        maxValue: num().min(0).optional().describe("Default 2."),
        axis: AxisSchema.optional(),
      }),
      z.strictObject({ type: z.literal("nonNeg") }),
      z.strictObject({ type: z.literal("unitNorm"), axis: AxisSchema.optional() }),
    ]),
  ])
  .meta({
    id: "Constraint",
    description: "Applied to the kernel after every optimiser step (tfjs-layers' maxNorm, nonNeg, unitNorm).",
  });

/** The initialiser, regulariser and constraint fields dense and conv2d layers share. */
export const weightOptionFields = {
  kernelInitializer: InitializerSchema.optional().describe('Default "glorotUniform".'),
  biasInitializer: InitializerSchema.optional().describe('Default "zeros".'),
  kernelRegularizer: RegularizerSchema.optional(),
  biasRegularizer: RegularizerSchema.optional(),
  activityRegularizer: RegularizerSchema.optional().describe(
    "Penalty on the layer's output (after its activation), averaged over the batch.",
  ),
  kernelConstraint: ConstraintSchema.optional(),
};
