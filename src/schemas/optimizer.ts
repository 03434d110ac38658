import { z } from "zod";
import type { OptimizerSpec } from "../engine/index.js";

const LearningRateSchema = z.number().positive().max(10).describe("Step size.");

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
