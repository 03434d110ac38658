import { matmul, matmulTransA, matmulTransB } from "../matmul.js";
import { type Floats, layerFloats } from "../tensor.js";
import { Buffer, type Layer, NO_INPUT_GRAD, type Param, type SampleValues } from "./layer.js";

/** Where every window of a 1-D convolution sits over `[steps, channels]` (docs/backprop.md §21.3). */
export interface Geometry1d {
  steps: number;
  channels: number;
  kernel: number;
  stride: number;
  dilation: number;
  outSteps: number;
  /** Zero steps before the input; the rest of the padding, if any, goes after. */
  padBefore: number;
}

/**
 * Output length and left padding of a 1-D window of `kernel` taps `dilation` apart (span
 * `s = dilation·(kernel − 1) + 1`) moved by `stride` over `steps` (docs/backprop.md §21.3):
 * - `valid`: `out = floor((steps − s) / stride) + 1`, no padding (≤ 0 when `s > steps`);
 * - `same`: `out = ceil(steps / stride)`, total padding `max((out − 1)·stride + s − steps, 0)`,
 *   `floor(total / 2)` before (TensorFlow, as `axisGeometry`);
 * - `causal`: `dilation·(kernel − 1)` zeros before, none after (Keras), `out = floor((steps − 1) / stride) + 1`:
 *   output step t sees input steps ≤ t·stride only.
 */
export function geometry1d(
  steps: number,
  channels: number,
  kernel: number,
  stride: number,
  dilation: number,
  padding: "valid" | "same" | "causal",
): Geometry1d {
  const span = dilation * (kernel - 1) + 1;
  let outSteps: number;
  let padBefore = 0;
  if (padding === "valid") outSteps = Math.floor((steps - span) / stride) + 1;
  else if (padding === "same") {
    outSteps = Math.ceil(steps / stride);
    padBefore = Math.floor(Math.max((outSteps - 1) * stride + span - steps, 0) / 2);
  } else {
    padBefore = span - 1;
    outSteps = Math.floor((steps - 1) / stride) + 1;
  }
  return { steps, channels, kernel, stride, dilation, outSteps, padBefore };
}

/**
 * Copies every window of `x` `[batch, steps, C]` into a row of `cols` `[batch·outSteps, k·C]`
 * (overwrites it): row `(b, o)`, column `j·C + c` holds `X[b, o·stride − padBefore + j·dilation, c]`,
 * 0 where that step is padding. The row order of a `[k, C, filters]` kernel, so `Y = cols·K`.
 */
export function im2col1d(x: Floats, g: Geometry1d, batch: number, cols: Floats): void {
  const { steps, channels: c, kernel, stride, dilation, outSteps, padBefore } = g;
  let o = 0;
  for (let b = 0; b < batch; b++) {
    const xb = b * steps * c;
    for (let t = 0; t < outSteps; t++) {
      const t0 = t * stride - padBefore;
      for (let j = 0; j < kernel; j++, o += c) {
        const s = t0 + j * dilation;
        if (s < 0 || s >= steps) cols.fill(0, o, o + c);
        else {
          const from = xb + s * c;
          for (let ch = 0; ch < c; ch++) cols[o + ch] = x[from + ch]!;
        }
      }
    }
  }
}

/** The adjoint of `im2col1d`: overwrites `dx` with the sum of each step's window entries in `dCols`. */
export function col2im1d(dCols: Floats, g: Geometry1d, batch: number, dx: Floats): void {
  const { steps, channels: c, kernel, stride, dilation, outSteps, padBefore } = g;
  dx.fill(0);
  let o = 0;
  for (let b = 0; b < batch; b++) {
    const xb = b * steps * c;
    for (let t = 0; t < outSteps; t++) {
      const t0 = t * stride - padBefore;
      for (let j = 0; j < kernel; j++, o += c) {
        const s = t0 + j * dilation;
        if (s < 0 || s >= steps) continue;
        const to = xb + s * c;
        for (let ch = 0; ch < c; ch++) dx[to + ch]! += dCols[o + ch]!;
      }
    }
  }
}

/**
 * 1-D convolution (TensorFlow's conv1d, a cross-correlation) over X `[batch, steps, C]` with
 * kernel K `[k, C, filters]` and bias b, Y `[batch, outSteps, filters]`:
 * `Y[b, t, f] = b_f + Σ_{j, c} X[b, t·stride − padBefore + j·dilation, c] · K[j, c, f]`
 * (padded steps are 0). Lowered with `im2col1d` to `Y = cols·K + b` over the whole batch and
 * back-propagated exactly as conv2d (docs/backprop.md §7.3, §21.3): `∂L/∂K += colsᵀ·∂L/∂Y`,
 * `∂L/∂b += Σ_rows ∂L/∂Y`, `∂L/∂X = col2im1d(∂L/∂Y·Kᵀ)`. The products are the engine's matmul
 * kernels (native, WebAssembly or TypeScript, the same bits on each; docs/kernels.md).
 */
export class Conv1d implements Layer {
  readonly type = "conv1d";
  readonly outputShape: number[];
  readonly kernel: Param;
  readonly bias: Param | undefined;
  readonly forwardCost: number;
  readonly sampleValues: SampleValues;
  /** A 1-tap kernel with stride 1 and no padding sees the input itself: no im2col copy. */
  private readonly identityCols: boolean;
  private readonly colsBuffer: Buffer;
  private readonly dColsBuffer: Buffer;
  private readonly out: Buffer;
  private readonly dx: Buffer;
  private cols: Floats = new Float64Array(0);

  /**
   * @param inputShape `[steps, channels]`; `g` its geometry, validated so `outSteps ≥ 1`
   *   (see `buildSequenceLayer`).
   */
  constructor(
    readonly name: string,
    readonly inputShape: number[],
    readonly filters: number,
    readonly geometry: Geometry1d,
    useBias: boolean,
  ) {
    const g = geometry;
    const rowLen = g.kernel * g.channels;
    this.outputShape = [g.outSteps, filters];
    this.kernel = {
      key: `${name}/kernel`,
      shape: [g.kernel, g.channels, filters],
      value: layerFloats(rowLen * filters),
      grad: layerFloats(rowLen * filters),
      // Keras' conv fans: receptive field × channels in, receptive field × filters out.
      fans: { fanIn: rowLen, fanOut: g.kernel * filters },
    };
    this.bias = useBias
      ? { key: `${name}/bias`, shape: [filters], value: layerFloats(filters), grad: layerFloats(filters) }
      : undefined;
    this.identityCols = g.kernel === 1 && g.stride === 1 && g.padBefore === 0;
    const columns = this.identityCols ? 0 : g.outSteps * rowLen;
    this.forwardCost = g.outSteps * rowLen * (filters + 1) + g.outSteps * filters;
    this.sampleValues = {
      forward: g.outSteps * filters + columns,
      backward: g.steps * g.channels + columns,
    };
    this.colsBuffer = new Buffer(columns);
    this.dColsBuffer = new Buffer(columns);
    this.out = new Buffer(g.outSteps * filters);
    this.dx = new Buffer(g.steps * g.channels);
  }

  params(): Param[] {
    return this.bias ? [this.kernel, this.bias] : [this.kernel];
  }

  /** @param x `[batch, steps, C]` @returns `[batch, outSteps, filters]` */
  forward(x: Floats, batch: number): Floats {
    const g = this.geometry;
    if (this.identityCols) this.cols = x;
    else {
      this.cols = this.colsBuffer.get(batch);
      im2col1d(x, g, batch, this.cols);
    }
    const y = this.out.get(batch);
    matmul(
      this.cols,
      this.kernel.value,
      y,
      batch * g.outSteps,
      g.kernel * g.channels,
      this.filters,
      this.bias?.value,
    );
    return y;
  }

  /** @param dy `[batch, outSteps, filters]` @returns `∂L/∂X` `[batch, steps, C]` */
  backward(dy: Floats, batch: number, needInputGrad = true): Floats {
    const g = this.geometry;
    const rows = batch * g.outSteps;
    const rowLen = g.kernel * g.channels;
    const filters = this.filters;
    matmulTransA(this.cols, dy, this.kernel.grad, rows, rowLen, filters);
    if (this.bias) {
      const gb = this.bias.grad;
      for (let r = 0; r < rows; r++) {
        const o = r * filters;
        for (let f = 0; f < filters; f++) gb[f]! += dy[o + f]!;
      }
    }
    if (!needInputGrad) return NO_INPUT_GRAD;
    const dx = this.dx.get(batch);
    if (this.identityCols) {
      matmulTransB(dy, this.kernel.value, dx, rows, filters, rowLen);
      return dx;
    }
    const dCols = this.dColsBuffer.get(batch);
    matmulTransB(dy, this.kernel.value, dCols, rows, filters, rowLen);
    col2im1d(dCols, g, batch, dx);
    return dx;
  }
}
