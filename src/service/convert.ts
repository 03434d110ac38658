import { type Floats, formatShape, type NamedTensors, sizeOf, type Tensor } from "../engine/index.js";
import type { NestedNumbers, NestedOutput } from "../schemas/common.js";
import { fieldError, InvalidRequestError, UnprocessableError } from "./errors.js";

/** A path into the request body, as segments (`["dataset", "x", 3]`). */
export type Path = (string | number)[];

/**
 * Writes one sample (or target) into `out` at `offset`, `size(shape)` values, row-major.
 * Accepted forms: nested arrays of exactly `shape`; a flat array of `size(shape)` numbers; a
 * bare number when `size(shape)` is 1.
 * @throws UnprocessableError naming `path` (or the deeper entry) when the value does not fit.
 */
export function writeSample(
  value: NestedNumbers,
  shape: readonly number[],
  out: Float64Array,
  offset: number,
  path: Path,
): void {
  const size = sizeOf(shape);
  if (typeof value === "number") {
    if (size !== 1)
      throw mismatch(path, `expected ${size} values (shape ${formatShape(shape)}), got one number`);
    out[offset] = value;
    return;
  }
  if (value.every((v) => typeof v === "number")) {
    if (value.length === size) {
      for (let i = 0; i < size; i++) out[offset + i] = value[i] as number;
      return;
    }
    throw mismatch(path, `expected ${size} values (shape ${formatShape(shape)}), got ${value.length}`);
  }
  // Nested: must match `shape` axis by axis.
  writeNested({ shape, size, out, at: offset, path, indices: [] }, value, 0);
}

/**
 * A nested walk's state: where the next value goes (`out[at]`), and the entries walked down to the
 * current one (`indices`), appended to `path` only for an error. The walks below are functions of
 * their own rather than closures, which tsx names (an `Object.defineProperty`) each time one is created.
 */
interface Walk {
  readonly shape: readonly number[];
  readonly size: number;
  readonly out: Float64Array;
  at: number;
  readonly path: Path;
  readonly indices: number[];
}

/** `writeSample`'s nested form: `v` is axis `axis` of the sample, on. */
function writeNested(w: Walk, v: NestedNumbers, axis: number): void {
  const { shape } = w;
  if (axis === shape.length) {
    if (typeof v !== "number")
      throw mismatch(
        [...w.path, ...w.indices],
        `expected a number (sample shape ${formatShape(shape)}), got an array`,
      );
    w.out[w.at++] = v;
    return;
  }
  const extent = shape[axis] as number;
  if (typeof v === "number" || v.length !== extent) {
    const got = typeof v === "number" ? "a number" : `${v.length} entries`;
    throw mismatch(
      [...w.path, ...w.indices],
      `expected ${extent} entries along axis ${axis} (sample shape ${formatShape(shape)}, or ${w.size} values flat), got ${got}`,
    );
  }
  for (let i = 0; i < extent; i++) {
    w.indices.push(i);
    writeNested(w, v[i] as NestedNumbers, axis + 1);
    w.indices.pop();
  }
}

function mismatch(path: Path, message: string): UnprocessableError {
  return new UnprocessableError(message, [fieldError(path, message)]);
}

/** Numbers in a nested value (iteratively: the body parser already bounds the depth). */
function leafCount(value: NestedNumbers): number {
  let count = 0;
  const stack: NestedNumbers[] = [value];
  while (stack.length > 0) {
    const v = stack.pop() as NestedNumbers;
    if (typeof v === "number") count++;
    else for (const e of v) stack.push(e);
  }
  return count;
}

/**
 * Flattens samples into one `Float64Array` of `samples.length · size(shape)` values. Every
 * sample's size is checked BEFORE the array is allocated, so a huge `shape` cannot make the
 * service allocate more than the request body actually holds.
 * @param pathOf where sample `i` sits in the request (`dataset.x[3]`)
 * @throws UnprocessableError naming the first sample that does not fit.
 */
export function samplesToArray(
  samples: readonly NestedNumbers[],
  shape: readonly number[],
  pathOf: (i: number) => Path,
): Float64Array {
  const size = sizeOf(shape);
  samples.forEach((sample, i) => {
    const count = leafCount(sample);
    if (count === size) return;
    // writeSample names the exact entry that is off; its scratch never needs more than `count`.
    writeSample(sample, shape, new Float64Array(Math.min(count, size)), 0, pathOf(i));
    throw mismatch(pathOf(i), `expected ${size} values (shape ${formatShape(shape)}), got ${count}`);
  });
  const out = new Float64Array(samples.length * size);
  for (let i = 0; i < samples.length; i++)
    writeSample(samples[i] as NestedNumbers, shape, out, i * size, pathOf(i));
  return out;
}

/** float32's largest finite value, FLT_MAX = (2 − 2⁻²³)·2¹²⁷ ≈ 3.4028235e38 (docs/precision.md §1). */
export const FLOAT32_MAX = 3.4028234663852886e38;

/**
 * Refuses a number beyond float32's range (one float32 rounds to ±Infinity: |v| ≥ FLT_MAX + half
 * an ulp, 3.4028235677973366e38; "3.4028235e38", FLT_MAX as usually written, rounds to FLT_MAX)
 * anywhere in `value`, data sent to a float32 run (docs/precision.md §1).
 * @param path where `value` sits in the request (`["dataset", "x"]`); the error names the element
 *   below it (`dataset.x[0][1]`).
 * @throws UnprocessableError at the first such element, in document order.
 */
export function checkFloat32Range(value: NestedNumbers | readonly NestedNumbers[], path: Path): void {
  // The indices down to the current element, a path built only for the one refused.
  checkRangeNested(value, path, []);
}

/** `checkFloat32Range`'s walk; `at`: the indices from `path` down to `v`. */
function checkRangeNested(v: NestedNumbers | readonly NestedNumbers[], path: Path, at: number[]): void {
  if (typeof v === "number") {
    if (beyondFloat32Range(v)) throw mismatch([...path, ...at], beyondFloat32(v));
    return;
  }
  at.push(0);
  for (let i = 0; i < v.length; i++) {
    at[at.length - 1] = i;
    checkRangeNested(v[i] as NestedNumbers, path, at);
  }
  at.pop();
}

/** The message for a value float32 cannot hold. */
export function beyondFloat32(v: number): string {
  return `${v} is beyond float32's range in a float32 run: it rounds to ${v > 0 ? "" : "-"}Infinity (the largest float32 is ${FLOAT32_MAX})`;
}

/** True for a finite number that float32 rounds to ±Infinity. */
export function beyondFloat32Range(v: number): boolean {
  return Number.isFinite(v) && !Number.isFinite(Math.fround(v));
}

/**
 * Integer class labels, one per sample (`sparseCategoricalCrossentropy`). Whether each is an
 * integer in `[0, units)` is the engine's check (it knows the model).
 * @param pathOf where label `i` sits in the request (`dataset.y[i]`)
 * @throws UnprocessableError when an entry is not a single number (or a one-element array).
 */
export function labelsToArray(labels: readonly NestedNumbers[], pathOf: (i: number) => Path): Float64Array {
  const out = new Float64Array(labels.length);
  labels.forEach((l, i) => {
    const v = typeof l === "number" ? l : l.length === 1 && typeof l[0] === "number" ? l[0] : undefined;
    if (v === undefined)
      throw mismatch(
        pathOf(i),
        "expected an integer class label (sparseCategoricalCrossentropy), got an array",
      );
    out[i] = v;
  });
  return out;
}

/**
 * A tensor from nested arrays, its shape read from the nesting (`[[1, 2], [3, 4]]` → `[2, 2]`,
 * a bare number → `[]`).
 * @throws InvalidRequestError (400) naming the entry when the arrays are ragged.
 */
export function nestedToTensor(value: NestedNumbers, path: Path): Tensor {
  const shape: number[] = [];
  for (let v: NestedNumbers = value; Array.isArray(v); v = v[0] as NestedNumbers) {
    shape.push(v.length);
    if (v.length === 0) break;
  }
  const data = new Float64Array(sizeOf(shape));
  readNested({ shape, size: data.length, out: data, at: 0, path, indices: [] }, value, 0);
  return { shape, data };
}

/** `nestedToTensor`'s walk: `v` is axis `axis` of the tensor, on. */
function readNested(w: Walk, v: NestedNumbers, axis: number): void {
  const { shape } = w;
  if (axis === shape.length) {
    if (typeof v !== "number")
      throw ragged(
        [...w.path, ...w.indices],
        `expected a number (shape ${formatShape(shape)}), got an array`,
      );
    w.out[w.at++] = v;
    return;
  }
  const extent = shape[axis] as number;
  if (typeof v === "number" || v.length !== extent) {
    const got = typeof v === "number" ? "a number" : `${v.length} entries`;
    throw ragged(
      [...w.path, ...w.indices],
      `ragged array: expected ${extent} entries along axis ${axis} like the first, got ${got}`,
    );
  }
  for (let i = 0; i < extent; i++) {
    w.indices.push(i);
    readNested(w, v[i] as NestedNumbers, axis + 1);
    w.indices.pop();
  }
}

function ragged(path: Path, message: string): InvalidRequestError {
  return new InvalidRequestError(message, [fieldError(path, message)]);
}

/** Weights keyed like `"dense_0/kernel"` → tensors; see `nestedToTensor`. */
export function nestedToNamedTensors(weights: Record<string, NestedNumbers>, path: Path): NamedTensors {
  const out: NamedTensors = {};
  for (const [key, value] of Object.entries(weights)) out[key] = nestedToTensor(value, [...path, key]);
  return out;
}

/** A finite number, or `null` for NaN/±Infinity (JSON cannot carry them). */
export function finiteOrNull(v: number): number | null {
  return Number.isFinite(v) ? v : null;
}

/**
 * Nested arrays of `shape` over `data` starting at `offset` (the scalar shape `[]` gives a
 * number). Non-finite values become `null`. A float32 tensor's values are written as the doubles
 * they are (exact: every float32 is a double; docs/precision.md §4).
 */
export function arrayToNested(data: Floats, shape: readonly number[], offset = 0): NestedOutput {
  if (shape.length === 0) return finiteOrNull(data[offset] as number);
  return buildNested(data, shape, 0, offset);
}

/** `arrayToNested`'s axes from `axis` on, over `data` from `start`. */
function buildNested(data: Floats, shape: readonly number[], axis: number, start: number): NestedOutput[] {
  const extent = shape[axis] as number;
  const row: NestedOutput[] = new Array(extent);
  if (axis === shape.length - 1)
    for (let i = 0; i < extent; i++) row[i] = finiteOrNull(data[start + i] as number);
  else {
    let block = 1;
    for (let d = axis + 1; d < shape.length; d++) block *= shape[d] as number;
    for (let i = 0; i < extent; i++) row[i] = buildNested(data, shape, axis + 1, start + i * block);
  }
  return row;
}

/** A tensor as nested arrays of its shape. */
export function tensorToNested(t: Tensor): NestedOutput {
  return arrayToNested(t.data, t.shape);
}

/** A batched tensor `[n, ...rest]` as `n` nested arrays of `rest`. */
export function batchToNested(t: Tensor): NestedOutput[] {
  const [n = 0, ...rest] = t.shape;
  const size = sizeOf(rest);
  return Array.from({ length: n }, (_, i) => arrayToNested(t.data, rest, i * size));
}

/** Named tensors as an object of nested arrays, same keys. */
export function namedTensorsToNested(tensors: NamedTensors): Record<string, NestedOutput> {
  const out: Record<string, NestedOutput> = {};
  for (const [key, t] of Object.entries(tensors)) out[key] = tensorToNested(t);
  return out;
}
