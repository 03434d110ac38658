import type { $ZodType } from "zod/v4/core";

/** Bounds of an `AcceptedMemo`. */
export interface MemoLimits {
  /** Values remembered at most (the least recently used is dropped first). */
  entries: number;
  /** Characters of JSON text remembered at most, all entries together. */
  chars: number;
  /** A value whose JSON text is longer than this is never remembered. */
  entryChars: number;
}

/** What a request's `model` memo keeps: a few hundred specs, about a megabyte of their JSON. */
export const MODEL_MEMO_LIMITS: MemoLimits = { entries: 256, chars: 2 ** 20, entryChars: 2 ** 16 };

interface Entry {
  /** The value accepted, deep-frozen: a later value must equal it exactly to get `output`. */
  input: unknown;
  /** What the schema made of it, deep-frozen (shared by every request that sent the same value). */
  output: unknown;
  /** When it was last used (`AcceptedMemo`'s clock): the least recently used goes first. */
  used: number;
}

/**
 * The values a schema accepted lately and what it made of them, so that the same value sent again
 * (a client inspecting one architecture with many samples) is not validated again
 * (docs/performance.md, "/gradients"). Keyed by the value's `JSON.stringify`; a hit also needs the
 * value to equal the remembered one exactly (same keys in the same order, `Object.is` numbers):
 * the JSON text does not tell `-0` from `0`, nor an overflowed `1e999` (Infinity) from `null`.
 * Only accepted values are kept: a rejected one is validated every time, so its problem answer is
 * the schema's own. Bounded by `MemoLimits`.
 */
export class AcceptedMemo {
  private readonly entries = new Map<string, Entry>();
  private chars = 0;
  private clock = 0;

  constructor(private readonly limits: MemoLimits) {}

  /** The key of `value`, or undefined when it is not to be remembered (not an object, too long, not JSON). */
  keyOf(value: unknown): string | undefined {
    if (typeof value !== "object" || value === null) return undefined;
    let key: string | undefined;
    try {
      key = JSON.stringify(value);
    } catch {
      return undefined; // a cycle or a BigInt: not a request's JSON
    }
    return key !== undefined && key.length <= this.limits.entryChars ? key : undefined;
  }

  /** What the schema made of `value` (whose key is `key`) when it accepted an equal value lately. */
  get(key: string, value: unknown): unknown {
    const hit = this.entries.get(key);
    if (hit === undefined || !sameJson(value, hit.input)) return undefined;
    hit.used = ++this.clock;
    return hit.output;
  }

  /**
   * Remembers that the schema made `output` of `value`, and returns `output` deep-frozen (so is
   * `value`: both are shared from now on). A value that is not plain JSON is not remembered.
   */
  set(key: string, value: unknown, output: unknown): unknown {
    if (!plainJson(value)) return output;
    deepFreeze(value);
    deepFreeze(output);
    if (!this.entries.has(key)) this.chars += key.length;
    this.entries.set(key, { input: value, output, used: ++this.clock });
    while (this.entries.size > this.limits.entries || this.chars > this.limits.chars) this.evict();
    return output;
  }

  /** Drops the least recently used entry (a scan: it runs only when a new value is remembered). */
  private evict(): void {
    let oldest: string | undefined;
    let at = Number.POSITIVE_INFINITY;
    for (const [key, e] of this.entries)
      if (e.used < at) {
        at = e.used;
        oldest = key;
      }
    if (oldest === undefined) return;
    this.entries.delete(oldest);
    this.chars -= oldest.length;
  }

  /** Entries held, and their characters (for the tests). */
  get size(): { entries: number; chars: number } {
    return { entries: this.entries.size, chars: this.chars };
  }
}

type ZodRun = (payload: { value: unknown; issues: unknown[] }, ctx: unknown) => unknown;

/**
 * `schema` itself, made to remember what it accepted (`AcceptedMemo`): a value equal to one it
 * accepted lately gets the same output object, deep-frozen, without being validated again; any
 * other value is validated as before (same issues, same paths), and remembered when accepted.
 * Wherever the schema is used (a field of a request body, `safeParse`) its outputs are then
 * read-only: code that would change one must copy it.
 * @returns the same schema object (its `_zod.run` wrapped), and the memo, for the tests.
 */
export function memoizeAccepted<T extends $ZodType>(schema: T, limits: MemoLimits): [T, AcceptedMemo] {
  const memo = new AcceptedMemo(limits);
  const zod = schema._zod as unknown as { run: ZodRun };
  const run = zod.run;
  zod.run = (payload, ctx) => {
    // Encoding (a codec run backwards) is not what was remembered.
    if ((ctx as { direction?: string } | undefined)?.direction === "backward") return run(payload, ctx);
    const value = payload.value;
    const key = memo.keyOf(value);
    if (key !== undefined) {
      const output = memo.get(key, value);
      if (output !== undefined) {
        payload.value = output;
        return payload;
      }
    }
    const issues = payload.issues.length;
    const result = run(payload, ctx);
    if (key === undefined || result instanceof Promise) return result;
    const done = result as { value: unknown; issues: unknown[] };
    if (done.issues.length === issues) done.value = memo.set(key, value, done.value);
    return done;
  };
  return [schema, memo];
}

/** Equal as JSON data, exactly: same keys in the same order, numbers equal by `Object.is`. */
export function sameJson(a: unknown, b: unknown): boolean {
  if (Object.is(a, b)) return true;
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return false;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!sameJson(a[i], b[i])) return false;
    return true;
  }
  if (Array.isArray(b) || Object.getPrototypeOf(a) !== Object.getPrototypeOf(b)) return false;
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  if (ka.length !== kb.length) return false;
  for (let i = 0; i < ka.length; i++) {
    const k = ka[i]!;
    if (k !== kb[i] || !sameJson((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]))
      return false;
  }
  return true;
}

/** Whether `v` is what `JSON.parse` makes: null, booleans, numbers, strings, dense arrays and plain objects of them. */
function plainJson(v: unknown): boolean {
  if (v === null || typeof v === "string" || typeof v === "number" || typeof v === "boolean") return true;
  if (typeof v !== "object") return false;
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) if (!(i in v) || !plainJson(v[i])) return false;
    return true;
  }
  if (Object.getPrototypeOf(v) !== Object.prototype) return false;
  for (const key of Object.keys(v)) {
    const d = Object.getOwnPropertyDescriptor(v, key)!;
    if (!("value" in d) || !plainJson(d.value)) return false;
  }
  return Object.getOwnPropertySymbols(v).length === 0;
}

/** Freezes `v` and everything it holds. */
export function deepFreeze<T>(v: T): T {
  if (typeof v === "object" && v !== null) {
    Object.freeze(v);
    for (const child of Object.values(v)) deepFreeze(child);
  }
  return v;
}
