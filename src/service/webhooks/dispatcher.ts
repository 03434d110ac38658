import type { ClaimedDelivery, WebhookStore } from "../store/webhook-store.js";
import type { AddressPolicy } from "./address.js";
import { type SendResult, sendDelivery } from "./deliver.js";

/** The part of pino the dispatcher uses. */
export interface DispatchLogger {
  info(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export interface DispatcherOptions extends AddressPolicy {
  /** Delays (ms) before the 2nd, 3rd, … try: a delivery is tried `delaysMs.length + 1` times at most. */
  delaysMs: readonly number[];
  /** One try's limit (WEBHOOK_TIMEOUT_MS). */
  timeoutMs: number;
  /** How often the store is asked for due deliveries. */
  pollMs: number;
  /** Deliveries sent at once by this process (WEBHOOK_CONCURRENCY; default 8). */
  concurrency?: number;
  /** Deliveries of one endpoint sent at once by this process (default 2): one slow endpoint cannot take every slot. */
  perEndpoint?: number;
  log?: DispatchLogger;
  /** The clock (ms), for tests of the schedule. */
  now?: () => number;
  /** Sends one try (tests may replace it). */
  send?: typeof sendDelivery;
}

/**
 * When the try after `tries` failed ones is due, or null when none is left: `delaysMs[tries - 1]`
 * after `now`. The default schedule (config.ts) grows from 10 s to 15 h, 23.6 hours in all.
 */
export function nextTryAt(tries: number, now: number, delaysMs: readonly number[]): number | null {
  const delay = delaysMs[tries - 1];
  return delay === undefined ? null : now + delay;
}

/**
 * Sends due webhook deliveries, at least once each: every `pollMs` it claims due deliveries for its
 * free slots (`WebhookStore.claimDue`, which moves their next try past the try's timeout, so a
 * process that dies mid-try leaves them to be tried again), sends each at once (`sendDelivery`)
 * without waiting for the others, and records each try with the delivery's new state (`nextTryAt`).
 * At most `concurrency` tries are in flight, at most `perEndpoint` of one webhook, and never two
 * of one delivery: an endpoint that does not answer holds its own slots until its timeout, not the
 * other endpoints' deliveries. The state is all in the store: a restart, or another process on the
 * same database, carries on where this one stopped.
 */
export class WebhookDispatcher {
  private timer: NodeJS.Timeout | undefined;
  private tick: Promise<void> = Promise.resolve();
  private readonly controller = new AbortController();
  private stopped = false;
  /** Tries under way, per delivery id. */
  private readonly inFlight = new Map<string, Promise<void>>();
  /** Tries under way per webhook id. */
  private readonly perWebhook = new Map<string, number>();

  constructor(
    private readonly store: WebhookStore,
    private readonly options: DispatcherOptions,
  ) {}

  private now(): number {
    return this.options.now?.() ?? Date.now();
  }

  /** Starts polling (the first poll at once). */
  start(): void {
    const loop = () => {
      this.tick = this.claimAndSend()
        .then(() => undefined)
        .finally(() => {
          if (!this.stopped) this.timer = setTimeout(loop, this.options.pollMs).unref();
        });
    };
    loop();
  }

  /** Stops polling; tries under way are aborted and their deliveries given back, due at once (no try counted). */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    this.controller.abort();
    await this.tick;
    await Promise.all(this.inFlight.values());
  }

  /** Tries under way in this process. */
  get sending(): number {
    return this.inFlight.size;
  }

  /** One round: claims due deliveries for the free slots and sends them; resolves once those tries are recorded. */
  async poll(): Promise<void> {
    await Promise.all(await this.claimAndSend());
  }

  /** Claims due deliveries for the free slots and starts their tries; returns them (each never rejects). */
  private async claimAndSend(): Promise<Promise<void>[]> {
    const free = (this.options.concurrency ?? 8) - this.inFlight.size;
    if (free <= 0 || this.controller.signal.aborted) return [];
    let claimed: ClaimedDelivery[];
    try {
      const now = this.now();
      const lease = now + 2 * this.options.timeoutMs + 5_000;
      claimed = await this.store.claimDue(now, lease, free, {
        max: this.options.perEndpoint ?? 2,
        busy: this.perWebhook,
      });
    } catch (err) {
      this.options.log?.error({ err }, "webhook deliveries: the store failed");
      return [];
    }
    const started: Promise<void>[] = [];
    for (const d of claimed) {
      // Its lease ran out while this process still sends it: that try records the new state.
      if (this.inFlight.has(d.id)) continue;
      this.perWebhook.set(d.webhookId, (this.perWebhook.get(d.webhookId) ?? 0) + 1);
      const done = this.deliver(d)
        .catch((err: unknown) => {
          this.options.log?.error({ err, delivery: d.id }, "webhook deliveries: the store failed");
        })
        .finally(() => {
          this.inFlight.delete(d.id);
          const n = (this.perWebhook.get(d.webhookId) ?? 1) - 1;
          if (n > 0) this.perWebhook.set(d.webhookId, n);
          else this.perWebhook.delete(d.webhookId);
        });
      this.inFlight.set(d.id, done);
      started.push(done);
    }
    return started;
  }

  private async deliver(d: ClaimedDelivery): Promise<void> {
    const send = this.options.send ?? sendDelivery;
    const at = new Date(this.now()).toISOString();
    let result: SendResult;
    if (this.controller.signal.aborted) result = { statusCode: null, outcome: "aborted", delivered: false };
    else
      result = await send(d.url, d.id, d.payload, d.secrets, {
        allowInsecure: this.options.allowInsecure,
        timeoutMs: this.options.timeoutMs,
        signal: this.controller.signal,
      });
    if (this.controller.signal.aborted && !result.delivered) {
      await this.store.release(d.id, this.now());
      return;
    }
    const retryAt = result.delivered ? null : nextTryAt(d.attempts + 1, this.now(), this.options.delaysMs);
    await this.store.recordAttempt(d.id, { at, ...result, retryAt });
    this.options.log?.info(
      {
        webhook: d.webhookId,
        delivery: d.id,
        attempt: d.attempts + 1,
        outcome: result.outcome,
        ...(result.delivered ? {} : { retryAt: retryAt === null ? null : new Date(retryAt).toISOString() }),
      },
      result.delivered ? "webhook delivered" : "webhook try failed",
    );
  }
}
