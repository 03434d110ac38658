import type { WindowGeometry } from "./im2col.js";

/**
 * The geometry the native convolution and pooling kernels take (native/conv.cc, layers.cc): an
 * Int32Array `[batch, inH, inW, channels, kH, kW, strideH, strideW, padTop, padLeft, outH, outW, filters]`
 * (for pooling, `filters` = channels). Made once per layer; `setBatch` fills in the batch size.
 */
export class NativeGeometry {
  readonly values: Int32Array;

  /** @param filters the output channels (conv2d's filters; the input's channels for pooling). */
  constructor(g: WindowGeometry, filters: number) {
    this.values = Int32Array.of(
      0,
      g.inH,
      g.inW,
      g.channels,
      g.kH,
      g.kW,
      g.strideH,
      g.strideW,
      g.padTop,
      g.padLeft,
      g.outH,
      g.outW,
      filters,
    );
  }

  /** The geometry for a batch of `batch` samples (the same array, updated). */
  setBatch(batch: number): Int32Array {
    this.values[0] = batch;
    return this.values;
  }
}
