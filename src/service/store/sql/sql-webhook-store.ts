import { randomBytes } from "node:crypto";
import { z } from "zod";
import { WEBHOOK_EVENTS, type WebhookEventType } from "../../../schemas/webhooks.js";
import { readStored } from "../stored-json.js";
import {
  type AttemptRecord,
  type AttemptResult,
  type ClaimedDelivery,
  type DeliveryRecord,
  MAX_OUTCOME_LENGTH,
  type PerWebhookLimit,
  type WebhookRecord,
  type WebhookStore,
} from "../webhook-store.js";
import { first, type SqlClient, type SqlDriver } from "./driver.js";

/** A `webhooks` row. PostgreSQL's BIGINT columns arrive as text. */
interface WebhookRow {
  seq: number | string;
  id: string;
  owner: string;
  created_at: string;
  url: string;
  events: string;
  secret: string;
  previous_secret: string | null;
  previous_until: number | string | null;
}

interface DeliveryRow {
  id: string;
  webhook_id: string;
  event_type: WebhookEventType;
  subject_id: string;
  payload: string;
  created_at: string;
  status: DeliveryRecord["status"];
  attempts: number | string;
  next_attempt_at: number | string | null;
}

const WEBHOOK_COLUMNS = "seq, id, owner, created_at, url, events, secret, previous_secret, previous_until";
const DELIVERY_COLUMNS =
  "id, webhook_id, event_type, subject_id, payload, created_at, status, attempts, next_attempt_at";

const EventsSchema = z.array(z.enum(WEBHOOK_EVENTS));

const nullableNumber = (v: number | string | null) => (v === null ? null : Number(v));

function webhookRecord(row: WebhookRow): WebhookRecord {
  return {
    seq: Number(row.seq),
    id: row.id,
    owner: row.owner,
    createdAt: row.created_at,
    url: row.url,
    events: readStored(EventsSchema, row.events, { kind: "webhook", id: row.id, column: "events" }),
    secret: row.secret,
    previousSecret: row.previous_secret,
    previousUntil: nullableNumber(row.previous_until),
  };
}

function deliveryRecord(row: DeliveryRow): DeliveryRecord {
  return {
    id: row.id,
    webhookId: row.webhook_id,
    type: row.event_type,
    subjectId: row.subject_id,
    payload: row.payload,
    createdAt: row.created_at,
    status: row.status,
    attempts: Number(row.attempts),
    nextAttemptAt: nullableNumber(row.next_attempt_at),
  };
}

/** What ended, as a delivery names it: a job or a tuning job, its owner and when it ended. */
export interface DeliverySubject {
  id: string;
  owner: string;
  finishedAt: string | null;
}

/**
 * Writes the deliveries of an end on `tx` (the transaction that stores it: `SqlJobStore.finish`,
 * `SqlTuningStore.finish`): one per endpoint of the owner subscribed to `type`, due at once. The row
 * is unique per endpoint, event and subject, so a second call for the same end adds nothing.
 * @param payload the body to send, built from what ended (called only when an endpoint subscribes)
 */
export async function enqueueDeliveries(
  tx: SqlClient,
  ended: DeliverySubject,
  type: WebhookEventType,
  payload: () => string,
): Promise<void> {
  const rows = await tx.all<{ id: string; events: string }>(
    "SELECT id, events FROM webhooks WHERE owner = ?",
    [ended.owner],
  );
  const subscribed = rows.filter((r) => {
    try {
      return (JSON.parse(r.events) as unknown[]).includes(type);
    } catch {
      return false; // an unreadable column subscribes to nothing (GET /webhooks names it)
    }
  });
  if (subscribed.length === 0) return;
  const body = payload();
  const now = Date.now();
  for (const { id } of subscribed)
    await tx.run(
      `INSERT INTO webhook_deliveries (id, webhook_id, event_type, subject_id, payload, created_at, status, next_attempt_at)
       VALUES (?, ?, ?, ?, ?, ?, 'pending', ?)
       ON CONFLICT (webhook_id, event_type, subject_id) DO NOTHING`,
      [
        `msg_${randomBytes(12).toString("hex")}`,
        id,
        type,
        ended.id,
        body,
        ended.finishedAt ?? new Date(now).toISOString(),
        now,
      ],
    );
}

/**
 * `WebhookStore` in SQL, one text for SQLite (embedded) and PostgreSQL (distributed). Ownership
 * as the other stores: a method given an owner sees only that owner's webhooks. A claim is an
 * `UPDATE … WHERE next_attempt_at = <the value read>`: of two senders, one changes the row.
 */
export class SqlWebhookStore implements WebhookStore {
  constructor(private readonly db: SqlDriver) {}

  async insert(webhook: Omit<WebhookRecord, "seq">): Promise<WebhookRecord> {
    await this.db.run(
      `INSERT INTO webhooks (id, owner, created_at, url, events, secret, previous_secret, previous_until)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
      [
        webhook.id,
        webhook.owner,
        webhook.createdAt,
        webhook.url,
        JSON.stringify(webhook.events),
        webhook.secret,
        webhook.previousSecret,
        webhook.previousUntil,
      ],
    );
    return (await this.get(webhook.id))!;
  }

  async get(id: string, owner?: string): Promise<WebhookRecord | undefined> {
    const row = first(
      await this.db.all<WebhookRow>(`SELECT ${WEBHOOK_COLUMNS} FROM webhooks WHERE id = ?`, [id]),
    );
    return row && (owner === undefined || row.owner === owner) ? webhookRecord(row) : undefined;
  }

  async list(owner: string): Promise<WebhookRecord[]> {
    const rows = await this.db.all<WebhookRow>(
      `SELECT ${WEBHOOK_COLUMNS} FROM webhooks WHERE owner = ? ORDER BY seq DESC`,
      [owner],
    );
    return rows.map(webhookRecord);
  }

  async count(owner: string): Promise<number> {
    const [row] = await this.db.all<{ n: number | string }>(
      "SELECT count(*) AS n FROM webhooks WHERE owner = ?",
      [owner],
    );
    return Number(row!.n);
  }

  async delete(id: string, owner: string): Promise<boolean> {
    return (await this.db.run("DELETE FROM webhooks WHERE id = ? AND owner = ?", [id, owner])) > 0;
  }

  async rotate(
    id: string,
    owner: string,
    secret: string,
    previousUntil: number,
  ): Promise<WebhookRecord | undefined> {
    const changed = await this.db.run(
      `UPDATE webhooks SET previous_secret = secret, previous_until = ?, secret = ? WHERE id = ? AND owner = ?`,
      [previousUntil, secret, id, owner],
    );
    return changed > 0 ? this.get(id, owner) : undefined;
  }

  async deliveries(
    webhookId: string,
    limit: number,
  ): Promise<{ delivery: DeliveryRecord; attempts: AttemptRecord[] }[]> {
    const rows = await this.db.all<DeliveryRow>(
      `SELECT ${DELIVERY_COLUMNS} FROM webhook_deliveries WHERE webhook_id = ? ORDER BY seq DESC LIMIT ?`,
      [webhookId, limit],
    );
    const out = [];
    for (const row of rows) {
      const attempts = await this.db.all<{
        attempt: number;
        at: string;
        status_code: number | null;
        outcome: string;
      }>(
        "SELECT attempt, at, status_code, outcome FROM webhook_attempts WHERE delivery_id = ? ORDER BY attempt",
        [row.id],
      );
      out.push({
        delivery: deliveryRecord(row),
        attempts: attempts.map((a) => ({
          attempt: Number(a.attempt),
          at: a.at,
          statusCode: nullableNumber(a.status_code),
          outcome: a.outcome,
        })),
      });
    }
    return out;
  }

  async claimDue(
    now: number,
    leaseUntil: number,
    limit: number,
    perWebhook?: PerWebhookLimit,
  ): Promise<ClaimedDelivery[]> {
    const max = perWebhook?.max ?? Number.MAX_SAFE_INTEGER;
    const busy = perWebhook?.busy ?? new Map<string, number>();
    const full = [...busy].filter(([, n]) => n >= max).map(([id]) => id);
    // The first `max` due of each endpoint (an endpoint's backlog does not hide the others'),
    // none of an endpoint already at `max`.
    const due = await this.db.all<DeliveryRow & WebhookRow & { webhook_url: string }>(
      `SELECT d.id, d.webhook_id, d.event_type, d.subject_id, d.payload, d.created_at, d.status, d.attempts,
              d.next_attempt_at, w.url AS webhook_url, w.secret, w.previous_secret, w.previous_until
       FROM (SELECT *, ROW_NUMBER() OVER (PARTITION BY webhook_id ORDER BY next_attempt_at, seq) AS due_rank
             FROM webhook_deliveries WHERE status = 'pending' AND next_attempt_at <= ?) d
       JOIN webhooks w ON w.id = d.webhook_id
       WHERE d.due_rank <= ?${full.length > 0 ? ` AND d.webhook_id NOT IN (${full.map(() => "?").join(", ")})` : ""}
       ORDER BY d.next_attempt_at, d.seq LIMIT ?`,
      [now, Math.min(max, limit), ...full, limit],
    );
    const claimed: ClaimedDelivery[] = [];
    const taken = new Map(busy);
    for (const row of due) {
      const n = taken.get(row.webhook_id) ?? 0;
      if (n >= max) continue; // the endpoint has room for fewer than its `max`
      const changed = await this.db.run(
        "UPDATE webhook_deliveries SET next_attempt_at = ? WHERE id = ? AND status = 'pending' AND next_attempt_at = ?",
        [leaseUntil, row.id, row.next_attempt_at],
      );
      if (changed === 0) continue; // another sender took it
      const previousUntil = nullableNumber(row.previous_until);
      const secrets = [row.secret];
      if (row.previous_secret !== null && previousUntil !== null && previousUntil > now)
        secrets.push(row.previous_secret);
      claimed.push({ ...deliveryRecord(row), nextAttemptAt: leaseUntil, url: row.webhook_url, secrets });
      taken.set(row.webhook_id, n + 1);
    }
    return claimed;
  }

  recordAttempt(id: string, result: AttemptResult): Promise<void> {
    return this.db.transaction(async (tx) => {
      const [row] = await tx.all<{ attempts: number | string }>(
        "SELECT attempts FROM webhook_deliveries WHERE id = ?",
        [id],
      );
      if (!row) return; // its webhook was deleted meanwhile
      const attempt = Number(row.attempts) + 1;
      await tx.run(
        "INSERT INTO webhook_attempts (delivery_id, attempt, at, status_code, outcome) VALUES (?, ?, ?, ?, ?)",
        [id, attempt, result.at, result.statusCode, result.outcome.slice(0, MAX_OUTCOME_LENGTH)],
      );
      const status = result.delivered ? "delivered" : result.retryAt === null ? "failed" : "pending";
      await tx.run(
        "UPDATE webhook_deliveries SET attempts = ?, status = ?, next_attempt_at = ? WHERE id = ?",
        [attempt, status, status === "pending" ? result.retryAt : null, id],
      );
    });
  }

  deleteFinishedBefore(cutoff: string): Promise<number> {
    return this.db.run("DELETE FROM webhook_deliveries WHERE status <> 'pending' AND created_at < ?", [
      cutoff,
    ]);
  }

  async release(id: string, at: number): Promise<void> {
    await this.db.run(
      "UPDATE webhook_deliveries SET next_attempt_at = ? WHERE id = ? AND status = 'pending'",
      [at, id],
    );
  }
}
