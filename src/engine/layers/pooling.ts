import { type WindowGeometry, windowGeometry } from "../im2col.js";
import { nativeKernels } from "../native.js";
import { NativeGeometry } from "../native-conv.js";
import type { Floats } from "../tensor.js";
import { Activation } from "./activation.js";
import { Buffer, IndexBuffer, type Layer, type Param, type SampleValues } from "./layer.js";

/**
 * What the two pooling layers share: the window geometry (as conv2d's), the output and `dx`
 * buffers, and no parameters. X `[batch, inH, inW, C]`, Y `[batch, outH, outW, C]`; each
 * channel is pooled on its own.
 *
 * Padding (`same`) only places the windows: padded cells are never read, so a window at the
 * border pools over fewer cells (TensorFlow's MaxPool/AvgPool do the same).
 */
abstract class Pooling2d implements Layer {
  abstract readonly type: string;
  readonly outputShape: number[];
  readonly geometry: WindowGeometry;
  readonly forwardCost: number;
  /** Output and `dx`; max pooling adds its argmax (see `MaxPooling2d`). */
  sampleValues: SampleValues;
  protected readonly out: Buffer;
  protected readonly dx: Buffer;
  /**
   * The window of output row `oy` covers the real input rows `[rowFrom[oy], rowTo[oy])`, that of
   * output column `ox` the real columns `[colFrom[ox], colTo[ox])`: padding clipped away, each at
   * least one cell (`axisGeometry`). Computed once; every pass walks the windows with them.
   */
  protected readonly rowFrom: Int32Array;
  protected readonly rowTo: Int32Array;
  protected readonly colFrom: Int32Array;
  protected readonly colTo: Int32Array;

  /**
   * @param inputShape `[height, width, channels]`, validated so the output is at least 1×1
   *   (see `buildConvLayer`).
   * @param flat the output shape `[C]` instead of `[1, 1, C]` (the global poolings, whose one
   *   window is the whole input): the same values in the same order.
   */
  constructor(
    readonly name: string,
    readonly inputShape: number[],
    poolSize: [number, number],
    strides: [number, number],
    padding: "valid" | "same",
    flat = false,
  ) {
    const g = windowGeometry(inputShape, poolSize, strides, padding);
    this.geometry = g;
    this.outputShape = flat ? [g.channels] : [g.outH, g.outW, g.channels];
    this.forwardCost = g.outH * g.outW * g.channels * poolSize[0] * poolSize[1];
    this.out = new Buffer(g.outH * g.outW * g.channels);
    this.dx = new Buffer(g.inH * g.inW * g.channels);
    this.sampleValues = { forward: g.outH * g.outW * g.channels, backward: g.inH * g.inW * g.channels };
    const clip = (n: number, stride: number, pad: number, k: number, size: number) => {
      const from = new Int32Array(n);
      const to = new Int32Array(n);
      for (let i = 0; i < n; i++) {
        const start = i * stride - pad;
        from[i] = Math.max(start, 0);
        to[i] = Math.min(start + k, size);
      }
      return [from, to] as const;
    };
    [this.rowFrom, this.rowTo] = clip(g.outH, g.strideH, g.padTop, g.kH, g.inH);
    [this.colFrom, this.colTo] = clip(g.outW, g.strideW, g.padLeft, g.kW, g.inW);
  }

  params(): Param[] {
    return [];
  }

  abstract forward(x: Floats, batch: number): Floats;
  abstract backward(dy: Floats, batch: number): Floats;
}

/**
 * Max pooling: `Y[b, oy, ox, c]` is the largest X in the window. Its gradient goes to one input
 * per window, the FIRST maximum in row-major scan order on ties, as TensorFlow's MaxPoolGrad
 * (and tfjs' `maxPoolPositions`, strict `>`); overlapping windows (stride < pool) add up.
 * A NaN in a window wins, so divergence propagates (docs/backprop.md §8.1).
 */
export class MaxPooling2d extends Pooling2d {
  readonly type: string = "maxPooling2d";
  /**
   * Flat X index of each output's maximum: Int32Array while the batch's X has fewer than 2³¹
   * values, Float64Array (integers, exact in a double) past that.
   */
  private readonly argmax: IndexBuffer;
  private readonly argmaxWide: Buffer;
  private arg: Int32Array | Float64Array = new Int32Array(0);
  /** The last forward pass's output (`backwardThrough` gates relu's gradient with it). */
  private y: Floats = new Float64Array(0);
  private readonly nativeGeometry: NativeGeometry;

  constructor(
    name: string,
    inputShape: number[],
    poolSize: [number, number],
    strides: [number, number],
    padding: "valid" | "same",
    flat = false,
  ) {
    super(name, inputShape, poolSize, strides, padding, flat);
    const { outH, outW, channels } = this.geometry;
    const outSize = outH * outW * channels;
    this.argmax = new IndexBuffer(outSize);
    this.argmaxWide = new Buffer(outSize, "float64");
    this.sampleValues = { ...this.sampleValues, forward: this.sampleValues.forward + outSize };
    this.nativeGeometry = new NativeGeometry(this.geometry, channels);
  }

  /** @param x `[batch, inH, inW, C]` @returns `[batch, outH, outW, C]` */
  forward(x: Floats, batch: number): Floats {
    const y = this.out.get(batch);
    const arg = x.length < 2 ** 31 ? this.argmax.get(batch) : (this.argmaxWide.get(batch) as Float64Array);
    this.arg = arg;
    this.y = y;
    // Natively (native/layers.cc): the same scan, comparisons and ties.
    const native = nativeKernels();
    if (native?.maxPoolForward) {
      native.maxPoolForward(this.nativeGeometry.setBatch(batch), x, y, arg);
      return y;
    }
    const { inH, inW, channels: c, outH, outW } = this.geometry;
    // Every window, in output order, over its real (non-padded) rows [y0, y1) and columns [x0, x1).
    let o = 0;
    for (let b = 0; b < batch; b++) {
      const xb = b * inH * inW * c;
      for (let oy = 0; oy < outH; oy++) {
        const y0 = this.rowFrom[oy]!;
        const y1 = this.rowTo[oy]!;
        for (let ox = 0; ox < outW; ox++, o += c) {
          const x0 = this.colFrom[ox]!;
          const x1 = this.colTo[ox]!;
          // The first real cell starts every channel's maximum; then the rest in row-major scan
          // order, channels innermost (contiguous in memory).
          const first = xb + (y0 * inW + x0) * c;
          for (let ch = 0; ch < c; ch++) {
            y[o + ch] = x[first + ch]!;
            arg[o + ch] = first + ch;
          }
          for (let iy = y0; iy < y1; iy++)
            for (let ix = iy === y0 ? x0 + 1 : x0; ix < x1; ix++) {
              const s = xb + (iy * inW + ix) * c;
              for (let ch = 0; ch < c; ch++) {
                const v = x[s + ch]!;
                // Strict `>` keeps the first maximum on ties; a NaN wins, so divergence propagates.
                if (v > y[o + ch]! || Number.isNaN(v)) {
                  y[o + ch] = v;
                  arg[o + ch] = s + ch;
                }
              }
            }
        }
      }
    }
    return y;
  }

  /** `∂L/∂X[argmax] += ∂L/∂Y`, 0 elsewhere. @returns `[batch, inH, inW, C]` */
  backward(dy: Floats, batch: number): Floats {
    const dx = this.dx.get(batch);
    const arg = this.arg;
    const native = nativeKernels();
    if (native?.maxPoolBackward) {
      native.maxPoolBackward(dy, arg, dx, this.nativeGeometry.setBatch(batch));
      return dx;
    }
    dx.fill(0);
    for (let o = 0; o < dy.length; o++) dx[arg[o]!]! += dy[o]!;
    return dx;
  }

  /**
   * After a relu (natively): `∂L/∂X` of the relu's input, relu's `y > 0 ? dy : 0` applied to each
   * term as it is added (every window reaching a cell has that cell's value as its maximum `y`, so
   * this is relu's backward of the sum, bit for bit), and one pass over `∂L/∂X` instead of three
   * (docs/performance.md, "Convolution"). Undefined for any other `prev`, or without the kernels.
   */
  backwardThrough(prev: Layer, dy: Floats, batch: number): Floats | undefined {
    const native = nativeKernels();
    if (!native?.maxPoolBackward || !(prev instanceof Activation) || prev.activation !== "relu")
      return undefined;
    const dx = this.dx.get(batch);
    native.maxPoolBackward(dy, this.arg, dx, this.nativeGeometry.setBatch(batch), this.y);
    return dx;
  }
}

/**
 * Average pooling: `Y[b, oy, ox, c]` is the mean of X over the window's REAL cells, so with
 * `same` padding a border window divides by its own count, not by `kH·kW` (TensorFlow's AvgPool).
 * Backward spreads `∂L/∂Y / count` evenly over those cells (docs/backprop.md §8.2).
 *
 * Note: tfjs' cpu AvgPoolGrad divides by `kH·kW` everywhere, which disagrees with its own
 * forward pass at padded borders; this layer is the exact derivative of its forward.
 */
export class AveragePooling2d extends Pooling2d {
  readonly type: string = "averagePooling2d";

  /** @param x `[batch, inH, inW, C]` @returns `[batch, outH, outW, C]` */
  forward(x: Floats, batch: number): Floats {
    const y = this.out.get(batch);
    const { inH, inW, channels: c, outH, outW } = this.geometry;
    let o = 0;
    for (let b = 0; b < batch; b++) {
      const xb = b * inH * inW * c;
      for (let oy = 0; oy < outH; oy++) {
        const y0 = this.rowFrom[oy]!;
        const y1 = this.rowTo[oy]!;
        for (let ox = 0; ox < outW; ox++, o += c) {
          const x0 = this.colFrom[ox]!;
          const x1 = this.colTo[ox]!;
          y.fill(0, o, o + c);
          for (let iy = y0; iy < y1; iy++)
            for (let ix = x0; ix < x1; ix++) {
              const s = xb + (iy * inW + ix) * c;
              for (let ch = 0; ch < c; ch++) y[o + ch]! += x[s + ch]!;
            }
          const count = (y1 - y0) * (x1 - x0);
          for (let ch = 0; ch < c; ch++) y[o + ch]! /= count;
        }
      }
    }
    return y;
  }

  /** `∂L/∂X[cell] += ∂L/∂Y / count` for each window containing the cell. @returns `[batch, inH, inW, C]` */
  backward(dy: Floats, batch: number): Floats {
    const dx = this.dx.get(batch);
    dx.fill(0);
    const { inH, inW, channels: c, outH, outW } = this.geometry;
    let o = 0;
    for (let b = 0; b < batch; b++) {
      const xb = b * inH * inW * c;
      for (let oy = 0; oy < outH; oy++) {
        const y0 = this.rowFrom[oy]!;
        const y1 = this.rowTo[oy]!;
        for (let ox = 0; ox < outW; ox++, o += c) {
          const x0 = this.colFrom[ox]!;
          const x1 = this.colTo[ox]!;
          const inv = 1 / ((y1 - y0) * (x1 - x0));
          for (let iy = y0; iy < y1; iy++)
            for (let ix = x0; ix < x1; ix++) {
              const s = xb + (iy * inW + ix) * c;
              for (let ch = 0; ch < c; ch++) dx[s + ch]! += dy[o + ch]! * inv;
            }
        }
      }
    }
    return dx;
  }
}
