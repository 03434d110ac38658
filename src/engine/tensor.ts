/**
 * A dense, row-major tensor: a shape plus `product(shape)` values, a `Float64Array` or, in a
 * float32 run, a `Float32Array` (docs/precision.md). When a batch is present it is the first axis.
 */
export interface Tensor {
  shape: number[];
  data: Floats;
}

/**
 * The element type a run computes in: `float64` (the default, for exactness) or `float32`
 * (IEEE single precision: every stored value rounded to float32; docs/precision.md).
 */
export type Dtype = "float32" | "float64";

/** The typed arrays the engine computes on: one per `Dtype`. */
export type Floats = Float64Array | Float32Array;

/** A zero-filled array of `n` values of `dtype`: the one place the engine picks an array type. */
export function floats(dtype: Dtype, n: number): Floats {
  return dtype === "float32" ? new Float32Array(n) : new Float64Array(n);
}

/** The dtype of an array the engine computes on. */
export function dtypeOf(a: Floats): Dtype {
  return a instanceof Float32Array ? "float32" : "float64";
}

/** `n` zeros of the same dtype as `a`: for state kept beside a parameter (moments, snapshots). */
export function floatsLike(a: Floats, n: number = a.length): Floats {
  return floats(dtypeOf(a), n);
}

/** A copy of `a` as `dtype`: values rounded to float32 for `float32` (docs/precision.md §1). */
export function toFloats(dtype: Dtype, a: ArrayLike<number>): Floats {
  return dtype === "float32" ? Float32Array.from(a) : Float64Array.from(a);
}

/**
 * The dtype layers allocate in while a model is built (`buildingIn`); float64 otherwise. Layer
 * constructors and their reusable buffers read it once, when they are created (`layerFloats`),
 * so a model's dtype need not be threaded through every layer's constructor.
 */
let buildDtype: Dtype = "float64";

/** Runs `build` with `dtype` as the dtype layers allocate in (`layerFloats`), then restores it. */
export function buildingIn<T>(dtype: Dtype, build: () => T): T {
  const was = buildDtype;
  buildDtype = dtype;
  try {
    return build();
  } finally {
    buildDtype = was;
  }
}

/** The dtype of the model being built (float64 outside `buildingIn`). */
export function buildingDtype(): Dtype {
  return buildDtype;
}

/** `n` zeros in the dtype of the model being built: what layer constructors allocate with. */
export function layerFloats(n: number): Floats {
  return floats(buildDtype, n);
}

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

/** A zero-filled tensor of `shape` (float64 unless `dtype` says otherwise). */
export function zeros(shape: readonly number[], dtype: Dtype = "float64"): Tensor {
  return { shape: [...shape], data: floats(dtype, sizeOf(shape)) };
}

/** A deep copy of `t` (shape and data, in the same dtype). */
export function cloneTensor(t: Tensor): Tensor {
  return { shape: [...t.shape], data: t.data.slice() };
}

/** Formats a shape as `[a, b, c]` for error messages. */
export function formatShape(shape: readonly number[]): string {
  return `[${shape.join(", ")}]`;
}
