import type { Model } from "./model.js";
import { type Floats, formatShape } from "./tensor.js";

/**
 * True when every value is finite. `v·0` is ±0 for finite v and NaN for NaN or ±∞, so one
 * multiply-add per value and one comparison per array, with no branch in the loop.
 */
export function allFinite(a: Floats): boolean {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * 0;
  return s === 0;
}

/** Index of the first internal layer whose output from the last forward has a non-finite value, or −1. */
export function nonFiniteOutput(model: Model): number {
  for (let i = 0; i < model.layers.length; i++) if (!allFinite(model.layerOutput(i))) return i;
  return -1;
}

/** `"Infinity at index [i, j]"`: the first non-finite element of `a` (row-major, of `shape`), for messages. */
export function describeNonFinite(a: Floats, shape: readonly number[]): string {
  let flat = 0;
  while (flat < a.length && Number.isFinite(a[flat]!)) flat++;
  const index = new Array<number>(shape.length);
  let rest = flat;
  for (let d = shape.length - 1; d >= 0; d--) {
    index[d] = rest % shape[d]!;
    rest = Math.floor(rest / shape[d]!);
  }
  return `${a[flat]} at index ${formatShape(index)}`;
}

/** The spec layer name a parameter key `"<layer>/kernel"` belongs to. */
export function layerOfKey(key: string): string {
  return key.slice(0, key.lastIndexOf("/"));
}
