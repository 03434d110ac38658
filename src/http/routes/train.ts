import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { TrainRequestSchema } from "../../schemas/requests.js";
import { TrainAnswerSchema } from "../../schemas/responses.js";
import { savedTrainAnswer } from "../../service/models/saved-model.js";
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
          "returns the last finite weights. `return` chooses the large parts of the answer (a lean answer " +
          "leaves out the weights and gradients); `saveModel: true` stores the trained model in the registry " +
          "and answers its `modelId` (a diverged run stores nothing and says why in `modelNotSaved`).",
        body: TrainRequestSchema,
        response: { 200: TrainAnswerSchema, ...syncProblemResponses },
      },
    },
    async (request, reply) => {
      await app.storedDatasets.checkAccess(request.body.dataset, request.owner);
      const outcome = await app.engine.train(request.body, abortOnDisconnect(reply), request.owner);
      return sendJsonText(
        reply,
        await savedTrainAnswer(app.store.models, outcome.request, outcome, request.owner),
      );
    },
  );
};

export default train;
