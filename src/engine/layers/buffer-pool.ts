/**
 * Memory for the layers' `Buffer`s that outlives one `train()` call (docs/performance.md,
 * "train()": fresh memory costs more than the convolution that fills it). A model built by
 * `train()` dies with the call, and with it tens of megabytes of activations and gradients at the
 * evaluation chunk's 256 rows (a small CNN's); the next call would get them back from the system
 * as new pages, and the first write to each page is a page fault (about 4 ms per MB measured on
 * this project's 2-core machines, more than the whole final pass). Inside `withRecycledBuffers`,
 * every store a `Buffer` built inside it allocates is recorded, and handed back to a per-thread
 * free list when the call returns; the next call's buffers come from that list, zeroed as a fresh
 * array would be. The bits of every result are unchanged: only where the memory comes from moves.
 * A `Buffer` built outside the scope (a model that outlives it) never takes pooled memory.
 */

/** Bytes the free list keeps at most between calls (larger stores are left to the collector). */
export const POOL_MAX_BYTES = 128 * 2 ** 20;

/** Stores given back by finished scopes, for the next ones. */
const free: ArrayBuffer[] = [];
let freeBytes = 0;
/** A `withRecycledBuffers` call: the stores handed out for it, while it is open. */
export interface BufferScope {
  readonly stores: ArrayBuffer[];
  open: boolean;
}

/** The innermost open scope (undefined outside any). */
let scope: BufferScope | undefined;

/** The scope a `Buffer` built now belongs to (undefined outside any): it passes it to `takeStore`. */
export function currentScope(): BufferScope | undefined {
  return scope;
}

/**
 * A zeroed store of at least `bytes` bytes: from the free list (the smallest that fits) when
 * `owner` is an open scope, recorded there and returned to the list when that scope ends (so
 * nothing may keep it past the scope); new otherwise.
 */
export function takeStore(bytes: number, owner: BufferScope | undefined): ArrayBuffer {
  if (!owner?.open) return new ArrayBuffer(bytes);
  let best = -1;
  for (let i = 0; i < free.length; i++)
    if (free[i]!.byteLength >= bytes && (best < 0 || free[i]!.byteLength < free[best]!.byteLength)) best = i;
  let store: ArrayBuffer;
  if (best >= 0) {
    store = free[best]!;
    free.splice(best, 1);
    freeBytes -= store.byteLength;
    new Uint8Array(store).fill(0);
  } else store = new ArrayBuffer(bytes);
  owner.stores.push(store);
  return store;
}

/**
 * Runs `f` with the `Buffer`s it allocates drawn from, and then returned to, the per-thread free
 * list (up to `POOL_MAX_BYTES` kept). For a call that builds a model and lets every view of its
 * buffers go when it returns (`train`); nested scopes return their own stores when they end.
 */
export function withRecycledBuffers<T>(f: () => T): T {
  const outer = scope;
  const mine: BufferScope = { stores: [], open: true };
  scope = mine;
  try {
    return f();
  } finally {
    scope = outer;
    mine.open = false;
    // Largest first, so that the cap keeps the stores that cost the most to fault in again.
    mine.stores.sort((a, b) => b.byteLength - a.byteLength);
    for (const store of mine.stores)
      if (freeBytes + store.byteLength <= POOL_MAX_BYTES) {
        free.push(store);
        freeBytes += store.byteLength;
      }
  }
}

/** Bytes held by the free list (for tests). */
export function pooledBytes(): number {
  return freeBytes;
}
