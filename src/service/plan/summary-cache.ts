import type { ModelSummary } from "../../engine/index.js";

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
 */
export class SummaryCache {
  private readonly entries = new Map<string, ModelSummary>();

  constructor(private readonly capacity: number) {}

  /**
   * The summary of `spec` checked against `maxParams`, from the cache or from `describe` (whose
   * errors propagate uncached).
   * @param spec the model spec as the request holds it (JSON data: what `JSON.stringify` keys)
   */
  get(spec: unknown, maxParams: number, describe: () => ModelSummary): ModelSummary {
    const key = `${maxParams} ${JSON.stringify(spec)}`;
    const hit = this.entries.get(key);
    if (hit !== undefined) {
      // Most recently used last: Map iteration order is insertion order.
      this.entries.delete(key);
      this.entries.set(key, hit);
      return hit;
    }
    const summary = deepFreeze(describe());
    this.entries.set(key, summary);
    if (this.entries.size > this.capacity) this.entries.delete(this.entries.keys().next().value!);
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
