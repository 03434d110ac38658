/**
 * The encoded exports of stored models (ONNX bytes, TensorFlow.js files), kept by model id so that
 * repeated and concurrent downloads encode a model once: encoding a 1.9M-parameter model holds the
 * event loop ~60 ms. A stored model never changes, so an entry is valid as long as its model
 * exists; the caller checks that (and its owner) before every read, which also covers a model
 * deleted by another process or by retention. Bounded in bytes, least recently used out first.
 */
export class ExportCache {
  private readonly entries = new Map<string, { value: Promise<unknown>; bytes: number }>();
  private total = 0;

  /** @param maxBytes the most the encoded files held may weigh together (a larger one is not kept). */
  constructor(private readonly maxBytes: number) {}

  /**
   * The export `kind` of model `id`: the cached one, or `encode()`'s, shared by the requests that
   * ask while it runs. A failure (a format's 422, a store error) is not kept.
   * @param size the bytes an encoded value holds
   */
  get<T>(kind: string, id: string, encode: () => Promise<T>, size: (value: T) => number): Promise<T> {
    const key = `${id} ${kind}`;
    const hit = this.entries.get(key);
    if (hit) {
      // Most recently used last: Map keeps insertion order.
      this.entries.delete(key);
      this.entries.set(key, hit);
      return hit.value as Promise<T>;
    }
    const entry = { value: encode() as Promise<unknown>, bytes: 0 };
    this.entries.set(key, entry);
    entry.value.then(
      (value) => {
        if (this.entries.get(key) !== entry) return;
        entry.bytes = size(value as T);
        this.total += entry.bytes;
        this.evict();
      },
      () => {
        if (this.entries.get(key) === entry) this.entries.delete(key);
      },
    );
    return entry.value as Promise<T>;
  }

  /** Drops every export of model `id` (it was deleted). */
  delete(id: string): void {
    for (const [key, entry] of this.entries)
      if (key.startsWith(`${id} `)) {
        this.entries.delete(key);
        this.total -= entry.bytes;
      }
  }

  /** Bytes held (encoded files whose encoding has finished). */
  get bytes(): number {
    return this.total;
  }

  private evict(): void {
    for (const [key, entry] of this.entries) {
      if (this.total <= this.maxBytes) return;
      if (entry.bytes === 0) continue; // still encoding: its requests wait for it
      this.entries.delete(key);
      this.total -= entry.bytes;
    }
  }
}
