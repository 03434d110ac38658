import { ProblemSchema } from "../../schemas/problem.js";

const problem = (description: string) => ({
  description,
  content: { "application/problem+json": { schema: ProblemSchema } },
});

/** The error answers every engine route documents. */
export const problemResponses = {
  400: problem("Malformed JSON or a body that does not match the schema; `errors` names each bad field."),
  413: problem("Body larger than BODY_LIMIT."),
  415: problem("Content type other than application/json."),
  422: problem(
    "Well-formed but impossible: shapes that do not fit the model, labels out of range, weights for " +
      "another model, a request over the compute budget.",
  ),
  500: problem("Internal error (details are logged, not sent)."),
  503: problem("Every worker is busy and the queue is full; see Retry-After."),
};

/** Those of the synchronous engine routes (/train, /gradients, /predict), which run under SYNC_TIMEOUT_MS. */
export const syncProblemResponses = {
  ...problemResponses,
  503: problem(
    "Every worker is busy and the queue is full (`/problems/overloaded`; see Retry-After), or the worker " +
      "thread running the request died, e.g. over WORKER_MAX_HEAP_MB (`/problems/worker-failed`).",
  ),
  504: problem(
    "Not finished within SYNC_TIMEOUT_MS, waiting for a worker included (`/problems/timeout`): the worker " +
      "was stopped. POST /jobs takes the same body without a time limit.",
  ),
};
