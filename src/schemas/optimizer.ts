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
  .union([
    RateSchema,
    z.discriminatedUnion("type", [ExponentialDecaySchema, PiecewiseConstantDecaySchema, CosineDecaySchema]),
  ])
  .describe("Step size: a number, or a schedule evaluated at every optimiser step (Keras' names).");

export const SgdSchema = z
  .strictObject({
    type: z.literal("sgd"),
    learningRate: LearningRateSchema,
    momentum: z.number().min(0).lt(1).optional().describe("Momentum in [0, 1); 0 when omitted."),
  })
  .meta({
    id: "SgdOptimizer",
    description: "Stochastic gradient descent, optionally with momentum (tfjs rule).",
  });

export const AdamSchema = z
  .strictObject({
    type: z.literal("adam"),
    learningRate: LearningRateSchema,
    beta1: z.number().min(0).lt(1).optional().describe("Default 0.9."),
    beta2: z.number().min(0).lt(1).optional().describe("Default 0.999."),
    epsilon: z.number().positive().max(1).optional().describe("Default 1e-7."),
  })
  .meta({ id: "AdamOptimizer", description: "Adam (Kingma & Ba 2015) with bias correction." });

export const NormalEquationSchema = z.strictObject({ type: z.literal("normalEquation") }).meta({
  id: "NormalEquationOptimizer",
  description:
    "The closed-form least-squares solution in one step instead of iterations (QR, or SVD for the " +
    "minimum-norm solution of rank-deficient data). Linear regression only: one dense layer, linear " +
    "activation, meanSquaredError. `epochs`, `batchSize`, `shuffle` and `seed` play no part.",
});

export const OptimizerSchema = z
  .discriminatedUnion("type", [SgdSchema, AdamSchema, NormalEquationSchema])
  .meta({ id: "Optimizer", description: "The optimiser, chosen by `type`." });

type Assert<T extends true> = T;
export type _OptimizerFits = Assert<z.output<typeof OptimizerSchema> extends OptimizerSpec ? true : false>;
