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
