import { EngineError } from "../errors.js";
import type { EluSpec, LeakyReluSpec, PreluSpec, SoftmaxSpec } from "../spec.js";
import { type Floats, formatShape, layerFloats, sizeOf } from "../tensor.js";
import { Activation } from "./activation.js";
import { elementwiseBackward, elementwiseForward } from "./elementwise.js";
import { type Layer, NO_INPUT_GRAD, type Param, ShapePreservingLayer } from "./layer.js";

/** tfjs' default slope of `leakyReLU`. */
export const LEAKY_RELU_ALPHA = 0.3;

/** A parameter-free activation layer with a fixed `alpha`, differentiated from its input. */
abstract class AlphaActivation extends ShapePreservingLayer {
  /** The last `forward` input. */
  protected x: Floats = new Float64Array(0);

  constructor(
    name: string,
    inputShape: number[],
    readonly alpha: number,
  ) {
    super(name, inputShape);
  }
}

/**
 * `y = x` for x ≥ 0, `alpha·x` for x < 0; `dx = dy` for x > 0, `alpha·dy` otherwise (tfjs'
 * kernel and gradient; docs/backprop.md §13.2). Any shape, no parameters.
 */
export class LeakyRelu extends AlphaActivation {
  readonly type = "leakyReLU";

  forward(x: Floats, batch: number): Floats {
    const y = this.out.get(batch);
    const a = this.alpha;
    for (let i = 0; i < y.length; i++) {
      const v = x[i]!;
      y[i] = v < 0 ? a * v : v;
    }
    this.x = x;
    return y;
  }

  backward(dy: Floats, batch: number): Floats {
    const dx = this.dx.get(batch);
    const x = this.x;
    const a = this.alpha;
    for (let i = 0; i < dx.length; i++) dx[i] = x[i]! > 0 ? dy[i]! : a * dy[i]!;
    return dx;
  }
}

/**
 * tfjs' `elu` layer with any `alpha`: `y = x` for x > 0, `alpha·(eˣ − 1)` otherwise;
 * `dx = dy` for x > 0, `alpha·eˣ·dy` otherwise (docs/backprop.md §13.2).
 */
export class EluLayer extends AlphaActivation {
  readonly type = "elu";

  forward(x: Floats, batch: number): Floats {
    const y = this.out.get(batch);
    elementwiseForward("elu", x, y, this.alpha);
    this.x = x;
    return y;
  }

  backward(dy: Floats, batch: number): Floats {
    const dx = this.dx.get(batch);
    elementwiseBackward("elu", this.x, dy, dx, this.alpha);
    return dx;
  }
}

/** The shape of a prelu layer's `alpha` on `inShape`: the input shape, 1 along each shared axis (1-based). */
export function preluAlphaShape(inShape: readonly number[], sharedAxes: readonly number[]): number[] {
  return inShape.map((d, k) => (sharedAxes.includes(k + 1) ? 1 : d));
}

/**
 * tfjs' `prelu`: `y = x` for x > 0, `α·x` otherwise, with a trainable slope `α` (`<layer>/alpha`,
 * shaped as the input with 1 along the shared axes, broadcast over them; zeros at first).
 * Backward (docs/backprop.md §13.3): `dx = dy` for x > 0, `α·dy` otherwise;
 * `∂L/∂α_k += Σ dy·x` over the batch and the elements sharing α_k where x ≤ 0.
 */
export class Prelu extends ShapePreservingLayer {
  readonly type = "prelu";
  readonly alpha: Param;
  /** For each element of one sample, the index of its slope in `alpha`. */
  private readonly slopeOf: Int32Array;
  private x: Floats = new Float64Array(0);

  constructor(name: string, inputShape: number[], sharedAxes: readonly number[] = []) {
    super(name, inputShape);
    const size = sizeOf(inputShape);
    const shape = preluAlphaShape(inputShape, sharedAxes);
    const n = sizeOf(shape);
    this.alpha = { key: `${name}/alpha`, shape, value: layerFloats(n), grad: layerFloats(n) };
    this.slopeOf = new Int32Array(size);
    for (let i = 0; i < size; i++) {
      // Row-major coordinates of element i; the slope's index skips the shared axes.
      let rest = i;
      let index = 0;
      let stride = 1;
      for (let k = inputShape.length - 1; k >= 0; k--) {
        const d = inputShape[k]!;
        const c = rest % d;
        rest = (rest - c) / d;
        if (shape[k] !== 1) index += c * stride;
        stride *= shape[k]!;
      }
      this.slopeOf[i] = index;
    }
  }

  override params(): Param[] {
    return [this.alpha];
  }

  forward(x: Floats, batch: number): Floats {
    const y = this.out.get(batch);
    const a = this.alpha.value;
    const slope = this.slopeOf;
    const size = slope.length;
    for (let r = 0; r < batch; r++) {
      const o = r * size;
      for (let j = 0; j < size; j++) {
        const v = x[o + j]!;
        y[o + j] = v > 0 ? v : a[slope[j]!]! * v;
      }
    }
    this.x = x;
    return y;
  }

  backward(dy: Floats, batch: number, needInputGrad = true): Floats {
    const x = this.x;
    const a = this.alpha.value;
    const g = this.alpha.grad;
    const slope = this.slopeOf;
    const size = slope.length;
    // ∂L/∂α_k += Σ dy·x where x ≤ 0 (docs/backprop.md §13.3)
    for (let r = 0; r < batch; r++) {
      const o = r * size;
      for (let j = 0; j < size; j++) {
        const v = x[o + j]!;
        if (!(v > 0)) g[slope[j]!]! += dy[o + j]! * v;
      }
    }
    if (!needInputGrad) return NO_INPUT_GRAD;
    const dx = this.dx.get(batch);
    for (let r = 0; r < batch; r++) {
      const o = r * size;
      for (let j = 0; j < size; j++) {
        dx[o + j] = x[o + j]! > 0 ? dy[o + j]! : a[slope[j]!]! * dy[o + j]!;
      }
    }
    return dx;
  }
}

/** The layer types this file builds. */
export type AdvancedActivationSpec = LeakyReluSpec | PreluSpec | EluSpec | SoftmaxSpec;

/** `sharedAxes` as a list (tfjs takes a number or an array). */
function sharedAxesOf(ls: PreluSpec): number[] {
  return ls.sharedAxes === undefined
    ? []
    : typeof ls.sharedAxes === "number"
      ? [ls.sharedAxes]
      : ls.sharedAxes;
}

/** Trainable parameters a prelu layer will have on `inShape` (0 when `sharedAxes` does not fit). */
export function preluParamCount(ls: PreluSpec, inShape: readonly number[]): number {
  return sizeOf(preluAlphaShape(inShape, sharedAxesOf(ls)));
}

/**
 * Builds a `leakyReLU`, `prelu`, `elu` or `softmax` layer (a softmax layer is the softmax
 * `Activation`, so it fuses with a cross-entropy loss as the activation does).
 * @throws EngineError at `["layers", i, field]` for a `sharedAxes` outside the input's axes, a
 *   softmax `axis` other than the last, or a non-finite `alpha`.
 */
export function buildAdvancedActivation(
  ls: AdvancedActivationSpec,
  name: string,
  inShape: number[],
  i: number,
): Layer {
  const rank = inShape.length;
  switch (ls.type) {
    case "leakyReLU":
    case "elu": {
      const alpha = ls.alpha ?? (ls.type === "elu" ? 1 : LEAKY_RELU_ALPHA);
      if (!Number.isFinite(alpha))
        throw new EngineError(`alpha of layer ${name} (${ls.type}) must be a finite number`, [
          "layers",
          i,
          "alpha",
        ]);
      return ls.type === "elu" ? new EluLayer(name, inShape, alpha) : new LeakyRelu(name, inShape, alpha);
    }
    case "prelu": {
      const axes = sharedAxesOf(ls);
      for (const a of axes)
        if (!Number.isInteger(a) || a < 1 || a > rank)
          throw new EngineError(
            `sharedAxes of layer ${name} (prelu) must be axes of its input ${formatShape(inShape)} counting the batch axis as 0, i.e. integers in [1, ${rank}]; got ${a}`,
            ["layers", i, "sharedAxes"],
          );
      return new Prelu(name, inShape, axes);
    }
    case "softmax": {
      const axis = ls.axis ?? -1;
      if (axis !== -1 && axis !== rank)
        throw new EngineError(
          `layer ${name} (softmax) supports only the last axis: axis -1 or ${rank} (counting the batch axis as 0) for input ${formatShape(inShape)}; got ${axis}`,
          ["layers", i, "axis"],
        );
      return new Activation(name, inShape, "softmax");
    }
  }
}
