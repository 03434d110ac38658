import type { WebhookEventType } from "../../schemas/webhooks.js";

/** A registered endpoint. */
export interface WebhookRecord {
  seq: number;
  id: string;
  /** The API key's owner id (see `ownerOf`); only they see it. */
  owner: string;
  createdAt: string;
  url: string;
  events: WebhookEventType[];
  /** `whsec_…`: signs every delivery. */
  secret: string;
  /** The secret before the last rotation: deliveries carry its signature too until `previousUntil` (ms). */
  previousSecret: string | null;
  previousUntil: number | null;
}

export type DeliveryStatus = "pending" | "delivered" | "failed";

/** One try of a delivery. */
export interface AttemptRecord {
  attempt: number;
  at: string;
  statusCode: number | null;
  /** The status line, or why there was no answer (at most `MAX_OUTCOME_LENGTH` characters). */
  outcome: string;
}

/** One event to one endpoint. */
export interface DeliveryRecord {
  id: string;
  webhookId: string;
  type: WebhookEventType;
  /** The job the event is about. */
  subjectId: string;
  /** The JSON body, signed as stored. */
  payload: string;
  createdAt: string;
  status: DeliveryStatus;
  attempts: number;
  /** ms since the epoch; null once delivered or failed. */
  nextAttemptAt: number | null;
}

/** A delivery a sender claimed, with what it needs to send it. */
export interface ClaimedDelivery extends DeliveryRecord {
  url: string;
  /** The secrets to sign with: the current one, and the previous one while it still counts. */
  secrets: string[];
}

/** A cap on one sender's deliveries in flight per endpoint, for `WebhookStore.claimDue`. */
export interface PerWebhookLimit {
  /** Deliveries of one endpoint in flight at most. */
  max: number;
  /** The sender's deliveries in flight, per webhook id. */
  busy: ReadonlyMap<string, number>;
}

/** An attempt's outcome, as the sender records it. */
export interface AttemptResult {
  at: string;
  statusCode: number | null;
  outcome: string;
  /** A 2xx answer. */
  delivered: boolean;
  /** When to try again (ms), or null: no more tries (the delivery failed). Ignored when delivered. */
  retryAt: number | null;
}

/** Longest outcome stored for an attempt. */
export const MAX_OUTCOME_LENGTH = 200;

/**
 * Where webhook endpoints, their deliveries and attempts are kept (`SqlWebhookStore` on SQLite or
 * PostgreSQL). The deliveries of a job's end are written by `SqlJobStore.finish`, in the
 * transaction that ends the job, once per endpoint and event (`enqueueDeliveries`).
 */
export interface WebhookStore {
  insert(webhook: Omit<WebhookRecord, "seq">): Promise<WebhookRecord>;
  /** The webhook; with `owner`, only when it belongs to them. */
  get(id: string, owner?: string): Promise<WebhookRecord | undefined>;
  /** The owner's webhooks, newest first. */
  list(owner: string): Promise<WebhookRecord[]>;
  /** How many webhooks the owner has. */
  count(owner: string): Promise<number>;
  /** Deletes the owner's webhook with its deliveries. @returns whether there was one. */
  delete(id: string, owner: string): Promise<boolean>;
  /** Replaces the secret; the old one keeps signing until `previousUntil` (ms). @returns the updated record. */
  rotate(
    id: string,
    owner: string,
    secret: string,
    previousUntil: number,
  ): Promise<WebhookRecord | undefined>;
  /** The webhook's latest deliveries, newest first, each with its attempts (oldest first). */
  deliveries(
    webhookId: string,
    limit: number,
  ): Promise<{ delivery: DeliveryRecord; attempts: AttemptRecord[] }[]>;
  /**
   * Claims up to `limit` deliveries due at `now` (ms), the earliest due first: each claimed one's
   * next try moves to `leaseUntil`, so no other sender takes it meanwhile, and a sender that dies
   * leaves it to be tried again after that. Guarded per row: of two senders, one claims it. With
   * `perWebhook`, at most `max` per endpoint counting the sender's `busy` ones (a backlog of one
   * endpoint does not hold back the others' due deliveries).
   */
  claimDue(
    now: number,
    leaseUntil: number,
    limit: number,
    perWebhook?: PerWebhookLimit,
  ): Promise<ClaimedDelivery[]>;
  /** Records an attempt of a claimed delivery and its new state, in one transaction. */
  recordAttempt(id: string, result: AttemptResult): Promise<void>;
  /** Gives a claimed delivery back without an attempt (the sender is stopping): due again at `at` (ms). */
  release(id: string, at: number): Promise<void>;
  /**
   * Deletes the deliveries (with their attempts) that are no longer pending and were created
   * before `cutoff` (ISO 8601): JOB_RETENTION_DAYS, as for their jobs. @returns how many.
   */
  deleteFinishedBefore(cutoff: string): Promise<number>;
}
