import { randomBytes } from "node:crypto";
import type {
  CreateWebhookBody,
  Webhook,
  WebhookDelivery,
  WebhookWithSecret,
} from "../../schemas/webhooks.js";
import { ConflictError, fieldError, NotFoundError, UnprocessableError } from "../errors.js";
import type { WebhookRecord, WebhookStore } from "../store/webhook-store.js";
import { type AddressPolicy, refusedEndpoint } from "./address.js";

/** Webhooks one API key may register. */
export const MAX_WEBHOOKS_PER_OWNER = 20;

/** How long the secret before a rotation keeps signing deliveries (beside the new one): a day. */
export const PREVIOUS_SECRET_MS = 86_400_000;

/** A new signing secret: `whsec_` and the base64 of 32 random bytes (Standard Webhooks). */
export function newSecret(): string {
  return `whsec_${randomBytes(32).toString("base64")}`;
}

function view(record: WebhookRecord): Webhook {
  const self = `/webhooks/${record.id}`;
  return {
    id: record.id,
    url: record.url,
    events: record.events,
    createdAt: record.createdAt,
    links: { self, deliveries: `${self}/deliveries` },
  };
}

const notFound = (id: string) => new NotFoundError(`no webhook ${id}`);

/**
 * The webhooks API over `WebhookStore`, per owner (API key) as jobs and models are: another
 * owner's webhook reads as none (404). The secret is shown at create and rotation only.
 */
export class WebhookService {
  constructor(
    private readonly store: WebhookStore,
    private readonly policy: AddressPolicy,
  ) {}

  /**
   * @throws UnprocessableError (422) naming `url` when it is refused (`refusedEndpoint`: scheme,
   *   credentials, a host that does not resolve or resolves to a non-public address);
   *   ConflictError (409) when the owner has MAX_WEBHOOKS_PER_OWNER already.
   */
  async create(body: CreateWebhookBody, owner: string): Promise<WebhookWithSecret> {
    const refused = await refusedEndpoint(body.url, this.policy);
    if (refused) throw new UnprocessableError(`url: ${refused}`, [fieldError(["url"], refused)]);
    if ((await this.store.count(owner)) >= MAX_WEBHOOKS_PER_OWNER)
      throw new ConflictError(
        `this API key has ${MAX_WEBHOOKS_PER_OWNER} webhooks, the most it may have: delete one first`,
      );
    const secret = newSecret();
    const record = await this.store.insert({
      id: `wh_${randomBytes(12).toString("hex")}`,
      owner,
      createdAt: new Date().toISOString(),
      url: body.url,
      events: body.events,
      secret,
      previousSecret: null,
      previousUntil: null,
    });
    return { ...view(record), secret };
  }

  async list(owner: string): Promise<{ webhooks: Webhook[] }> {
    return { webhooks: (await this.store.list(owner)).map(view) };
  }

  /** @throws NotFoundError (404) when the owner has no webhook `id`. */
  async get(id: string, owner: string): Promise<Webhook> {
    const record = await this.store.get(id, owner);
    if (!record) throw notFound(id);
    return view(record);
  }

  /** Deletes it with its deliveries (pending ones are not sent). @throws NotFoundError (404). */
  async delete(id: string, owner: string): Promise<void> {
    if (!(await this.store.delete(id, owner))) throw notFound(id);
  }

  /**
   * A new secret; the old one keeps signing (a second signature in `webhook-signature`) for
   * PREVIOUS_SECRET_MS, so a receiver can switch without losing a delivery. @throws NotFoundError (404).
   */
  async rotate(id: string, owner: string): Promise<WebhookWithSecret> {
    const secret = newSecret();
    const record = await this.store.rotate(id, owner, secret, Date.now() + PREVIOUS_SECRET_MS);
    if (!record) throw notFound(id);
    return { ...view(record), secret };
  }

  /** The webhook's latest deliveries with their tries. @throws NotFoundError (404). */
  async deliveries(id: string, owner: string, limit: number): Promise<{ deliveries: WebhookDelivery[] }> {
    if (!(await this.store.get(id, owner))) throw notFound(id);
    const rows = await this.store.deliveries(id, limit);
    return {
      deliveries: rows.map(({ delivery: d, attempts }) => ({
        id: d.id,
        type: d.type,
        ...(d.type.startsWith("tuning.") ? { tuningJobId: d.subjectId } : { jobId: d.subjectId }),
        status: d.status,
        createdAt: d.createdAt,
        nextAttemptAt:
          d.status === "pending" && d.nextAttemptAt !== null ? new Date(d.nextAttemptAt).toISOString() : null,
        attempts,
      })),
    };
  }
}
