import { type TrainRequest, TrainRequestSchema } from "../../schemas/requests.js";

/**
 * A job's stored request (the JSON text of its plan's `request`), read back through the request
 * schema rather than trusted: a row edited by hand, or written by another version, is refused here
 * instead of reaching the engine half-checked. The job's run then plans it as POST /jobs did.
 * @throws Error naming the first field that does not fit, and the job.
 */
export function readStoredRequest(text: string, job: string): TrainRequest {
  const parsed = TrainRequestSchema.safeParse(JSON.parse(text));
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  throw new Error(
    `the stored request of job ${job} does not fit the request schema` +
      (issue ? ` at ${issue.path.join(".") || "(root)"}: ${issue.message}` : ""),
  );
}
