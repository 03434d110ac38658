import { Activation } from "./layers/activation.js";
import type { Layer } from "./layers/layer.js";
import { MaxPooling2d } from "./layers/pooling.js";
import type { Model } from "./model.js";
import { nativeKernels } from "./native.js";
import type { ActivationName } from "./spec.js";
import { type Floats, formatShape } from "./tensor.js";

/** Arrays shorter than this are checked in TypeScript: a native call costs about as much as 256 values. */
const NATIVE_FINITE_MIN = 256;

/**
 * True when every value is finite. `v·0` is ±0 for finite v and NaN for NaN or ±∞, so one
 * multiply-add per value and one comparison per array, with no branch in the loop. Four sums
 * rather than one: each add waits only for the one four values back, not for the previous one
 * (about 4× faster on a layer's output; the check runs on every layer after every batch).
 * Natively (native/layers.cc, the same sums in vectors) on longer arrays: a convolution's output
 * is checked after every batch and cost as much as the convolution in TypeScript.
 */
export function allFinite(a: Floats): boolean {
  const native = a.length >= NATIVE_FINITE_MIN ? nativeKernels() : null;
  if (native?.allFinite) return native.allFinite(a);
  let s0 = 0;
  let s1 = 0;
  let s2 = 0;
  let s3 = 0;
  const n = a.length;
  const n4 = n - (n % 4);
  let i = 0;
  for (; i < n4; i += 4) {
    s0 += a[i]! * 0;
    s1 += a[i + 1]! * 0;
    s2 += a[i + 2]! * 0;
    s3 += a[i + 3]! * 0;
  }
  for (; i < n; i++) s0 += a[i]! * 0;
  return s0 + s1 + s2 + s3 === 0;
}

/** Activations whose output is finite whenever their input is (softmax subtracts the row maximum). */
const KEEPS_FINITE: ReadonlySet<ActivationName> = new Set(["linear", "relu", "sigmoid", "tanh", "softmax"]);

/**
 * Index of the first internal layer whose output from the last forward has a non-finite value, or −1.
 * Only outputs that can be the first non-finite one are read: not one a layer hands on as it is
 * (`flatten`, `reshape`: the layer before's, already checked), nor that of a layer whose output is
 * finite whenever its input is (max pooling, the activations of `KEEPS_FINITE`) after a layer whose
 * output was found finite. The answer is the same as checking every output.
 */
export function nonFiniteOutput(model: Model): number {
  let previous: Floats | undefined;
  for (let i = 0; i < model.layers.length; i++) {
    const out = model.layerOutput(i);
    if (out !== previous && !(i > 0 && keepsFinite(model.layers[i]!)) && !allFinite(out)) return i;
    previous = out;
  }
  return -1;
}

/**
 * Whether `layer`'s output is finite whenever its input is: max pooling and the activations of
 * `KEEPS_FINITE`, whose output `nonFiniteOutput` skips after a finite one.
 */
export function keepsFinite(layer: Layer): boolean {
  return (layer instanceof Activation && KEEPS_FINITE.has(layer.activation)) || layer instanceof MaxPooling2d;
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
