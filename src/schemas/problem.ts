import { z } from "zod";

export const FieldErrorSchema = z
  .object({
    path: z.string().describe('Where in the request body, e.g. "model.layers[1].units" or "dataset.x[3]".'),
    message: z.string(),
  })
  .meta({ id: "FieldError" });

export const ProblemSchema = z
  .object({
    type: z
      .string()
      .describe('A URI reference naming the kind of problem; "about:blank" for plain HTTP errors.'),
    title: z.string(),
    status: z.number().int(),
    detail: z.string(),
    instance: z.string().optional().describe("The request path."),
    requestId: z.string().optional().describe("The id under which the request was logged."),
    errors: z.array(FieldErrorSchema).optional().describe("Each bad field, for 400 and 422."),
  })
  .meta({ id: "Problem", description: "An error, as RFC 9457 problem details (application/problem+json)." });

export type Problem = z.infer<typeof ProblemSchema>;
export type FieldError = z.infer<typeof FieldErrorSchema>;
