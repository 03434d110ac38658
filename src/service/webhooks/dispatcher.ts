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
  /** Deliveries sent at once by this process. */
  concurrency?: number;
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
 * Sends due webhook deliveries, at least once each: every `pollMs` it claims the deliveries due
 * (`WebhookStore.claimDue`, which moves their next try past the try's timeout, so a process that
 * dies mid-try leaves them to be tried again), sends them (`sendDelivery`), and records each try
 * with the delivery's new state (`nextTryAt`). The state is all in the store: a restart, or
 * another process on the same database, carries on where this one stopped.
 */
export class WebhookDispatcher {
  private timer: NodeJS.Timeout | undefined;
  private tick: Promise<void> = Promise.resolve();
  private readonly controller = new AbortController();
  private stopped = false;

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
      this.tick = this.poll().finally(() => {
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
  }

  /** One round: claims the due deliveries and sends them; resolves once every try is recorded. */
  async poll(): Promise<void> {
    try {
      const now = this.now();
      const lease = now + 2 * this.options.timeoutMs + 5_000;
      const claimed = await this.store.claimDue(now, lease, this.options.concurrency ?? 8);
      await Promise.all(claimed.map((d) => this.deliver(d)));
    } catch (err) {
      this.options.log?.error({ err }, "webhook deliveries: the store failed");
    }
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
