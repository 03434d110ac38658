import { z } from "zod";
import { METRIC_NAMES, valKey } from "../engine/index.js";
import { SeedSchema } from "./common.js";
import { ProblemSchema } from "./problem.js";
import { TrainRequestSchema } from "./requests.js";
import { ListQuerySchema } from "./stored-datasets.js";
import { tuningExample } from "./tuning-examples.js";

/** Trials a tuning job runs at most, and at once. */
export const MAX_TRIALS = 200;
export const MAX_PARALLEL_TRIALS = 16;
/** Parameters a search space varies at most, and values a `choice` lists at most. */
export const MAX_SEARCH_PARAMS = 16;
export const MAX_CHOICES = 100;

/** What a tuning job can optimise: a value every epoch's progress event carries. */
export const OBJECTIVE_METRICS = ["loss", "valLoss", ...METRIC_NAMES.flatMap((m) => [m, valKey(m)])] as const;

const finite = z.number().refine(Number.isFinite, "expected a finite number");

/** A value a `choice` offers: what a body's field can hold. */
export const ChoiceValueSchema = z.union([z.number(), z.string(), z.boolean()]);

export const RangeSchema = z
  .discriminatedUnion("type", [
    z.strictObject({
      type: z.literal("choice"),
      values: z
        .array(ChoiceValueSchema)
        .min(1)
        .max(MAX_CHOICES)
        .describe("The values to try, in this order for a grid."),
    }),
    z.strictObject({
      type: z.literal("uniform"),
      min: finite,
      max: finite.describe("Greater than min."),
    }),
    z.strictObject({
      type: z.literal("logUniform"),
      min: finite.describe("Greater than 0."),
      max: finite.describe("Greater than min."),
    }),
    z.strictObject({
      type: z.literal("int"),
      min: z.number().int(),
      max: z.number().int().describe("At least min."),
      step: z.number().int().min(1).optional().describe("Default 1: min, min + step, … up to max."),
    }),
  ])
  .describe(
    "choice: one of `values`; uniform: a real in [min, max]; logUniform: a real whose logarithm is uniform " +
      "in [ln min, ln max] (learning rates); int: min, min + step, … ≤ max.",
  )
  .meta({ id: "SearchRange" });

export const TuningRequestSchema = z
  .strictObject({
    base: TrainRequestSchema.describe(
      "A POST /train body: every trial trains it with the search space's values put in, and its own seed.",
    ),
    searchSpace: z
      .record(z.string(), RangeSchema)
      .describe(
        'Paths into `base` (`"optimizer.learningRate"`, `"model.layers[0].units"`) and the range each takes. ' +
          `1 … ${MAX_SEARCH_PARAMS} of them; \`seed\` is not one (each trial's is derived from the tuning seed).`,
      ),
    objective: z.strictObject({
      metric: z
        .enum(OBJECTIVE_METRICS)
        .describe(
          "An epoch's value to optimise: val… ones need base.validationSplit, accuracy a classifier's loss " +
            "(cross-entropies, hinges), extra metrics base.metrics.",
        ),
      goal: z.enum(["minimize", "maximize"]),
    }),
    algorithm: z
      .enum(["grid", "random", "bayesian"])
      .default("random")
      .describe(
        "grid: every combination of choice and int values, first parameter slowest (no uniform ranges); " +
          "random: independent uniform draws; bayesian: the tree-structured Parzen estimator (docs/tuning.md).",
      ),
    maxTrials: z
      .number()
      .int()
      .min(1)
      .max(MAX_TRIALS)
      .describe("Trials to run (a grid runs at most its size)."),
    parallelTrials: z
      .number()
      .int()
      .min(1)
      .max(MAX_PARALLEL_TRIALS)
      .default(1)
      .describe(
        "Trials proposed and run together, as one batch; the next batch is proposed from every finished " +
          "trial (so results do not depend on which trial ends first). Trials count against MAX_JOBS_PER_CLIENT.",
      ),
    seed: SeedSchema.optional().describe(
      "Seed (uint32) of the whole search: the proposals and every trial's seed; drawn and returned when absent.",
    ),
    earlyStopping: z
      .literal("median")
      .optional()
      .describe(
        "The median stopping rule (Golovin et al. 2017): a trial is stopped at epoch s when its best objective " +
          "so far is worse than the median of the earlier batches' running averages up to s.",
      ),
  })
  .meta({ examples: [tuningExample] });

export const TUNING_STATUSES = ["running", "succeeded", "failed", "cancelled"] as const;
export const TRIAL_STATUSES = ["queued", "running", "succeeded", "failed", "cancelled", "stopped"] as const;

export const TrialSchema = z
  .object({
    index: z.number().int().describe("0-based, in the order trials are proposed."),
    parameters: z.record(z.string(), ChoiceValueSchema).describe("The search space's values, by path."),
    seed: z.number().int(),
    jobId: z
      .string()
      .nullable()
      .describe("The trial's job (GET /jobs/{id}); null when it could not be created."),
    status: z
      .enum(TRIAL_STATUSES)
      .describe("Its job's status, or `stopped` when the median rule stopped it (its job cancelled)."),
    objective: z
      .number()
      .nullable()
      .describe("The objective at the last epoch it ran (null until it ends, or when it failed)."),
    epochsRun: z.number().int(),
    modelId: z.string().optional().describe("When succeeded: the model it stored."),
    error: ProblemSchema.optional(),
  })
  .meta({ id: "Trial" });

export const TuningJobSchema = z
  .object({
    id: z.string(),
    status: z.enum(TUNING_STATUSES),
    createdAt: z.string(),
    finishedAt: z.string().nullable(),
    seed: z.number().int(),
    algorithm: z.enum(["grid", "random", "bayesian"]),
    objective: z.object({ metric: z.string(), goal: z.enum(["minimize", "maximize"]) }),
    maxTrials: z.number().int().describe("Trials it runs (a grid's size when smaller)."),
    parallelTrials: z.number().int(),
    trialsDone: z.number().int(),
    trials: z.array(TrialSchema),
    best: z
      .object({
        trial: z.number().int(),
        objective: z.number(),
        parameters: z.record(z.string(), ChoiceValueSchema),
        jobId: z.string(),
        modelId: z.string().optional(),
      })
      .nullable()
      .describe("The succeeded trial with the best objective so far (the lowest index on a tie)."),
    error: ProblemSchema.optional(),
    links: z.object({ self: z.string(), events: z.string(), cancel: z.string() }),
  })
  .meta({ id: "TuningJob", description: "A hyperparameter search over a training body." });

export const TuningJobListSchema = z
  .object({
    tuningJobs: z
      .array(TuningJobSchema.omit({ trials: true }))
      .describe("Newest first (GET one for its trials)."),
    hasMore: z.boolean(),
    next: z.string().nullable(),
  })
  .meta({ id: "TuningJobList" });

export const TuningIdParamsSchema = z.strictObject({ id: z.string().min(1).max(100) });
export const ListTuningQuerySchema = ListQuerySchema.extend({
  status: z.enum(TUNING_STATUSES).optional().describe("Only tuning jobs in this status."),
});

export type TuningRequest = z.output<typeof TuningRequestSchema>;
export type SearchRange = z.output<typeof RangeSchema>;
export type ChoiceValue = z.output<typeof ChoiceValueSchema>;
export type Trial = z.output<typeof TrialSchema>;
export type TuningJob = z.output<typeof TuningJobSchema>;
export type TuningStatus = (typeof TUNING_STATUSES)[number];
