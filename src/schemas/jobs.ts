import { z } from "zod";
import { queryInt } from "./common.js";
import { ProblemSchema } from "./problem.js";
import { DivergenceSchema, metricFields, TrainAnswerSchema } from "./responses.js";
import { PagedListQuerySchema } from "./stored-datasets.js";

export const JOB_STATUSES = ["queued", "running", "succeeded", "failed", "cancelled"] as const;

export const JobStatusSchema = z
  .enum(JOB_STATUSES)
  .describe(
    "queued → running → succeeded | failed | cancelled; a queued job can be cancelled too. After a restart, " +
      "queued and running jobs continue from their last checkpoint.",
  );

/** Job priorities: lower runs sooner, as in BullMQ (1 first); equal priorities run in the order they came. */
export const DEFAULT_PRIORITY = 100;
export const MAX_PRIORITY = 1000;

export const CreateJobQuerySchema = z.strictObject({
  priority: queryInt(1, MAX_PRIORITY)
    .default(DEFAULT_PRIORITY)
    .describe(
      `Which waiting job a free worker takes first: the lowest number (1 = most urgent, ${MAX_PRIORITY} = ` +
        `least; default ${DEFAULT_PRIORITY}); equal priorities run in the order they came. A running job is ` +
        "never interrupted for a more urgent one.",
    ),
});

export const JobIdParamsSchema = z.strictObject({
  id: z.string().min(1).max(100).describe("The job's id."),
});

export const IdempotencyHeadersSchema = z.object({
  "idempotency-key": z
    .string()
    .min(1)
    .max(255)
    .optional()
    .describe(
      "Makes a retried create safe: a second POST with the same key and body answers the first job " +
        "(422 when the body differs).",
    ),
});

export const ListJobsQuerySchema = PagedListQuerySchema.extend({
  status: JobStatusSchema.optional().describe("Only jobs in this status."),
});

export const JobEventsQuerySchema = z.strictObject({
  lastEventId: queryInt(0, 999_999_999)
    .optional()
    .describe(
      "Like the Last-Event-ID header, for clients that cannot set it: replay the events after this id.",
    ),
});

export const JobEventsHeadersSchema = z.object({
  "last-event-id": z
    .string()
    .regex(/^\d{1,9}$/, "expected the id of an event of this stream (a non-negative integer)")
    .optional()
    .describe("Replay the events after this id (EventSource sends it when it reconnects)."),
});

export const JobProgressSchema = z
  .object({
    epoch: z
      .number()
      .int()
      .describe("Epochs completed (1-based number of the latest; history index epoch − 1)."),
    epochs: z.number().int().describe("Epochs the job runs."),
    loss: z.number().optional().describe("The latest epoch's mean training loss."),
    accuracy: z.number().optional(),
    valLoss: z.number().optional(),
    valAccuracy: z.number().optional(),
    distanceToOptimum: z.number().optional(),
    ...metricFields(z.number(), "the latest epoch's value"),
  })
  .meta({ id: "JobProgress", description: "Where a job is: the latest epoch's values." });

export const JobSchema = z
  .object({
    id: z.string(),
    status: JobStatusSchema,
    createdAt: z.string().describe("ISO 8601."),
    startedAt: z.string().nullable().describe("When a worker first took it up."),
    finishedAt: z.string().nullable(),
    seed: z.number().int().describe("The seed (drawn at creation when the body had none)."),
    priority: z
      .number()
      .int()
      .describe(
        `1 (runs first) … ${MAX_PRIORITY}; the \`priority\` it was created with (default ${DEFAULT_PRIORITY}).`,
      ),
    progress: JobProgressSchema,
    checkpointEpoch: z
      .number()
      .int()
      .nullable()
      .describe("Queued or running: epochs the last checkpoint holds (a restart continues from there)."),
    attempts: z.number().int().describe("Times a worker took it up (more than 1 after restarts)."),
    datasetId: z.string().optional().describe("The stored data set it trains on."),
    error: ProblemSchema.optional().describe("Why it failed (problem details)."),
    diverged: DivergenceSchema.optional().describe("When it failed because the loss became NaN or infinite."),
    modelId: z
      .string()
      .optional()
      .describe(
        "When succeeded: the model it stored in the registry (`mdl_…`; also the result's `modelId`).",
      ),
    tuningJobId: z
      .string()
      .optional()
      .describe("When the job is a trial of a tuning job (GET /tuning-jobs/{id})."),
    result: TrainAnswerSchema.optional().describe(
      "When succeeded: the training result, as POST /train answers (history over every epoch).",
    ),
    links: z.object({ self: z.string(), events: z.string(), cancel: z.string() }),
  })
  .meta({ id: "Job", description: "An asynchronous training job." });

export const JobListSchema = z
  .object({
    jobs: z.array(JobSchema).describe("Newest first (without `result`: GET the job for it)."),
    hasMore: z.boolean(),
    next: z.string().nullable().describe("The next page, or null."),
  })
  .meta({ id: "JobList" });

export type Job = z.output<typeof JobSchema>;
export type JobProgress = z.output<typeof JobProgressSchema>;
export type JobList = z.output<typeof JobListSchema>;
