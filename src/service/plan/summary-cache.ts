import { isDeepFrozen, type ModelSummary } from "../../engine/index.js";

/**
 * The model summaries the main thread has described lately, keyed by the spec's JSON and the
 * MAX_PARAMS it was checked against (docs/performance.md, "/gradients"). Describing builds the
 * whole model (every layer, every weight allocated): on a small POST /gradients that was about
 * 6 % of the main thread's time, repeated for every request with the same spec.
 *
 * Only summaries are kept, never a model with weights: a summary is a function of the spec and
 * the limit alone, so an entry cannot be stale; a spec that differs in any value, key or key
 * order is a different key (a miss costs one description, as without the cache). Errors are not
 * kept. Entries are frozen (callers share them) and the oldest is dropped past `capacity`.
 *
 * A deep-frozen spec (the validated `model` of a request, shared by every request that sent the
 * same one: src/schemas/accepted-memo.ts) is also looked up by identity, without its JSON: it can
 * no longer change. Those entries are weak: they live as long as the spec does.
 */
export class SummaryCache {
  private readonly entries = new Map<string, ModelSummary>();
  /** By spec object, for deep-frozen specs: the MAX_PARAMS checked against, and the summary. */
  private readonly frozen = new WeakMap<object, { maxParams: number; summary: ModelSummary }>();

  constructor(private readonly capacity: number) {}

  /**
   * The summary of `spec` checked against `maxParams`, from the cache or from `describe` (whose
   * errors propagate uncached).
   * @param spec the model spec as the request holds it (JSON data: what `JSON.stringify` keys)
   */
  get(spec: unknown, maxParams: number, describe: () => ModelSummary): ModelSummary {
    const byObject = typeof spec === "object" && spec !== null ? this.frozen.get(spec) : undefined;
    if (byObject !== undefined && byObject.maxParams === maxParams) return byObject.summary;
    const key = `${maxParams} ${JSON.stringify(spec)}`;
    let summary = this.entries.get(key);
    if (summary !== undefined) {
      // Most recently used last: Map iteration order is insertion order.
      this.entries.delete(key);
      this.entries.set(key, summary);
    } else {
      summary = deepFreeze(describe());
      this.entries.set(key, summary);
      if (this.entries.size > this.capacity) this.entries.delete(this.entries.keys().next().value!);
    }
    if (typeof spec === "object" && spec !== null && isDeepFrozen(spec))
      this.frozen.set(spec, { maxParams, summary });
    return summary;
  }

  /** Entries held (for the tests). */
  get size(): number {
    return this.entries.size;
  }
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === "object" && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}
