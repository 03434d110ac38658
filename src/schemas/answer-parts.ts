import { z } from "zod";

/**
 * The large parts of a training answer (`TrainResponse` fields) a request may leave out with
 * `return`. The small identifying fields (seed, engineVersion, weightsSha256, durationMs,
 * epochsRun, modelId, diverged, …) always come.
 */
export const ANSWER_PARTS = [
  "weights",
  "gradients",
  "history",
  "metrics",
  "confusionMatrix",
  "telemetry",
  "optimizerState",
  "optimum",
] as const;

export type AnswerPart = (typeof ANSWER_PARTS)[number];

export const ReturnSchema = z
  .array(z.enum(ANSWER_PARTS))
  .max(ANSWER_PARTS.length)
  .describe(
    "The large parts the answer carries (default: all it has, as without this field). " +
      '`["history", "metrics"]` leaves out the weights and the gradients, e.g. for a client that saves the model ' +
      "(`saveModel`) and downloads it later. The identifying fields (seed, engineVersion, weightsSha256, " +
      "durationMs, epochsRun, modelId, diverged) always come. Without `gradients` the final full-data gradient " +
      "is not computed at all.",
  );

export const SaveModelSchema = z
  .boolean()
  .optional()
  .describe(
    "POST /train: store the trained model in the registry (its spec, weights, optimiser, metrics, data set " +
      "reference and seed) and answer its `modelId`. A diverged run stores nothing (`modelNotSaved` says why). " +
      "POST /jobs: accepted and redundant, every succeeded job stores its model.",
  );
