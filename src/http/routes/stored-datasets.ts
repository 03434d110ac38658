import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import { ProblemSchema } from "../../schemas/problem.js";
import {
  DatasetIdParamsSchema,
  StoreDatasetBodySchema,
  StoreDatasetQuerySchema,
  StoredDatasetSchema,
} from "../../schemas/stored-datasets.js";
import { fieldError, InvalidRequestError } from "../../service/errors.js";
import { problemResponses } from "./problem-responses.js";

const problem = (description: string) => ({
  description,
  content: { "application/problem+json": { schema: ProblemSchema } },
});
const notFound = problem("No stored data set has this id.");

const storedDatasets: FastifyPluginAsyncZod = async (app) => {
  // CSV bodies, for the routes of this plugin only (elsewhere text/csv stays 415).
  app.addContentTypeParser("text/csv", { parseAs: "string" }, (_request, body, done) => done(null, body));

  app.post(
    "/datasets",
    {
      schema: {
        tags: ["data"],
        summary: "Store a data set (JSON or CSV)",
        description:
          "JSON: `{ name?, x, y, inputShape?, classes? }`. CSV (`Content-Type: text/csv`): a header row, one " +
          "sample per row; `?label=` names the target column (default the last), every other column is a " +
          "numeric feature (`?inputShape=50,2`: one sequence of 50 steps of 2 features per row, step by step); class names in the label column are mapped to indices and returned as `classes`. " +
          'Answers 201 with its id: train on it with `"dataset": { "id": "…" }`.',
        consumes: ["application/json", "text/csv"],
        querystring: StoreDatasetQuerySchema,
        body: StoreDatasetBodySchema,
        response: {
          201: StoredDatasetSchema,
          ...problemResponses,
          400: problem(
            "A body that does not match the schema, CSV that does not parse, a header with duplicate or " +
              "missing names, ragged rows (`errors` names the line).",
          ),
          415: problem("Content type other than application/json or text/csv."),
          422: problem(
            "A label column that does not exist, a feature that is not a number, samples of different shapes " +
              "(`errors` names line and column, or the entry).",
          ),
        },
      },
    },
    async (request, reply) => {
      const body = request.body;
      const csv = /^text\/csv\b/i.test(request.headers["content-type"] ?? "");
      const { label, name, inputShape } = request.query;
      if (!csv && (typeof body === "string" || label || name || inputShape)) {
        if (typeof body === "string")
          throw new InvalidRequestError("a JSON body must be an object {x, y, …} (send CSV as text/csv)");
        const param = label ? "label" : name ? "name" : "inputShape";
        const message = "?label, ?name and ?inputShape are for CSV bodies; a JSON body carries its own";
        throw new InvalidRequestError(message, [fieldError(["querystring", param], message)]);
      }
      const stored =
        typeof body === "string"
          ? await app.storedDatasets.createFromCsv(body, request.query, request.owner)
          : await app.storedDatasets.createFromJson(body, request.owner);
      return reply.code(201).header("location", stored.links.self).send(stored);
    },
  );

  app.get(
    "/datasets/:id",
    {
      schema: {
        tags: ["data"],
        summary: "A stored data set (without its values)",
        params: DatasetIdParamsSchema,
        response: { 200: StoredDatasetSchema, 404: notFound },
      },
    },
    async (request) => await app.storedDatasets.get(request.params.id, request.owner),
  );

  app.delete(
    "/datasets/:id",
    {
      schema: {
        tags: ["data"],
        summary: "Delete a stored data set",
        description: "409 while a queued or running job trains on it. Finished jobs keep their results.",
        params: DatasetIdParamsSchema,
        response: {
          204: z.null().describe("Deleted."),
          404: notFound,
          409: problem("A queued or running job trains on it."),
        },
      },
    },
    async (request, reply) => {
      await app.storedDatasets.delete(request.params.id, request.owner);
      return reply.code(204).send(null);
    },
  );
};

export default storedDatasets;
