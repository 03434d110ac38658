import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { GradientsRequestSchema } from "../../schemas/requests.js";
import { GradientsResponseSchema } from "../../schemas/responses.js";
import { abortOnDisconnect } from "./abort.js";
import { refuseWhenSaturated } from "./admission.js";
import { sendJsonText } from "./json-text.js";
import { syncProblemResponses } from "./problem-responses.js";

const gradients: FastifyPluginAsyncZod = async (app) => {
  app.post(
    "/gradients",
    {
      onRequest: refuseWhenSaturated(app),
      schema: {
        tags: ["inspection"],
        summary: "Back-propagate one sample and show every step",
        description:
          "Forward pass, loss and back-propagated gradients for one sample `x` with target `y`, with " +
          "the given weights or seeded ones. With `numericalCheck`, also the finite-difference " +
          "gradients and the largest absolute and relative differences.",
        body: GradientsRequestSchema,
        response: { 200: GradientsResponseSchema, ...syncProblemResponses },
      },
    },
    async (request, reply) =>
      sendJsonText(reply, await app.engine.gradients(request.body, abortOnDisconnect(reply), request.owner)),
  );
};

export default gradients;
