import type { Floats, NamedTensors } from "../engine/index.js";

/**
 * Tensors written straight to JSON text, without building nested arrays first: the text is
 * exactly `JSON.stringify` of what `arrayToNested` / `namedTensorsToNested` (convert.ts) build, a
 * number as `JSON.stringify` prints it (the shortest text that reads back as the same double;
 * docs/precision.md §4) and a non-finite one as `null`.
 */

/** A number as `JSON.stringify` writes it: finite ones as `String` does (`-0` as `0`), others as `null`. */
export function numberJson(v: number): string {
  return Number.isFinite(v) ? String(v) : "null";
}

/**
 * `JSON.stringify(arrayToNested(data, shape, offset))`: nested arrays of `shape` over `data` from
 * `offset`, row-major (the scalar shape `[]` gives one number).
 */
export function arrayJson(data: Floats, shape: readonly number[], offset = 0): string {
  return shape.length === 0 ? numberJson(data[offset]!) : axisJson(data, shape, 0, offset);
}

/**
 * The nested arrays of `shape`'s axes from `axis` on, over `data` from `start`. A function of its
 * own rather than a closure: tsx names every closure it sees created (esbuild's keepNames, an
 * `Object.defineProperty` per creation, about 0.7 µs), and this one ran a dozen times per answer.
 */
function axisJson(data: Floats, shape: readonly number[], axis: number, start: number): string {
  const extent = shape[axis]!;
  let s = "[";
  if (axis === shape.length - 1)
    for (let i = 0; i < extent; i++) s += (i === 0 ? "" : ",") + numberJson(data[start + i]!);
  else {
    let block = 1;
    for (let d = axis + 1; d < shape.length; d++) block *= shape[d]!;
    for (let i = 0; i < extent; i++)
      s += (i === 0 ? "" : ",") + axisJson(data, shape, axis + 1, start + i * block);
  }
  return `${s}]`;
}

/**
 * `JSON.stringify` of an object of tensors, each through `convert` (default: the whole tensor as
 * nested arrays, as `namedTensorsToNested` makes it), keys in the object's own order.
 */
export function namedTensorsJson(
  tensors: NamedTensors,
  convert: (data: Floats, shape: readonly number[]) => string = arrayJson,
): string {
  let s = "{";
  let first = true;
  for (const key in tensors) {
    if (!Object.hasOwn(tensors, key)) continue;
    const t = tensors[key]!;
    s += `${first ? "" : ","}${JSON.stringify(key)}:${convert(t.data, t.shape)}`;
    first = false;
  }
  return `${s}}`;
}
