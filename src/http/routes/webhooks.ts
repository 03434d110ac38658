import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import { ProblemSchema } from "../../schemas/problem.js";
import {
  CreateWebhookBodySchema,
  DeliveriesQuerySchema,
  WebhookDeliveryListSchema,
  WebhookIdParamsSchema,
  WebhookListSchema,
  WebhookSchema,
  WebhookWithSecretSchema,
} from "../../schemas/webhooks.js";
import { MAX_WEBHOOKS_PER_OWNER } from "../../service/webhooks/webhook-service.js";
import { problemResponses } from "./problem-responses.js";

const problem = (description: string) => ({
  description,
  content: { "application/problem+json": { schema: ProblemSchema } },
});
const notFound = problem("No webhook of this client has this id.");

const webhooks: FastifyPluginAsyncZod = async (app) => {
  app.post(
    "/webhooks",
    {
      schema: {
        tags: ["webhooks"],
        summary: "Register a webhook endpoint for this API key's job events",
        description:
          "Every job of this API key that ends with a subscribed event is POSTed to `url` as " +
          "`{ type, timestamp, data }` (`data`: the job as GET /jobs/{id} shows it), signed with the secret " +
          "answered here, shown this once (Standard Webhooks; the README shows a receiver verifying it). A " +
          "try without a 2xx answer within WEBHOOK_TIMEOUT_MS is repeated for about a day.",
        body: CreateWebhookBodySchema,
        response: {
          201: WebhookWithSecretSchema,
          400: problemResponses[400],
          413: problemResponses[413],
          415: problemResponses[415],
          409: problem(`This API key has ${MAX_WEBHOOKS_PER_OWNER} webhooks already.`),
          422: problem(
            "The URL is refused (`errors` names `url`): not https (http only to loopback with " +
              "WEBHOOK_ALLOW_INSECURE), credentials in it, a host that does not resolve, or one that resolves " +
              "to a private, loopback, link-local or other non-public address.",
          ),
        },
      },
    },
    async (request, reply) => {
      const created = await app.webhooks.create(request.body, request.owner);
      return reply.code(201).header("location", created.links.self).send(created);
    },
  );

  app.get(
    "/webhooks",
    {
      schema: {
        tags: ["webhooks"],
        summary: "List this API key's webhooks, newest first",
        description: "All of them (at most 20 per key): no paging, and no query parameters.",
        querystring: z.strictObject({}),
        response: { 200: WebhookListSchema, 400: problemResponses[400] },
      },
    },
    async (request) => await app.webhooks.list(request.owner),
  );

  app.get(
    "/webhooks/:id",
    {
      schema: {
        tags: ["webhooks"],
        summary: "A webhook (without its secret)",
        params: WebhookIdParamsSchema,
        response: { 200: WebhookSchema, 404: notFound },
      },
    },
    async (request) => await app.webhooks.get(request.params.id, request.owner),
  );

  app.delete(
    "/webhooks/:id",
    {
      schema: {
        tags: ["webhooks"],
        summary: "Delete a webhook",
        description: "Its deliveries go with it: pending ones are not sent.",
        params: WebhookIdParamsSchema,
        response: { 204: z.null().describe("Deleted."), 404: notFound },
      },
    },
    async (request, reply) => {
      await app.webhooks.delete(request.params.id, request.owner);
      return reply.code(204).send(null);
    },
  );

  app.post(
    "/webhooks/:id/rotate-secret",
    {
      schema: {
        tags: ["webhooks"],
        summary: "Replace a webhook's signing secret",
        description:
          "Answers the new secret, shown this once. For a day the old one signs too: `webhook-signature` " +
          "carries both signatures, so a receiver still on the old secret verifies until it switches.",
        params: WebhookIdParamsSchema,
        response: { 200: WebhookWithSecretSchema, 404: notFound },
      },
    },
    async (request) => await app.webhooks.rotate(request.params.id, request.owner),
  );

  app.get(
    "/webhooks/:id/deliveries",
    {
      schema: {
        tags: ["webhooks"],
        summary: "A webhook's latest deliveries, each with its tries",
        description:
          "Newest first. Each try keeps when it was sent and the receiver's status line (never its body), " +
          "or why there was no answer.",
        params: WebhookIdParamsSchema,
        querystring: DeliveriesQuerySchema,
        response: { 200: WebhookDeliveryListSchema, 400: problemResponses[400], 404: notFound },
      },
    },
    async (request) => await app.webhooks.deliveries(request.params.id, request.owner, request.query.limit),
  );
};

export default webhooks;
