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
  if (shape.length === 0) return numberJson(data[offset]!);
  let at = offset;
  const write = (axis: number): string => {
    const extent = shape[axis]!;
    let s = "[";
    if (axis === shape.length - 1)
      for (let i = 0; i < extent; i++) s += (i === 0 ? "" : ",") + numberJson(data[at++]!);
    else for (let i = 0; i < extent; i++) s += (i === 0 ? "" : ",") + write(axis + 1);
    return `${s}]`;
  };
  return write(0);
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
