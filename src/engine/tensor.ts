/**
 * A dense, row-major tensor: a shape plus a `Float64Array` of `product(shape)` values.
 * When a batch is present it is the first axis.
 */
export interface Tensor {
  shape: number[];
  data: Float64Array;
}

/**
 * The element type a run computes in: `float64` (the default, for exactness) or `float32`
 * (IEEE single precision: every stored value rounded to float32; docs/precision.md).
 */
export type Dtype = "float32" | "float64";

/** The typed arrays the engine computes on: one per `Dtype`. */
export type Floats = Float64Array | Float32Array;

/** Named tensors, keyed `"<layerName>/kernel"` / `"<layerName>/bias"` (docs/backprop.md §1.1). */
export type NamedTensors = Record<string, Tensor>;

/** Number of elements of a shape (1 for the scalar shape `[]`). */
export function sizeOf(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** True when two shapes have the same rank and extents. */
export function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/** A zero-filled tensor of `shape`. */
export function zeros(shape: readonly number[]): Tensor {
  return { shape: [...shape], data: new Float64Array(sizeOf(shape)) };
}

/** A deep copy of `t` (shape and data). */
export function cloneTensor(t: Tensor): Tensor {
  return { shape: [...t.shape], data: Float64Array.from(t.data) };
}

/** Formats a shape as `[a, b, c]` for error messages. */
export function formatShape(shape: readonly number[]): string {
  return `[${shape.join(", ")}]`;
}
