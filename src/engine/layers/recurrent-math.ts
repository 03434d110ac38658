import type { CellActivationName } from "../spec-recurrent.js";
import type { Floats } from "../tensor.js";
import { sigmoid } from "./activation.js";
import { type ElementwiseName, elementwiseBackward, elementwiseForward } from "./elementwise.js";

/**
 * Element-wise activations over a range of an array, for the recurrent cells (docs/backprop.md
 * §22.1): a gate is a run of `units` values inside a row of `[batch, gates·units]`, so the
 * activations work on `[start, start + n)` in place of whole arrays. The formulas and the
 * one-sided derivatives at kinks are those of docs/backprop.md §5 and §13.1, the same as the
 * activation layer's; the §13.1 ones go through `elementwise.ts` one value at a time.
 */

/** The activations a recurrent cell takes: every element-wise one (softmax is row-wise). */
export type CellActivation = CellActivationName;

/** One value in, one out: scratch for the §13.1 functions, which work on arrays. */
class Scalar {
  private readonly x = new Float64Array(1);
  private readonly y = new Float64Array(1);
  private readonly d = new Float64Array(1);
  f(name: ElementwiseName, v: number): number {
    this.x[0] = v;
    elementwiseForward(name, this.x, this.y);
    return this.y[0]!;
  }
  df(name: ElementwiseName, v: number, g: number): number {
    this.x[0] = v;
    this.d[0] = g;
    elementwiseBackward(name, this.x, this.d, this.y);
    return this.y[0]!;
  }
}
const scalar = new Scalar();

/** `a[aOff + k] = f(z[zOff + k])` for k in `[0, n)`. */
export function actRange(
  name: CellActivation,
  z: Floats,
  zOff: number,
  a: Floats,
  aOff: number,
  n: number,
): void {
  const d = aOff - zOff;
  const end = zOff + n;
  switch (name) {
    case "linear":
      for (let i = zOff; i < end; i++) a[i + d] = z[i]!;
      return;
    case "tanh":
      for (let i = zOff; i < end; i++) a[i + d] = Math.tanh(z[i]!);
      return;
    case "sigmoid":
      for (let i = zOff; i < end; i++) a[i + d] = sigmoid(z[i]!);
      return;
    case "hardSigmoid":
      for (let i = zOff; i < end; i++) a[i + d] = Math.min(1, Math.max(0, 0.2 * z[i]! + 0.5));
      return;
    case "relu":
      for (let i = zOff; i < end; i++) a[i + d] = Math.max(z[i]!, 0);
      return;
    default:
      for (let i = zOff; i < end; i++) a[i + d] = scalar.f(name, z[i]!);
  }
}

/**
 * `g · f'(z)` for one value, from the input `z` and the output `a = f(z)`: tanh `1 − a²`,
 * sigmoid `a(1 − a)`, hardSigmoid 0.2 where `0.2z + 0.5 ∈ [0, 1]`, relu 1 for z > 0
 * (docs/backprop.md §5, §13.1).
 */
export function actGrad(name: CellActivation, z: number, a: number, g: number): number {
  switch (name) {
    case "linear":
      return g;
    case "tanh":
      return g * (1 - a * a);
    case "sigmoid":
      return g * a * (1 - a);
    case "hardSigmoid": {
      const p = 0.2 * z + 0.5;
      return p >= 0 && p <= 1 ? 0.2 * g : 0;
    }
    case "relu":
      return a > 0 ? g : 0;
    default:
      return scalar.df(name, z, g);
  }
}
