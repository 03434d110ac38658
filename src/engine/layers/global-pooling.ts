import { AveragePooling2d, MaxPooling2d } from "./pooling.js";

/**
 * tfjs' `globalAveragePooling2d`: X `[batch, h, w, C]` (`channelsLast`) to Y `[batch, C]`,
 * `Y[b, c] = (1/(h·w)) Σ_{i,j} X[b, i, j, c]`; backward spreads `∂L/∂Y[b, c] / (h·w)` over every
 * cell of the channel (docs/backprop.md §17.1). It is `averagePooling2d` with one window, the whole
 * input, and its output flattened: the same sums in the same order, bit for bit.
 */
export class GlobalAveragePooling2d extends AveragePooling2d {
  override readonly type = "globalAveragePooling2d";

  /** @param inputShape `[height, width, channels]` (checked by `buildShapeLayer`). */
  constructor(name: string, inputShape: number[]) {
    const whole: [number, number] = [inputShape[0]!, inputShape[1]!];
    super(name, inputShape, whole, whole, "valid", true);
  }
}

/**
 * tfjs' `globalMaxPooling2d`: X `[batch, h, w, C]` to Y `[batch, C]`, `Y[b, c] = max_{i,j}
 * X[b, i, j, c]`. It is `maxPooling2d` with one window, the whole input, and its output
 * flattened: the gradient goes to the FIRST maximum in row-major order on ties, and a NaN wins, so
 * divergence propagates (docs/backprop.md §17.1).
 */
export class GlobalMaxPooling2d extends MaxPooling2d {
  override readonly type = "globalMaxPooling2d";

  /** @param inputShape `[height, width, channels]` (checked by `buildShapeLayer`). */
  constructor(name: string, inputShape: number[]) {
    const whole: [number, number] = [inputShape[0]!, inputShape[1]!];
    super(name, inputShape, whole, whole, "valid", true);
  }
}
