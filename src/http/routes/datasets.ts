import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { DatasetsResponseSchema } from "../../schemas/responses.js";

const datasets: FastifyPluginAsyncZod = async (app) => {
  app.get(
    "/datasets",
    {
      schema: {
        tags: ["data"],
        summary: "List the built-in data sets",
        description: 'Train on one with `"dataset": { "name": "iris" }`.',
        response: { 200: DatasetsResponseSchema },
      },
    },
    async () => ({ datasets: app.engine.datasets() }),
  );
};

export default datasets;
