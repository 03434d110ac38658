import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { PredictRequestSchema } from "../../schemas/requests.js";
import { PredictResponseSchema } from "../../schemas/responses.js";
import { abortOnDisconnect } from "./abort.js";
import { refuseWhenSaturated } from "./admission.js";
import { sendJsonText } from "./json-text.js";
import { syncProblemResponses } from "./problem-responses.js";

const predict: FastifyPluginAsyncZod = async (app) => {
  app.post(
    "/predict",
    {
      onRequest: refuseWhenSaturated(app),
      schema: {
        tags: ["inspection"],
        summary: "Run a model forward on samples",
        body: PredictRequestSchema,
        response: { 200: PredictResponseSchema, ...syncProblemResponses },
      },
    },
    async (request, reply) =>
      sendJsonText(reply, await app.engine.predict(request.body, abortOnDisconnect(reply), request.owner)),
  );
};

export default predict;
