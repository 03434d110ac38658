import type { Floats } from "../tensor.js";
import { Buffer, type Layer, type Param, type SampleValues } from "./layer.js";

/** Rows added above and below, columns left and right: `[[top, bottom], [left, right]]`. */
export type Padding2d = [[number, number], [number, number]];

/**
 * tfjs' `zeroPadding2d`: X `[batch, h, w, C]` (`channelsLast`) inside zeros, Y
 * `[batch, top + h + bottom, left + w + right, C]`; backward crops `∂L/∂Y` back to the input's
 * cells (docs/backprop.md §17.3). No parameters.
 */
export class ZeroPadding2d implements Layer {
  readonly type = "zeroPadding2d";
  readonly outputShape: number[];
  readonly forwardCost: number;
  readonly sampleValues: SampleValues;
  private readonly out: Buffer;
  private readonly dx: Buffer;

  /** @param inputShape `[height, width, channels]` (checked by `buildShapeLayer`). */
  constructor(
    readonly name: string,
    readonly inputShape: number[],
    readonly padding: Padding2d,
  ) {
    const [h, w, c] = inputShape as [number, number, number];
    const [[top, bottom], [left, right]] = padding;
    this.outputShape = [top + h + bottom, left + w + right, c];
    const outSize = this.outputShape[0]! * this.outputShape[1]! * c;
    // Every output cell is written once (a zero or a copy).
    this.forwardCost = outSize;
    this.sampleValues = { forward: outSize, backward: h * w * c };
    this.out = new Buffer(outSize);
    this.dx = new Buffer(h * w * c);
  }

  params(): Param[] {
    return [];
  }

  /** @param x `[batch, h, w, C]` @returns `[batch, outH, outW, C]` */
  forward(x: Floats, batch: number): Floats {
    const y = this.out.get(batch);
    y.fill(0);
    this.copy(x, y, batch, true);
    return y;
  }

  /** `∂L/∂X[b, i, j, c] = ∂L/∂Y[b, top + i, left + j, c]`. @returns `[batch, h, w, C]` */
  backward(dy: Floats, batch: number): Floats {
    const dx = this.dx.get(batch);
    this.copy(dx, dy, batch, false);
    return dx;
  }

  /** Copies each input row between the small array and its place in the padded one, either way. */
  private copy(small: Floats, padded: Floats, batch: number, intoPadded: boolean): void {
    const [h, w, c] = this.inputShape as [number, number, number];
    const [outH, outW] = this.outputShape as [number, number];
    const top = this.padding[0][0];
    const left = this.padding[1][0];
    const row = w * c;
    for (let b = 0; b < batch; b++)
      for (let i = 0; i < h; i++) {
        const s = (b * h + i) * row;
        const p = ((b * outH + top + i) * outW + left) * c;
        if (intoPadded) for (let k = 0; k < row; k++) padded[p + k] = small[s + k]!;
        else for (let k = 0; k < row; k++) small[s + k] = padded[p + k]!;
      }
  }
}
