import type { JobEvent } from "../../store/job-store.js";
import type { EventBus, JobListener } from "../ports.js";

/**
 * The embedded mode's `EventBus`, in memory: progress events go to the listeners at once and
 * are kept until the next checkpoint stores them; a cancel reaches the runner synchronously.
 * Jobs not `open` (none running, or ended) take no events.
 */
export class LocalEventBus implements EventBus {
  private readonly pendingEvents = new Map<string, JobEvent[]>();
  private readonly listeners = new Map<string, Set<JobListener>>();
  private readonly cancelHandlers: ((jobId: string) => void)[] = [];
  /** Jobs whose events are taken (`open`). */
  private readonly open_ = new Set<string>();

  async open(jobId: string): Promise<void> {
    this.pendingEvents.delete(jobId);
    this.open_.add(jobId);
  }

  emit(jobId: string, event: JobEvent): void {
    if (!this.open_.has(jobId)) return;
    let list = this.pendingEvents.get(jobId);
    if (!list) {
      list = [];
      this.pendingEvents.set(jobId, list);
    }
    list.push(event);
    for (const l of this.listeners.get(jobId) ?? []) l(event);
  }

  async flush(): Promise<void> {}

  async pending(jobId: string, afterSeq: number): Promise<JobEvent[]> {
    return (this.pendingEvents.get(jobId) ?? []).filter((e) => e.seq > afterSeq);
  }

  async dropPending(jobId: string, upToSeq?: number): Promise<void> {
    if (upToSeq === undefined) this.open_.delete(jobId);
    const kept =
      upToSeq === undefined ? [] : (this.pendingEvents.get(jobId) ?? []).filter((e) => e.seq > upToSeq);
    if (kept.length === 0) this.pendingEvents.delete(jobId);
    else this.pendingEvents.set(jobId, kept);
  }

  discard(jobId: string): Promise<void> {
    return this.dropPending(jobId);
  }

  async publishFinal(jobId: string, event: JobEvent): Promise<void> {
    this.open_.delete(jobId);
    const set = this.listeners.get(jobId);
    this.listeners.delete(jobId);
    this.pendingEvents.delete(jobId);
    for (const l of set ?? []) l(event);
  }

  async listen(jobId: string, listener: JobListener): Promise<() => void> {
    let set = this.listeners.get(jobId);
    if (!set) {
      set = new Set();
      this.listeners.set(jobId, set);
    }
    set.add(listener);
    return () => {
      set.delete(listener);
      if (set.size === 0 && this.listeners.get(jobId) === set) this.listeners.delete(jobId);
    };
  }

  async cancel(jobId: string): Promise<void> {
    for (const handler of this.cancelHandlers) handler(jobId);
  }

  onCancel(handler: (jobId: string) => void): void {
    this.cancelHandlers.push(handler);
  }

  async start(): Promise<void> {}

  async stop(): Promise<void> {
    const all = [...this.listeners.values()];
    this.listeners.clear();
    for (const set of all) for (const l of set) l(null);
  }

  get subscribers(): number {
    let n = 0;
    for (const set of this.listeners.values()) n += set.size;
    return n;
  }
}
