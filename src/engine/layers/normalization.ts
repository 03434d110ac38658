import { EngineError } from "../errors.js";
import { formatShape } from "../tensor.js";

/**
 * What batch and layer normalisation share (docs/backprop.md §19): resolving Keras' axes, which
 * count the batch axis as 0, and a check of the numbers every normalisation takes.
 */

/**
 * A Keras axis of `[batch, ...inShape]` as an index into `inShape` (0-based), or undefined when it
 * is not an integer, is the batch axis (0, or `-(rank + 1)`) or lies outside. Negative axes count
 * from the end: -1 is the last.
 */
export function sampleAxis(axis: unknown, rank: number): number | undefined {
  if (typeof axis !== "number" || !Number.isInteger(axis)) return undefined;
  const full = axis < 0 ? axis + rank + 1 : axis;
  return full >= 1 && full <= rank ? full - 1 : undefined;
}

/**
 * The message of an axis that does not fit `inShape`.
 * @param what the layer, for the message (`"layer bn (batchNormalization)"`).
 */
export function axisError(
  what: string,
  axis: unknown,
  inShape: readonly number[],
  path: (string | number)[],
) {
  const rank = inShape.length;
  return new EngineError(
    `${what}: axis ${JSON.stringify(axis)} is not an axis of its input ${formatShape(inShape)}: counting the ` +
      `batch axis as 0 (Keras), expected an integer in [1, ${rank}] or in [-${rank}, -1] (-1 is the last); ` +
      "the batch axis cannot be normalised over",
    path,
  );
}

/**
 * Checks `epsilon` (finite, > 0) and, when given, `momentum` (in [0, 1]).
 * @throws EngineError at `["layers", i, field]`.
 */
export function checkNormalizationNumbers(
  what: string,
  i: number,
  epsilon: unknown,
  momentum?: unknown,
): void {
  if (typeof epsilon !== "number" || !Number.isFinite(epsilon) || !(epsilon > 0))
    throw new EngineError(`${what}: epsilon must be a finite number > 0, got ${JSON.stringify(epsilon)}`, [
      "layers",
      i,
      "epsilon",
    ]);
  if (
    momentum !== undefined &&
    (typeof momentum !== "number" || !Number.isFinite(momentum) || momentum < 0 || momentum > 1)
  )
    throw new EngineError(`${what}: momentum must be a number in [0, 1], got ${JSON.stringify(momentum)}`, [
      "layers",
      i,
      "momentum",
    ]);
}

/**
 * For each element of one row-major sample of `shape`, the row-major index of its coordinates
 * along `axes` (sorted, 0-based; the index over the others when `complement`). Batch
 * normalisation's channel of an element is `indexAlong(shape, [axis])`.
 */
export function indexAlong(
  shape: readonly number[],
  axes: readonly number[],
  complement = false,
): Int32Array {
  const size = shape.reduce((a, b) => a * b, 1);
  const out = new Int32Array(size);
  for (let j = 0; j < size; j++) {
    let rest = j;
    let index = 0;
    let stride = 1;
    for (let k = shape.length - 1; k >= 0; k--) {
      const d = shape[k]!;
      const c = rest % d;
      rest = (rest - c) / d;
      if (axes.includes(k) !== complement) {
        index += c * stride;
        stride *= d;
      }
    }
    out[j] = index;
  }
  return out;
}
