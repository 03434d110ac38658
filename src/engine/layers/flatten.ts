import { type Floats, sizeOf } from "../tensor.js";
import type { Layer, Param, SampleValues } from "./layer.js";

/** Reshapes `[batch, ...shape]` to `[batch, size(shape)]`; row-major data is unchanged. */
export class Flatten implements Layer {
  readonly type = "flatten";
  readonly outputShape: number[];
  readonly forwardCost = 0;
  /** A view of its input both ways: no buffer of its own. */
  readonly sampleValues: SampleValues = { forward: 0, backward: 0 };
  constructor(
    readonly name: string,
    readonly inputShape: number[],
  ) {
    this.outputShape = [sizeOf(inputShape)];
  }
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
