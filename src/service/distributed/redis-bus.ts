import { Redis } from "ioredis";
import { z } from "zod";
import type { EventBus, JobListener } from "../jobs/ports.js";
import { type JobEvent, JobEventSchema } from "../store/job-store.js";
import { redisErrors, untilReady } from "./connections.js";
import type { DistributedNames } from "./names.js";

/** How long a job's unstored events stay in Redis without a new one (a dead worker's are repeated by the next). */
const PENDING_TTL_MS = 24 * 3600 * 1000;

/** How long progress events wait to be sent to Redis together (ms). */
const EVENT_BATCH_MS = 20;

/**
 * One batch of a job's events, sent only while the job is open (KEYS[1]; KEYS[2]: its pending
 * set): kept pending and published (ARGV: TTL ms, channel, the batch as JSON, then score and
 * member pairs). A batch arriving after a cancel closed the job is dropped, so the pending set
 * the cancel deleted does not come back.
 */
const FLUSH = `
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
for i = 4, #ARGV, 1000 do
  redis.call('ZADD', KEYS[2], unpack(ARGV, i, math.min(i + 999, #ARGV)))
end
redis.call('PEXPIRE', KEYS[1], ARGV[1])
redis.call('PEXPIRE', KEYS[2], ARGV[1])
redis.call('PUBLISH', ARGV[2], ARGV[3])
return 1`;

/** A running job's events on their way out. */
interface Outbox {
  events: JobEvent[];
  timer: NodeJS.Timeout | undefined;
  /** The batch being sent, if any. */
  sending: Promise<void> | undefined;
}

/**
 * The distributed mode's `EventBus` over Redis: a job's pending events in a sorted set (score:
 * the event id) kept only while its "open" key is there, its live events on its pub/sub channel (progress in batches of EVENT_BATCH_MS,
 * the final event alone), cancels on one channel every worker listens to.
 */
export class RedisEventBus implements EventBus {
  private readonly pub: Redis;
  private readonly sub: Redis;
  private readonly listeners = new Map<string, Set<JobListener>>();
  private readonly outboxes = new Map<string, Outbox>();
  private readonly cancelHandlers: ((jobId: string) => void)[] = [];
  private readonly errors: ReturnType<typeof redisErrors>;

  constructor(
    private readonly redisUrl: string,
    private readonly names: DistributedNames,
    log?: Parameters<typeof redisErrors>[0],
  ) {
    this.pub = new Redis(redisUrl, { maxRetriesPerRequest: null });
    this.sub = new Redis(redisUrl, { maxRetriesPerRequest: null });
    this.errors = redisErrors(log, "job events");
    for (const client of [this.pub, this.sub]) client.on("error", this.errors.listener);
    this.sub.on("message", (channel: string, message: string) => {
      if (channel === names.cancelChannel) {
        for (const handler of this.cancelHandlers) handler(message);
        return;
      }
      const id = channel.slice(channel.lastIndexOf(":") + 1);
      // A runner publishes progress events in batches (an array), the final event alone.
      for (const event of eventsOf(message)) for (const l of [...(this.listeners.get(id) ?? [])]) l(event);
    });
  }

  emit(jobId: string, event: JobEvent): void {
    let box = this.outboxes.get(jobId);
    if (!box) {
      box = { events: [], timer: undefined, sending: undefined };
      this.outboxes.set(jobId, box);
    }
    box.events.push(event);
    box.timer ??= setTimeout(() => void this.flush(jobId), EVENT_BATCH_MS);
  }

  /**
   * Sends the events of the last EVENT_BATCH_MS to Redis in one transaction: kept there (until
   * the next checkpoint stores them) and published as one message, so a stream that subscribes
   * in between gets each one way or the other. One batch instead of three commands an epoch: a
   * fast job's thousands of epochs a second cost a few Redis calls.
   */
  async flush(jobId: string): Promise<void> {
    const box = this.outboxes.get(jobId);
    if (!box) return;
    clearTimeout(box.timer);
    box.timer = undefined;
    const events = box.events;
    box.events = [];
    await box.sending;
    if (events.length === 0) return;
    const members = events.flatMap((e) => [e.seq, JSON.stringify(e)]);
    box.sending = this.pub
      .eval(
        FLUSH,
        2,
        this.names.openEvents(jobId),
        this.names.pendingEvents(jobId),
        PENDING_TTL_MS,
        this.names.eventChannel(jobId),
        JSON.stringify(events),
        ...members,
      )
      .then(() => {})
      .catch(() => {});
    await box.sending;
  }

  async pending(jobId: string, afterSeq: number): Promise<JobEvent[]> {
    const texts = await this.pub.zrangebyscore(this.names.pendingEvents(jobId), `(${afterSeq}`, "+inf");
    return texts.flatMap((text) => eventsOf(text));
  }

  async open(jobId: string): Promise<void> {
    await this.pub
      .multi()
      .del(this.names.pendingEvents(jobId))
      .set(this.names.openEvents(jobId), "1", "PX", PENDING_TTL_MS)
      .exec();
  }

  async dropPending(jobId: string, upToSeq?: number): Promise<void> {
    const key = this.names.pendingEvents(jobId);
    if (upToSeq === undefined) await this.pub.del(key, this.names.openEvents(jobId));
    else await this.pub.zremrangebyscore(key, "-inf", upToSeq);
  }

  /** The outbox goes, then the job is closed and its pending set deleted, after any batch on its way. */
  async discard(jobId: string): Promise<void> {
    const box = this.outboxes.get(jobId);
    this.outboxes.delete(jobId);
    if (box) {
      clearTimeout(box.timer);
      await box.sending;
    }
    await this.dropPending(jobId);
  }

  async publishFinal(jobId: string, event: JobEvent): Promise<void> {
    const box = this.outboxes.get(jobId);
    this.outboxes.delete(jobId);
    if (box) clearTimeout(box.timer);
    await this.pub.publish(this.names.eventChannel(jobId), JSON.stringify(event));
  }

  async listen(jobId: string, listener: JobListener): Promise<() => void> {
    let set = this.listeners.get(jobId);
    if (!set) {
      set = new Set();
      this.listeners.set(jobId, set);
      await this.sub.subscribe(this.names.eventChannel(jobId));
    }
    set.add(listener);
    return () => {
      set.delete(listener);
      if (set.size === 0 && this.listeners.get(jobId) === set) {
        this.listeners.delete(jobId);
        void this.sub.unsubscribe(this.names.eventChannel(jobId)).catch(() => {});
      }
    };
  }

  async cancel(jobId: string): Promise<void> {
    await this.pub.publish(this.names.cancelChannel, jobId);
  }

  onCancel(handler: (jobId: string) => void): void {
    this.cancelHandlers.push(handler);
  }

  /** @throws Error naming REDIS_URL when Redis does not answer within CONNECT_TIMEOUT_MS. */
  async start(): Promise<void> {
    await untilReady(Promise.all([this.sub.subscribe(this.names.cancelChannel), this.pub.ping()]), {
      name: "Redis",
      variable: "REDIS_URL",
      url: this.redisUrl,
      lastError: () => this.errors.last,
    });
    this.errors.started = true;
  }

  async stop(): Promise<void> {
    const all = [...this.listeners.values()];
    this.listeners.clear();
    for (const set of all) for (const l of set) l(null);
    for (const box of this.outboxes.values()) clearTimeout(box.timer);
    this.sub.disconnect();
    this.pub.disconnect();
  }

  get subscribers(): number {
    let n = 0;
    for (const set of this.listeners.values()) n += set.size;
    return n;
  }
}

const EventBatchSchema = z.union([JobEventSchema, z.array(JobEventSchema)]);

/**
 * The events of a message or pending member (one event, or a batch), read back through the event
 * schema. A message that does not read (not ours, or cut short) is dropped rather than thrown in
 * the subscriber: the job's stored events, read on every stream's start, are the record.
 */
function eventsOf(text: string): JobEvent[] {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return [];
  }
  const parsed = EventBatchSchema.safeParse(value);
  if (!parsed.success) return [];
  return Array.isArray(parsed.data) ? parsed.data : [parsed.data];
}
