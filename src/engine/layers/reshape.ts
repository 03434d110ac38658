import type { Floats } from "../tensor.js";
import type { Layer, Param, SampleValues } from "./layer.js";

/**
 * tfjs' `reshape`: `[batch, ...inputShape]` to `[batch, ...targetShape]` with the same row-major
 * data (docs/backprop.md §17.2). `outputShape` is `targetShape` with its `-1` resolved (see
 * `resolveTargetShape`); forward and backward return their argument.
 */
export class Reshape implements Layer {
  readonly type = "reshape";
  readonly forwardCost = 0;
  /** A view of its input both ways: no buffer of its own. */
  readonly sampleValues: SampleValues = { forward: 0, backward: 0 };
  constructor(
    readonly name: string,
    readonly inputShape: number[],
    readonly outputShape: number[],
  ) {}
  params(): Param[] {
    return [];
  }
  forward(x: Floats): Floats {
    return x;
  }
  backward(dy: Floats): Floats {
    return dy;
  }
}

/**
 * `targetShape` with its one `-1` (if any) replaced by what makes the sizes match, as tfjs'
 * `fixUnknownDimension` (numpy's rule).
 * @param size the input's per-sample size.
 * @returns the shape, or a sentence saying why it does not fit (more than one `-1`, an entry
 *   that is neither `-1` nor a positive integer, sizes that differ).
 */
export function resolveTargetShape(targetShape: readonly unknown[], size: number): number[] | string {
  let unknown = -1;
  let known = 1;
  for (let k = 0; k < targetShape.length; k++) {
    const d = targetShape[k];
    if (d === -1) {
      if (unknown >= 0) return "only one entry may be -1";
      unknown = k;
    } else if (typeof d === "number" && Number.isInteger(d) && d >= 1) known *= d;
    else return `entry ${k} must be -1 or a positive integer, got ${JSON.stringify(d)}`;
  }
  const shape = targetShape as number[];
  if (unknown < 0)
    return known === size ? [...shape] : `it has ${known} elements per sample, the input ${size}`;
  if (size % known !== 0)
    return `the input's ${size} elements per sample are not a multiple of ${known}, the product of the other entries`;
  return shape.map((d) => (d === -1 ? size / known : d));
}
