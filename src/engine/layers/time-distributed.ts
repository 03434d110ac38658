import type { Floats } from "../tensor.js";
import type { Dense } from "./dense.js";
import type { Layer, Param, SampleValues } from "./layer.js";

/**
 * A dense layer applied to every step with the same weights (docs/backprop.md §23.2), as
 * tfjs-layers' `TimeDistributed`: X `[batch, T, features]` is, row-major, the `[batch·T, features]`
 * matrix of all steps' inputs, so forward is the dense layer's one product `X·W + b` over
 * `batch·T` rows → `[batch, T, units]`, and backward its gradients summed over batch and steps
 * (`∂L/∂W = Xᵀ·∂L/∂Y` over all rows). The dense layer carries this layer's name, so its weights are
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
  private readonly steps: number;

  /** @param dense built on `[features]` and named as this layer. */
  constructor(
    readonly name: string,
    steps: number,
    readonly dense: Dense,
  ) {
    this.steps = steps;
    this.inputShape = [steps, ...dense.inputShape];
    this.outputShape = [steps, ...dense.outputShape];
    this.forwardCost = steps * dense.forwardCost;
    this.sampleValues = {
      forward: steps * dense.sampleValues.forward,
      backward: steps * dense.sampleValues.backward,
    };
  }

  params(): Param[] {
    return this.dense.params();
  }

  /** @param x `[batch, T, features]` @returns `[batch, T, units]` */
  forward(x: Floats, batch: number): Floats {
    return this.dense.forward(x, batch * this.steps);
  }

  /** ADDS into the kernel's and bias's gradients. @returns ∂L/∂X `[batch, T, features]` */
  backward(dy: Floats, batch: number, needInputGrad = true): Floats {
    return this.dense.backward(dy, batch * this.steps, needInputGrad);
  }
}
