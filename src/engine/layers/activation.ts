import { nativeKernels } from "../native.js";
import type { ActivationName } from "../spec.js";
import type { Floats } from "../tensor.js";
import { elementwiseBackward, elementwiseForward } from "./elementwise.js";
import { ShapePreservingLayer } from "./layer.js";

/** Arrays shorter than this run relu in TypeScript: a native call costs about as much as 64 values. */
export const NATIVE_RELU_MIN = 64;

/** Logistic sigmoid `S(x) = 1 / (1 + e^−x)`, evaluated without overflow for large |x|. */
export function sigmoid(x: number): number {
  if (x >= 0) return 1 / (1 + Math.exp(-x));
  const e = Math.exp(x);
  return e / (1 + e);
}

/**
 * Applies `activation` to `x` `[batch, ...shape]` into `y`. Softmax works on the last axis
 * and subtracts the row maximum first, so logits of ±1000 stay finite. The activations of
 * docs/backprop.md §13.1 are in `elementwise.ts`.
 */
export function activate(activation: ActivationName, x: Floats, y: Floats, lastAxis: number): void {
  const n = x.length;
  switch (activation) {
    case "linear":
      y.set(x);
      return;
    case "sigmoid":
      for (let i = 0; i < n; i++) y[i] = sigmoid(x[i]!);
      return;
    case "tanh":
      for (let i = 0; i < n; i++) y[i] = Math.tanh(x[i]!);
      return;
    case "relu": {
      // Natively (native/layers.cc) above a few vectors' worth: the same Math.max, without branches.
      const native = n >= NATIVE_RELU_MIN ? nativeKernels() : null;
      if (native?.reluForward) {
        native.reluForward(x, y);
        return;
      }
      // NaN stays NaN (so divergence is seen), as tf.relu.
      for (let i = 0; i < n; i++) {
        const v = x[i]!;
        y[i] = Math.max(v, 0);
      }
      return;
    }
    case "softmax":
      for (let o = 0; o < n; o += lastAxis) {
        let max = Number.NEGATIVE_INFINITY;
        for (let j = 0; j < lastAxis; j++) if (x[o + j]! > max) max = x[o + j]!;
        let sum = 0;
        for (let j = 0; j < lastAxis; j++) {
          const e = Math.exp(x[o + j]! - max);
          y[o + j] = e;
          sum += e;
        }
        for (let j = 0; j < lastAxis; j++) y[o + j]! /= sum;
      }
      return;
    default:
      elementwiseForward(activation, x, y);
  }
}

/**
 * What a softmax over logits `[batch, k]` computes on the way to its output, per row r: the
 * maximum `max[r]`, the exponentials `e[r·k + j] = exp(z_j − max)` (as doubles) and their sum
 * `sum[r]`, added in j order. `softmaxKeepingRows` leaves them; the fused categorical
 * cross-entropy (`softmaxCrossentropyFromRows`) starts from them instead of taking them again.
 */
export interface SoftmaxRows {
  e: Float64Array;
  max: Float64Array;
  sum: Float64Array;
}

/**
 * `activate("softmax", x, y, k)` over `batch` rows (the same operations, so the same bits),
 * keeping each row's maximum, exponentials and sum in `rows`.
 */
export function softmaxKeepingRows(x: Floats, y: Floats, batch: number, k: number, rows: SoftmaxRows): void {
  const { e, max: maxes, sum: sums } = rows;
  for (let r = 0, o = 0; r < batch; r++, o += k) {
    let max = Number.NEGATIVE_INFINITY;
    for (let j = 0; j < k; j++) if (x[o + j]! > max) max = x[o + j]!;
    let sum = 0;
    for (let j = 0; j < k; j++) {
      const v = Math.exp(x[o + j]! - max);
      e[o + j] = v;
      y[o + j] = v;
      sum += v;
    }
    for (let j = 0; j < k; j++) y[o + j]! /= sum;
    maxes[r] = max;
    sums[r] = sum;
  }
}

/** Activations whose derivative `activateBackward` takes from the input `x` rather than the output. */
export function needsInput(activation: ActivationName): boolean {
  return !(
    activation === "linear" ||
    activation === "sigmoid" ||
    activation === "tanh" ||
    activation === "relu" ||
    activation === "softmax"
  );
}

/**
 * `dx` from `dy` given the activation's OUTPUT `y` (docs/backprop.md §5):
 * sigmoid `S' = S(1−S)`, tanh `1 − y²`, relu `1 if x > 0 else 0` (0 at the kink, as tf),
 * softmax the full Jacobian `∂P_j/∂x_u = P_j(δ_uj − P_u)`, i.e. `dx_u = y_u(dy_u − Σ_l dy_l y_l)`.
 * The activations of docs/backprop.md §13.1 (`needsInput`) take their derivative from the
 * forward INPUT `x`, which they then require.
 */
export function activateBackward(
  activation: ActivationName,
  y: Floats,
  dy: Floats,
  dx: Floats,
  lastAxis: number,
  x?: Floats,
): void {
  const n = y.length;
  switch (activation) {
    case "linear":
      dx.set(dy);
      return;
    case "sigmoid":
      for (let i = 0; i < n; i++) {
        const s = y[i]!;
        dx[i] = dy[i]! * s * (1 - s);
      }
      return;
    case "tanh":
      for (let i = 0; i < n; i++) {
        const t = y[i]!;
        dx[i] = dy[i]! * (1 - t * t);
      }
      return;
    case "relu": {
      const native = n >= NATIVE_RELU_MIN ? nativeKernels() : null;
      if (native?.reluBackward) native.reluBackward(y, dy, dx);
      else for (let i = 0; i < n; i++) dx[i] = y[i]! > 0 ? dy[i]! : 0;
      return;
    }
    case "softmax":
      for (let o = 0; o < n; o += lastAxis) {
        let dot = 0;
        for (let l = 0; l < lastAxis; l++) dot += dy[o + l]! * y[o + l]!;
        for (let u = 0; u < lastAxis; u++) dx[o + u] = y[o + u]! * (dy[o + u]! - dot);
      }
      return;
    default:
      if (!x) throw new Error(`activateBackward(${activation}) needs the forward input`);
      elementwiseBackward(activation, x, dy, dx);
  }
}

/**
 * Work per element in element operations, where it is well above one: softmax's three passes, and
 * the measured time of the costliest §13.1 functions relative to sigmoid (gelu's erf series).
 */
const ELEMENT_COST: Partial<Record<ActivationName, number>> = { softmax: 3, softplus: 2, mish: 3, gelu: 8 };

/** An activation as a layer of its own: shape unchanged, no parameters. */
export class Activation extends ShapePreservingLayer {
  readonly type = "activation";
  private readonly lastAxis: number;
  private y: Floats = new Float64Array(0);
  /** The forward input, kept only for the activations that differentiate from it. */
  private x: Floats | undefined;
  private readonly keepInput: boolean;

  constructor(
    name: string,
    inputShape: number[],
    readonly activation: ActivationName,
  ) {
    super(name, inputShape, ELEMENT_COST[activation] ?? 1);
    this.lastAxis = inputShape[inputShape.length - 1] ?? 1;
    this.keepInput = needsInput(activation);
  }

  forward(x: Floats, batch: number): Floats {
    const y = this.out.get(batch);
    activate(this.activation, x, y, this.lastAxis);
    this.y = y;
    if (this.keepInput) this.x = x;
    return y;
  }

  backward(dy: Floats, batch: number): Floats {
    const dx = this.dx.get(batch);
    activateBackward(this.activation, this.y, dy, dx, this.lastAxis, this.x);
    return dx;
  }
}
