import type { JobEvent } from "../store/job-store.js";

/** Receives a job's events as they happen; `null` when the stream stops without an end (shutdown). */
export type JobListener = (event: JobEvent | null) => void;

/**
 * The live side of job events, in memory. Progress events are emitted as epochs end and kept
 * here until the next checkpoint stores them (`takePending`), so a subscriber arriving in
 * between still gets them; final events are stored first, then published.
 */
export class JobEventHub {
  private readonly pending = new Map<string, JobEvent[]>();
  private readonly listeners = new Map<string, Set<JobListener>>();
  private readonly last = new Map<string, number>();

  /** The highest progress event id emitted for the job in this process, or `floor`. */
  lastSeq(jobId: string, floor = 0): number {
    return Math.max(this.last.get(jobId) ?? 0, floor);
  }

  /** Sets where the job's progress ids continue from (a resumed job: its checkpoint's epoch). */
  resetSeq(jobId: string, seq: number): void {
    this.last.set(jobId, seq);
    this.pending.delete(jobId);
  }

  /** A progress event: kept until stored, and sent to the listeners. */
  emit(jobId: string, event: JobEvent): void {
    this.last.set(jobId, Math.max(this.last.get(jobId) ?? 0, event.seq));
    let list = this.pending.get(jobId);
    if (!list) {
      list = [];
      this.pending.set(jobId, list);
    }
    list.push(event);
    for (const l of this.listeners.get(jobId) ?? []) l(event);
  }

  /** The progress events not yet stored, handed over for storing (and forgotten here). */
  takePending(jobId: string): JobEvent[] {
    const list = this.pending.get(jobId) ?? [];
    this.pending.delete(jobId);
    return list;
  }

  /** The progress events not yet stored, after `afterSeq` (for a new subscriber's backlog). */
  peekPending(jobId: string, afterSeq: number): JobEvent[] {
    return (this.pending.get(jobId) ?? []).filter((e) => e.seq > afterSeq);
  }

  /** A job's final event (already stored): sent to the listeners, who are then dropped. */
  finish(jobId: string, event: JobEvent): void {
    const set = this.listeners.get(jobId);
    this.listeners.delete(jobId);
    this.pending.delete(jobId);
    this.last.delete(jobId);
    for (const l of set ?? []) l(event);
  }

  listen(jobId: string, listener: JobListener): () => void {
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

  /** Ends every stream without a final event (the service is stopping; clients reconnect later). */
  closeAll(): void {
    const all = [...this.listeners.values()];
    this.listeners.clear();
    for (const set of all) for (const l of set) l(null);
  }

  /** Open streams, for the metrics. */
  get subscribers(): number {
    let n = 0;
    for (const set of this.listeners.values()) n += set.size;
    return n;
  }
}
