import type { Floats } from "../tensor.js";
import type { Dense } from "./dense.js";
import type { Layer, Param, SampleValues } from "./layer.js";

/**
 * A dense layer applied to every step with the same weights (docs/backprop.md §23.2), as
 * tfjs-layers' `TimeDistributed`: X `[batch, T, features]` is, row-major, the `[batch·T, features]`
 * matrix of all steps' inputs, so forward is the dense layer's one product `X·W + b` over
 * `batch·T` rows → `[batch, T, units]`, and backward its gradients summed over batch and steps
 * (`∂L/∂W = Xᵀ·∂L/∂Y` over all rows). That is what a dense layer on `[T, features]` computes
 * (docs/backprop.md §4.4), so this layer is that dense layer under the wrapper's type: the same
 * products, the same bits. The dense layer carries this layer's name, so its weights are
 * `<name>/kernel` and `<name>/bias`, tfjs' names. Its activation is a separate layer after this one.
 */
export class TimeDistributed implements Layer {
  readonly type = "timeDistributed";
  /** Each step maps to one step: a time-step mask goes on unchanged (Keras; docs/backprop.md §21.1). */
  readonly masking: "pass" = "pass";
  readonly inputShape: number[];
  readonly outputShape: number[];
  readonly forwardCost: number;
  readonly sampleValues: SampleValues;

  /** @param dense built on `[T, features]` and named as this layer. */
  constructor(
    readonly name: string,
    readonly dense: Dense,
  ) {
    this.inputShape = dense.inputShape;
    this.outputShape = dense.outputShape;
    this.forwardCost = dense.forwardCost;
    this.sampleValues = dense.sampleValues;
  }

  params(): Param[] {
    return this.dense.params();
  }

  /** @param x `[batch, T, features]` @returns `[batch, T, units]` */
  forward(x: Floats, batch: number): Floats {
    return this.dense.forward(x, batch);
  }

  /** ADDS into the kernel's and bias's gradients. @returns ∂L/∂X `[batch, T, features]` */
  backward(dy: Floats, batch: number, needInputGrad = true): Floats {
    return this.dense.backward(dy, batch, needInputGrad);
  }
}
