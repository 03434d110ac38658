import type { WebhookEventType } from "../../schemas/webhooks.js";
import { jobView } from "../jobs/job-view.js";
import type { JobRecord } from "../store/job-store.js";

/**
 * The body delivered for a job's end, as the Standard Webhooks specification shapes it:
 * `{ type, timestamp, data }`, `data` the job as `GET /jobs/{id}` shows it (without `result`).
 */
export function jobEventPayload(ended: JobRecord): string {
  const type = `job.${ended.status}` as WebhookEventType;
  return JSON.stringify({ type, timestamp: ended.finishedAt, data: jobView(ended) });
}
