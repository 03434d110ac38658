import { z } from "zod";
import type { OptimizerSpec } from "../engine/index.js";

// Deliberately generous: a learning rate of 1e6 is a valid (if diverging) request and gets the
// NaN-forensics answer rather than a 400. 0 is valid too, as in Keras and tfjs: the weights stay
// as they are and the gradients are still reported.
const RateSchema = z.number().min(0).max(1e9);
const StepsSchema = z.number().positive().max(1e12);

export const ExponentialDecaySchema = z
  .strictObject({
    type: z.literal("exponentialDecay"),
    initialLearningRate: RateSchema,
    decaySteps: StepsSchema.describe("Optimiser steps per factor of decayRate."),
    decayRate: z.number().positive().max(10),
    staircase: z.boolean().optional().describe("Floor the exponent: a step decay. Default false."),
  })
  .meta({
    id: "ExponentialDecay",
    description:
      "Keras ExponentialDecay: initialLearningRate · decayRate^(step / decaySteps), per optimiser step.",
  });

export const PiecewiseConstantDecaySchema = z
  .strictObject({
    type: z.literal("piecewiseConstantDecay"),
    boundaries: z.array(z.number().min(0)).min(1).max(1000).describe("Strictly increasing step counts."),
    values: z.array(z.number().min(0).max(1e9)).min(2).max(1001).describe("One more than boundaries."),
  })
  .meta({
    id: "PiecewiseConstantDecay",
    description: "Keras PiecewiseConstantDecay: values[i] while boundaries[i−1] < step ≤ boundaries[i].",
  });

export const CosineDecaySchema = z
  .strictObject({
    type: z.literal("cosineDecay"),
    initialLearningRate: RateSchema,
    decaySteps: StepsSchema,
    alpha: z
      .number()
      .min(0)
      .max(1)
      .optional()
      .describe("Final rate as a fraction of the initial one. Default 0."),
    warmupTarget: RateSchema.optional().describe(
      "Rate reached after a linear warm-up; no warm-up when absent.",
    ),
    warmupSteps: z.number().min(0).max(1e12).optional(),
  })
  .meta({
    id: "CosineDecay",
    description: "Keras CosineDecay (Loshchilov & Hutter 2017), optionally after a linear warm-up.",
  });

const LearningRateSchema = z
  .union(
    [
      RateSchema,
      z.discriminatedUnion("type", [ExponentialDecaySchema, PiecewiseConstantDecaySchema, CosineDecaySchema]),
    ],
    { error: "expected a finite number ≥ 0 or a schedule object {type, ...}" },
  )
  .describe("Step size: a number, or a schedule evaluated at every optimiser step (Keras' names).");

const ClipFields = {
  clipnorm: z
    .number()
    .positive()
    .max(1e300)
    .optional()
    .describe("Rescale each parameter's gradient to an L2 norm of at most this (Keras). One clip at most."),
  clipvalue: z
    .number()
    .positive()
    .max(1e300)
    .optional()
    .describe("Clip every gradient element to [−clipvalue, clipvalue] (Keras). One clip at most."),
  globalClipnorm: z
    .number()
    .positive()
    .max(1e300)
    .optional()
    .describe("Rescale all gradients together to an L2 norm of at most this (Keras). One clip at most."),
};

const CLIPS = ["clipnorm", "clipvalue", "globalClipnorm"] as const;

/** Keras 3 refuses more than one of the clippings: a 400 naming the second one set. */
function atMostOneClip(ctx: z.core.ParsePayload<unknown>): void {
  const value = ctx.value as Partial<Record<(typeof CLIPS)[number], number>>;
  const set = CLIPS.filter((k) => value[k] !== undefined);
  if (set.length > 1)
    ctx.issues.push({
      code: "custom",
      input: ctx.value,
      path: [set[1]!],
      message: `only one of clipnorm, clipvalue and globalClipnorm can be set (as in Keras), got ${set.join(" and ")}`,
    });
}

const UnitSchema = z.number().min(0).lt(1);
const EpsilonSchema = z.number().positive().max(1);

/** The moment fields of the Adam family (Adam, AdamW, Adamax, Nadam), with Keras' defaults. */
const AdamFields = {
  beta1: UnitSchema.optional().describe("Default 0.9."),
  beta2: UnitSchema.optional().describe("Default 0.999."),
  epsilon: EpsilonSchema.optional().describe("Default 1e-7."),
};

/**
 * A gradient optimiser's schema: `type`, `learningRate` (required unless `fields` redefines it;
 * it keeps its place second), the optimiser's own `fields`, then the clippings, at most one of them.
 */
function gradientOptimizer<const T extends string, F extends z.core.$ZodLooseShape>(
  type: T,
  fields: F,
  meta: { id: string; description: string },
) {
  // A `learningRate` in `fields` replaces the required one (adadelta's is optional); the cast says so
  // to the type checker, which would otherwise intersect the two.
  const shape = { type: z.literal(type), learningRate: LearningRateSchema, ...fields, ...ClipFields } as {
    type: z.ZodLiteral<T>;
  } & Omit<{ learningRate: typeof LearningRateSchema }, keyof F> &
    F &
    typeof ClipFields;
  return z.strictObject(shape).check(atMostOneClip).meta(meta);
}

export const SgdSchema = gradientOptimizer(
  "sgd",
  {
    momentum: z.number().min(0).lt(1).optional().describe("Momentum in [0, 1); 0 when omitted."),
    nesterov: z.boolean().optional().describe("Nesterov momentum. Default false."),
  },
  { id: "SgdOptimizer", description: "Stochastic gradient descent, optionally with momentum (tfjs rule)." },
);

export const AdamSchema = gradientOptimizer("adam", AdamFields, {
  id: "AdamOptimizer",
  description: "Adam (Kingma & Ba 2015) with bias correction.",
});

export const RmspropSchema = gradientOptimizer(
  "rmsprop",
  {
    rho: UnitSchema.optional().describe("Decay of the mean square. Default 0.9."),
    momentum: UnitSchema.optional().describe("Default 0."),
    epsilon: EpsilonSchema.optional().describe("Default 1e-7."),
    centered: z.boolean().optional().describe("Divide by the variance estimate ms − mg². Default false."),
  },
  {
    id: "RmspropOptimizer",
    description: "RMSprop (tfjs/Keras rule), optionally centered and with momentum.",
  },
);

export const AdagradSchema = gradientOptimizer(
  "adagrad",
  {
    initialAccumulatorValue: z.number().min(0).max(1e300).optional().describe("Default 0.1."),
    epsilon: EpsilonSchema.optional().describe("Default 1e-7."),
  },
  { id: "AdagradOptimizer", description: "Adagrad (Duchi et al. 2011; tfjs/Keras rule)." },
);

export const AdadeltaSchema = gradientOptimizer(
  "adadelta",
  {
    learningRate: LearningRateSchema.optional().describe("Default 0.001 (Keras 3, tfjs)."),
    rho: UnitSchema.optional().describe("Default 0.95."),
    epsilon: EpsilonSchema.optional().describe("Default 1e-7."),
  },
  { id: "AdadeltaOptimizer", description: "Adadelta (Zeiler 2012), as Keras computes it." },
);

export const AdamaxSchema = gradientOptimizer("adamax", AdamFields, {
  id: "AdamaxOptimizer",
  description: "Adamax: Adam with the infinity norm (Kingma & Ba 2015).",
});

export const NadamSchema = gradientOptimizer("nadam", AdamFields, {
  id: "NadamOptimizer",
  description: "Nadam: Adam with Nesterov momentum (Dozat 2016), Keras' form.",
});

export const AdamwSchema = gradientOptimizer(
  "adamw",
  {
    ...AdamFields,
    weightDecay: z
      .number()
      .min(0)
      .max(1e6)
      .optional()
      .describe("Decoupled decay w ← w − w·weightDecay·η. Default 0.004."),
  },
  { id: "AdamwOptimizer", description: "AdamW: Adam with Keras 3's decoupled weight decay." },
);

export const NormalEquationSchema = z.strictObject({ type: z.literal("normalEquation") }).meta({
  id: "NormalEquationOptimizer",
  description:
    "The closed-form least-squares solution in one step instead of iterations (QR, or SVD for the " +
    "minimum-norm solution of rank-deficient data). Linear regression only: one dense layer, linear " +
    "activation, meanSquaredError. `epochs`, `batchSize`, `shuffle` and `seed` play no part.",
});

export const OptimizerSchema = z
  .discriminatedUnion("type", [
    SgdSchema,
    AdamSchema,
    NormalEquationSchema,
    RmspropSchema,
    AdagradSchema,
    AdadeltaSchema,
    AdamaxSchema,
    NadamSchema,
    AdamwSchema,
  ])
  .meta({ id: "Optimizer", description: "The optimiser, chosen by `type`." });

type Assert<T extends true> = T;
export type _OptimizerFits = Assert<z.output<typeof OptimizerSchema> extends OptimizerSpec ? true : false>;
