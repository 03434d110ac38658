import { isKerasModel, isModelRef } from "../../schemas/model-refs.js";
import { TrainRequestSchema } from "../../schemas/requests.js";
import type { ResolvedTrainRequest } from "../models/resolve.js";

/**
 * A job's stored request (the JSON text of its plan's `request`), read back through the request
 * schema rather than trusted: a row edited by hand, or written by another version, is refused here
 * instead of reaching the engine half-checked. The job's run then plans it as POST /jobs did. A
 * job stores its model resolved (spec and weights, not a stored model's id or a Keras topology),
 * so that it runs what was checked whatever happens to the model it named.
 * @throws Error naming the first field that does not fit, and the job.
 */
export function readStoredRequest(text: string, job: string): ResolvedTrainRequest {
  // The lineage (`baseModelId`) is the service's, not a request field: kept beside the schema's.
  const { baseModelId, ...body } = JSON.parse(text) as { baseModelId?: unknown };
  const parsed = TrainRequestSchema.safeParse(body);
  if (parsed.success) {
    const { model, initialWeights } = parsed.data;
    if (isModelRef(model) || isKerasModel(model) || isModelRef(initialWeights))
      throw new Error(
        `the stored request of job ${job} names a model instead of holding its spec and weights`,
      );
    const lineage = typeof baseModelId === "string" ? { baseModelId } : {};
    return { ...(parsed.data as ResolvedTrainRequest), ...lineage };
  }
  const issue = parsed.error.issues[0];
  throw new Error(
    `the stored request of job ${job} does not fit the request schema` +
      (issue ? ` at ${issue.path.join(".") || "(root)"}: ${issue.message}` : ""),
  );
}
