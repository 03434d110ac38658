import type { Floats } from "./tensor.js";
/**
 * Sliding-window geometry shared by convolution and pooling, and the im2col / col2im pair that
 * lowers a convolution over a whole batch to one matrix product (Chellapilla, Puri & Simard 2006,
 * "High Performance Convolutional Neural Networks for Document Processing"; Caffe's `im2col`).
 * Images are `[batch, height, width, channels]` row-major (NHWC, as TensorFlow).
 */

/** Where every window of a 2-D sliding operation sits over a `[height, width, channels]` input. */
export interface WindowGeometry {
  inH: number;
  inW: number;
  channels: number;
  kH: number;
  kW: number;
  strideH: number;
  strideW: number;
  outH: number;
  outW: number;
  /** Rows of padding above the input; the extra odd row, if any, goes below (TensorFlow). */
  padTop: number;
  /** Columns of padding left of the input; the extra odd column, if any, goes right. */
  padLeft: number;
  padBottom: number;
  padRight: number;
}

/**
 * Output size and padding of one spatial axis (docs/backprop.md §7.1), as TensorFlow defines them
 * (tensorflow/core/framework/kernel_shape_util.cc, `GetWindowedOutputSize`):
 * - `valid`: `out = floor((in − k) / stride) + 1`, no padding (≤ 0 when `k > in`);
 * - `same`: `out = ceil(in / stride)`, total padding `max((out − 1)·stride + k − in, 0)`,
 *   `floor(total / 2)` before and the rest after.
 */
export function axisGeometry(
  size: number,
  k: number,
  stride: number,
  padding: "valid" | "same",
): { out: number; padBefore: number; padAfter: number } {
  if (padding === "valid") return { out: Math.floor((size - k) / stride) + 1, padBefore: 0, padAfter: 0 };
  const out = Math.ceil(size / stride);
  const total = Math.max((out - 1) * stride + k - size, 0);
  const padBefore = Math.floor(total / 2);
  return { out, padBefore, padAfter: total - padBefore };
}

/**
 * The geometry of a `[kH, kW]` window moved by `[strideH, strideW]` over `inShape`
 * `[height, width, channels]`. Sizes are not validated here (see `conv-factory.ts`): `outH` or
 * `outW` below 1 means the window does not fit.
 */
export function windowGeometry(
  inShape: readonly number[],
  kernel: readonly [number, number],
  strides: readonly [number, number],
  padding: "valid" | "same",
): WindowGeometry {
  const [inH, inW, channels] = inShape as [number, number, number];
  const [kH, kW] = kernel;
  const [strideH, strideW] = strides;
  const h = axisGeometry(inH, kH, strideH, padding);
  const w = axisGeometry(inW, kW, strideW, padding);
  return {
    inH,
    inW,
    channels,
    kH,
    kW,
    strideH,
    strideW,
    outH: h.out,
    outW: w.out,
    padTop: h.padBefore,
    padLeft: w.padBefore,
    padBottom: h.padAfter,
    padRight: w.padAfter,
  };
}

/**
 * Copies every window of `x` `[batch, inH, inW, C]` into a row of `cols`
 * `[batch·outH·outW, kH·kW·C]` (overwrites it); padded cells become 0. Row `(b, oy, ox)`, column
 * `(ky·kW + kx)·C + c`, which is the row order of a `[kH, kW, C, filters]` kernel, so
 * `Y = cols·K` is the convolution (TensorFlow's conv2d is a cross-correlation: no kernel flip;
 * docs/backprop.md §7.2).
 */
export function im2col(x: Floats, g: WindowGeometry, batch: number, cols: Floats): void {
  const { inH, inW, channels: c, kH, kW, strideH, strideW, outH, outW, padTop, padLeft } = g;
  const rowLen = kH * kW * c;
  let r = 0;
  for (let b = 0; b < batch; b++) {
    const xb = b * inH * inW * c;
    for (let oy = 0; oy < outH; oy++) {
      const y0 = oy * strideH - padTop;
      for (let ox = 0; ox < outW; ox++) {
        const x0 = ox * strideW - padLeft;
        let o = r * rowLen;
        for (let ky = 0; ky < kH; ky++) {
          const iy = y0 + ky;
          if (iy < 0 || iy >= inH) {
            cols.fill(0, o, o + kW * c);
            o += kW * c;
            continue;
          }
          const xRow = xb + iy * inW * c;
          for (let kx = 0; kx < kW; kx++) {
            const ix = x0 + kx;
            if (ix < 0 || ix >= inW) cols.fill(0, o, o + c);
            else {
              const s = xRow + ix * c;
              for (let ch = 0; ch < c; ch++) cols[o + ch] = x[s + ch]!;
            }
            o += c;
          }
        }
        r++;
      }
    }
  }
}

/**
 * The adjoint of `im2col`: overwrites `dx` `[batch, inH, inW, C]` with the sum, over every
 * window that covers a cell, of that window's entry in `dCols` `[batch·outH·outW, kH·kW·C]`.
 * Entries for padded cells are dropped (padding is a constant, it has no gradient;
 * docs/backprop.md §7.3).
 */
export function col2im(dCols: Floats, g: WindowGeometry, batch: number, dx: Floats): void {
  const { inH, inW, channels: c, kH, kW, strideH, strideW, outH, outW, padTop, padLeft } = g;
  const rowLen = kH * kW * c;
  dx.fill(0);
  let r = 0;
  for (let b = 0; b < batch; b++) {
    const xb = b * inH * inW * c;
    for (let oy = 0; oy < outH; oy++) {
      const y0 = oy * strideH - padTop;
      for (let ox = 0; ox < outW; ox++) {
        const x0 = ox * strideW - padLeft;
        let o = r * rowLen;
        for (let ky = 0; ky < kH; ky++) {
          const iy = y0 + ky;
          if (iy < 0 || iy >= inH) {
            o += kW * c;
            continue;
          }
          const xRow = xb + iy * inW * c;
          for (let kx = 0; kx < kW; kx++) {
            const ix = x0 + kx;
            if (ix >= 0 && ix < inW) {
              const s = xRow + ix * c;
              for (let ch = 0; ch < c; ch++) dx[s + ch]! += dCols[o + ch]!;
            }
            o += c;
          }
        }
        r++;
      }
    }
  }
}
