import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { DatasetsResponseSchema } from "../../schemas/responses.js";
import { ListQuerySchema } from "../../schemas/stored-datasets.js";
import { problemResponses } from "./problem-responses.js";

const datasets: FastifyPluginAsyncZod = async (app) => {
  app.get(
    "/datasets",
    {
      schema: {
        tags: ["data"],
        summary: "List the built-in and the stored data sets",
        description:
          'Train on a built-in one with `"dataset": { "name": "iris" }`, on a stored one with ' +
          '`"dataset": { "id": "ds_…" }`. Stored data sets come newest first, one page at a time.',
        querystring: ListQuerySchema,
        response: { 200: DatasetsResponseSchema, 400: problemResponses[400] },
      },
    },
    async (request) => ({
      datasets: app.engine.datasets(),
      ...(await app.storedDatasets.list(request.query.limit, request.query.after, request.owner)),
    }),
  );
};

export default datasets;
