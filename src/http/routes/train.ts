import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { TrainRequestSchema } from "../../schemas/requests.js";
import { TrainResponseSchema } from "../../schemas/responses.js";
import { abortOnDisconnect } from "./abort.js";
import { refuseWhenSaturated } from "./admission.js";
import { sendJsonText } from "./json-text.js";
import { syncProblemResponses } from "./problem-responses.js";

const train: FastifyPluginAsyncZod = async (app) => {
  app.post(
    "/train",
    {
      onRequest: refuseWhenSaturated(app),
      schema: {
        tags: ["training"],
        summary: "Train a model synchronously (in a worker thread)",
        description:
          "Trains `model` on `dataset` and returns the final weights, the per-epoch history, the " +
          "mean-loss gradient over the whole training set at the final weights, and the seed (drawn " +
          "when absent, so any run can be repeated exactly). A run whose loss becomes NaN or infinite " +
          "is not an error: it stops, answers 200 with `diverged` naming the epoch and batch, and " +
          "returns the last finite weights.",
        body: TrainRequestSchema,
        response: { 200: TrainResponseSchema, ...syncProblemResponses },
      },
    },
    async (request, reply) => {
      await app.storedDatasets.checkAccess(request.body.dataset, request.owner);
      return sendJsonText(
        reply,
        await app.engine.train(request.body, abortOnDisconnect(reply), request.owner),
      );
    },
  );
};

export default train;
