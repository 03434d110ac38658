import { Buffer, type Layer, type Param, type SampleValues } from "./layer.js";

/**
 * What the two global pooling layers share: X `[batch, h, w, C]` (tfjs' `channelsLast`), Y
 * `[batch, C]`, each channel pooled over all `h·w` cells; no parameters.
 */
abstract class GlobalPooling2d implements Layer {
  abstract readonly type: string;
  readonly outputShape: number[];
  readonly forwardCost: number;
  /** Output and `dx`; max pooling adds its argmax. */
  sampleValues: SampleValues;
  protected readonly out: Buffer;
  protected readonly dx: Buffer;
  /** Cells per channel, `h·w`. */
  protected readonly cells: number;
  protected readonly channels: number;

  /** @param inputShape `[height, width, channels]` (checked by `buildShapeLayer`). */
  constructor(
    readonly name: string,
    readonly inputShape: number[],
  ) {
    const [h, w, c] = inputShape as [number, number, number];
    this.cells = h * w;
    this.channels = c;
    this.outputShape = [c];
    this.forwardCost = h * w * c;
    this.out = new Buffer(c);
    this.dx = new Buffer(h * w * c);
    this.sampleValues = { forward: c, backward: h * w * c };
  }

  params(): Param[] {
    return [];
  }

  abstract forward(x: Float64Array, batch: number): Float64Array;
  abstract backward(dy: Float64Array, batch: number): Float64Array;
}

/**
 * tfjs' `globalAveragePooling2d`: `Y[b, c] = (1/(h·w)) Σ_{i,j} X[b, i, j, c]`; backward spreads
 * `∂L/∂Y[b, c] / (h·w)` over every cell of the channel (docs/backprop.md §17.1). Sums in the
 * order of `averagePooling2d` with a window of the whole input, so the two agree bit for bit.
 */
export class GlobalAveragePooling2d extends GlobalPooling2d {
  readonly type = "globalAveragePooling2d";

  /** @param x `[batch, h, w, C]` @returns `[batch, C]` */
  forward(x: Float64Array, batch: number): Float64Array {
    const y = this.out.get(batch);
    const { cells, channels: c } = this;
    for (let b = 0; b < batch; b++) {
      const o = b * c;
      const xb = b * cells * c;
      y.fill(0, o, o + c);
      for (let s = 0; s < cells; s++) {
        const at = xb + s * c;
        for (let ch = 0; ch < c; ch++) y[o + ch]! += x[at + ch]!;
      }
      for (let ch = 0; ch < c; ch++) y[o + ch]! /= cells;
    }
    return y;
  }

  /** `∂L/∂X[b, i, j, c] = ∂L/∂Y[b, c] / (h·w)`. @returns `[batch, h, w, C]` */
  backward(dy: Float64Array, batch: number): Float64Array {
    const dx = this.dx.get(batch);
    const { cells, channels: c } = this;
    const inv = 1 / cells;
    for (let b = 0; b < batch; b++) {
      const o = b * c;
      const xb = b * cells * c;
      for (let s = 0; s < cells; s++) {
        const at = xb + s * c;
        for (let ch = 0; ch < c; ch++) dx[at + ch] = dy[o + ch]! * inv;
      }
    }
    return dx;
  }
}

/**
 * tfjs' `globalMaxPooling2d`: `Y[b, c] = max_{i,j} X[b, i, j, c]`. The gradient goes to the
 * FIRST maximum in row-major order on ties, as `maxPooling2d`; a NaN wins, so divergence
 * propagates (docs/backprop.md §17.1).
 */
export class GlobalMaxPooling2d extends GlobalPooling2d {
  readonly type = "globalMaxPooling2d";
  /** Flat X index of each output's maximum (integers, exact in a double). */
  private readonly argmax: Buffer;
  private arg: Float64Array = new Float64Array(0);

  constructor(name: string, inputShape: number[]) {
    super(name, inputShape);
    this.argmax = new Buffer(this.channels);
    this.sampleValues = { ...this.sampleValues, forward: 2 * this.channels };
  }

  /** @param x `[batch, h, w, C]` @returns `[batch, C]` */
  forward(x: Float64Array, batch: number): Float64Array {
    const y = this.out.get(batch);
    const arg = this.argmax.get(batch);
    const { cells, channels: c } = this;
    for (let b = 0; b < batch; b++) {
      const o = b * c;
      const xb = b * cells * c;
      for (let ch = 0; ch < c; ch++) {
        y[o + ch] = x[xb + ch]!;
        arg[o + ch] = xb + ch;
      }
      for (let s = 1; s < cells; s++) {
        const at = xb + s * c;
        for (let ch = 0; ch < c; ch++) {
          const v = x[at + ch]!;
          // Strict `>` keeps the first maximum on ties; a NaN wins.
          if (v > y[o + ch]! || Number.isNaN(v)) {
            y[o + ch] = v;
            arg[o + ch] = at + ch;
          }
        }
      }
    }
    this.arg = arg;
    return y;
  }

  /** `∂L/∂X[argmax] = ∂L/∂Y`, 0 elsewhere. @returns `[batch, h, w, C]` */
  backward(dy: Float64Array, batch: number): Float64Array {
    const dx = this.dx.get(batch);
    dx.fill(0);
    const arg = this.arg;
    for (let o = 0; o < batch * this.channels; o++) dx[arg[o]!] = dy[o]!;
    return dx;
  }
}
