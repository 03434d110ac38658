import type { TuningJob } from "../../schemas/tuning.js";
import type { TrialRecord } from "../store/tuning-store.js";

/**
 * The best trial as GET /tuning-jobs/{id} and a `tuning.*` webhook show it: `{ trial, objective,
 * parameters, jobId, modelId? }`, or null before a trial has an objective and a job.
 */
export function bestView(best: TrialRecord | undefined): TuningJob["best"] {
  return best && best.objective !== null && best.jobId !== null
    ? {
        trial: best.index,
        objective: best.objective,
        parameters: best.parameters,
        jobId: best.jobId,
        ...(best.modelId ? { modelId: best.modelId } : {}),
      }
    : null;
}
