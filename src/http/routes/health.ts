import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { HealthResponseSchema } from "../../schemas/responses.js";

const health: FastifyPluginAsyncZod = async (app) => {
  app.get(
    "/health",
    {
      schema: {
        tags: ["meta"],
        summary: "Liveness",
        description: "Answers at once, even while training runs (the engine runs in worker threads).",
        response: { 200: HealthResponseSchema },
      },
    },
    async () => ({ status: "ok" as const }),
  );
};

export default health;
