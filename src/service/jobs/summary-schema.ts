// Kept apart from summary.ts, which the job modules load before the API's schemas: the schema
// modules are then first loaded in the order they were, and the OpenAPI document, whose components
// follow that order, stays the same.
import { z } from "zod";
import { HistorySchema } from "../../schemas/responses.js";
import { TelemetrySchema } from "../../schemas/training.js";
import { checkStored } from "../store/stored-json.js";

/**
 * What a job's chunks add up to so far: the engine reports each chunk's own epochs only, so the
 * job concatenates history and telemetry and sums the epochs and engine time. Stored with every
 * checkpoint (JSON), and read back through this schema (`readSummary`).
 */
export const ChunkSummarySchema = z.object({
  history: HistorySchema,
  telemetry: TelemetrySchema.optional(),
  epochsRun: z.number().int().nonnegative(),
  /** The first chunk's `initialEpoch` (0, or the `optimizerState` a job continues). */
  initialEpoch: z.number().int().nonnegative().nullable(),
  /** Engine time over every chunk, milliseconds (a chunk cut short by a restart is not counted). */
  durationMs: z.number().nonnegative(),
});

export type ChunkSummary = z.output<typeof ChunkSummarySchema>;

/**
 * A checkpoint's stored summary (parsed JSON) read back through `ChunkSummarySchema`.
 * @throws ProblemError (422, `/problems/stored-checkpoint-invalid`) naming the job and the first
 *   field that does not fit: the job fails with it (a run cannot continue from a summary it cannot read).
 */
export function readSummary(summary: unknown, job: string): ChunkSummary {
  return checkStored(ChunkSummarySchema, summary, { kind: "checkpoint", id: job, column: "summary" });
}
