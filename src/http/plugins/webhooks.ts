import fp from "fastify-plugin";
import { WebhookDispatcher } from "../../service/webhooks/dispatcher.js";
import { WebhookService } from "../../service/webhooks/webhook-service.js";

declare module "fastify" {
  interface FastifyInstance {
    /** Webhook endpoints per API key (src/service/webhooks). */
    webhooks: WebhookService;
  }
}

export interface WebhooksPluginOptions {
  /** WEBHOOK_ALLOW_INSECURE: http to loopback receivers. */
  allowInsecure: boolean;
  /** WEBHOOK_RETRY_DELAYS_MS. */
  retryDelaysMs: number[];
  /** WEBHOOK_TIMEOUT_MS. */
  timeoutMs: number;
  /** WEBHOOK_POLL_MS. */
  pollMs: number;
  /** WEBHOOK_CONCURRENCY (default 8). */
  concurrency?: number;
}

/**
 * The webhooks: `app.webhooks` over the store plugin's `app.store.webhooks`, and a dispatcher
 * sending the due deliveries from the app's start until it closes. Every API process runs one (in
 * the distributed mode, over the shared PostgreSQL: a delivery is claimed by one of them at a time).
 */
export default fp<WebhooksPluginOptions>(
  async (app, opts) => {
    const policy = { allowInsecure: opts.allowInsecure };
    app.decorate("webhooks", new WebhookService(app.store.webhooks, policy));
    const dispatcher = new WebhookDispatcher(app.store.webhooks, {
      ...policy,
      delaysMs: opts.retryDelaysMs,
      timeoutMs: opts.timeoutMs,
      pollMs: opts.pollMs,
      concurrency: opts.concurrency,
      log: app.log,
    });
    app.addHook("onReady", async () => {
      dispatcher.start();
    });
    // Before the store closes (onClose): tries under way are aborted and given back.
    app.addHook("preClose", async () => {
      await dispatcher.stop();
    });
  },
  { name: "webhooks", dependencies: ["store"] },
);
