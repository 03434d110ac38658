import { z } from "zod";
import { queryInt } from "./common.js";

/** The events an endpoint can subscribe to: a job or a tuning job of its API key ending, by its final status. */
export const WEBHOOK_EVENTS = [
  "job.succeeded",
  "job.failed",
  "job.cancelled",
  "tuning.succeeded",
  "tuning.failed",
  "tuning.cancelled",
] as const;
export type WebhookEventType = (typeof WEBHOOK_EVENTS)[number];

/** Longest endpoint URL accepted. */
export const MAX_WEBHOOK_URL_LENGTH = 2000;

export const WebhookEventSchema = z
  .enum(WEBHOOK_EVENTS)
  .describe(
    "job.succeeded | job.failed | job.cancelled: a job of this API key ended so (a tuning job's trials " +
      "are jobs too); tuning.succeeded | tuning.failed | tuning.cancelled: a tuning job ended so.",
  );

export const CreateWebhookBodySchema = z
  .strictObject({
    url: z
      .string()
      .min(1)
      .max(MAX_WEBHOOK_URL_LENGTH)
      .describe(
        "Where deliveries are POSTed: an https URL whose host resolves to public addresses only " +
          "(http only to a loopback address, and only when the server sets WEBHOOK_ALLOW_INSECURE). " +
          "No user name or password in it.",
      ),
    events: z
      .array(WebhookEventSchema)
      .min(1)
      .max(WEBHOOK_EVENTS.length)
      .refine((events) => new Set(events).size === events.length, "an event is listed twice")
      .describe("The events to deliver, each once."),
  })
  .meta({
    id: "CreateWebhook",
    description: "A webhook endpoint to register for this API key.",
    example: { url: "https://example.com/hooks/training", events: ["job.succeeded", "job.failed"] },
  });

export const WebhookIdParamsSchema = z.strictObject({
  id: z.string().min(1).max(100).describe("The webhook's id (`wh_…`)."),
});

const webhookFields = {
  id: z.string().describe("`wh_…`"),
  url: z.string(),
  events: z.array(WebhookEventSchema),
  createdAt: z.string().describe("ISO 8601."),
  links: z.object({ self: z.string(), deliveries: z.string() }),
};

export const WebhookSchema = z
  .object(webhookFields)
  .meta({ id: "Webhook", description: "A registered webhook endpoint (its secret is shown only once)." });

export const WebhookWithSecretSchema = z
  .object({
    ...webhookFields,
    secret: z
      .string()
      .describe(
        "`whsec_` and the base64 of 32 random bytes: verify each delivery's `webhook-signature` with it " +
          "(Standard Webhooks). Shown only in this answer; POST …/rotate-secret makes a new one.",
      ),
  })
  .meta({ id: "WebhookWithSecret", description: "A webhook endpoint with its signing secret." });

export const WebhookListSchema = z
  .object({ webhooks: z.array(WebhookSchema).describe("Newest first.") })
  .meta({ id: "WebhookList" });

export const DeliveriesQuerySchema = z.strictObject({
  limit: queryInt(1, 100).default(20).describe("Deliveries to show, newest first: 1 … 100 (default 20)."),
});

export const WebhookAttemptSchema = z.object({
  attempt: z.number().int().describe("1 for the first try."),
  at: z.string().describe("ISO 8601: when it was sent."),
  statusCode: z.number().int().nullable().describe("The receiver's HTTP status, or null (no answer)."),
  outcome: z
    .string()
    .describe("The status line (`200 OK`), or why nothing was sent or answered (timeout, refused address)."),
});

export const WebhookDeliverySchema = z
  .object({
    id: z.string().describe("`msg_…`: the `webhook-id` header, the same on every attempt."),
    type: WebhookEventSchema,
    jobId: z.string().optional().describe("job.* events: the job the event is about."),
    tuningJobId: z.string().optional().describe("tuning.* events: the tuning job the event is about."),
    status: z
      .enum(["pending", "delivered", "failed"])
      .describe("pending (more tries to come), delivered (a 2xx answer), failed (every try failed)."),
    createdAt: z.string().describe("ISO 8601: when the event happened."),
    nextAttemptAt: z.string().nullable().describe("When pending: the next try (ISO 8601)."),
    attempts: z.array(WebhookAttemptSchema).describe("Every try, oldest first."),
  })
  .meta({ id: "WebhookDelivery", description: "One event's delivery to one endpoint, with its attempts." });

export const WebhookDeliveryListSchema = z
  .object({ deliveries: z.array(WebhookDeliverySchema).describe("Newest first.") })
  .meta({ id: "WebhookDeliveryList" });

export type CreateWebhookBody = z.output<typeof CreateWebhookBodySchema>;
export type Webhook = z.output<typeof WebhookSchema>;
export type WebhookWithSecret = z.output<typeof WebhookWithSecretSchema>;
export type WebhookDelivery = z.output<typeof WebhookDeliverySchema>;
