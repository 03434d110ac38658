import type { WebhookEventType } from "../../schemas/webhooks.js";
import { jobView } from "../jobs/job-view.js";
import type { JobRecord } from "../store/job-store.js";
import type { TrialRecord, TuningRecord } from "../store/tuning-store.js";
import { bestView } from "../tuning/best-view.js";

/**
 * The body delivered for a job's end, as the Standard Webhooks specification shapes it:
 * `{ type, timestamp, data }`, `data` the job as `GET /jobs/{id}` shows it (without `result`).
 */
export function jobEventPayload(ended: JobRecord): string {
  const type = `job.${ended.status}` as WebhookEventType;
  return JSON.stringify({ type, timestamp: ended.finishedAt, data: jobView(ended) });
}

/**
 * The body delivered for a tuning job's end: `{ type, timestamp, data }`, `data` the tuning job's
 * summary (`id`, `status`, times, trials ended, the best trial with its parameters, job and model,
 * the error of a failed one, and where `GET /tuning-jobs/{id}` shows the whole trials table).
 */
export function tuningEventPayload(ended: TuningRecord, trials: readonly TrialRecord[]): string {
  const type = `tuning.${ended.status}` as WebhookEventType;
  const best = trials.find((t) => t.index === ended.bestTrial);
  const self = `/tuning-jobs/${ended.id}`;
  const data = {
    id: ended.id,
    status: ended.status,
    createdAt: ended.createdAt,
    finishedAt: ended.finishedAt,
    trialsDone: trials.filter((t) => t.status !== "running").length,
    best: bestView(best),
    ...(ended.error ? { error: ended.error } : {}),
    links: { self, events: `${self}/events` },
  };
  return JSON.stringify({ type, timestamp: ended.finishedAt, data });
}
