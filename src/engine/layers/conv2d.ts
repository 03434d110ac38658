import { col2im, im2col, type WindowGeometry, windowGeometry } from "../im2col.js";
import { matmul, matmulTransA, matmulTransB } from "../matmul.js";
import { type NativeKernels, nativeKernels } from "../native.js";
import { NativeGeometry } from "../native-conv.js";
import { type Floats, layerFloats } from "../tensor.js";
import { Buffer, type Layer, NO_INPUT_GRAD, type Param, type SampleValues } from "./layer.js";

/**
 * 2-D convolution (TensorFlow's conv2d, a cross-correlation) lowered to matrix products over
 * the whole batch with im2col. X `[batch, inH, inW, inC]`, kernel K `[kH, kW, inC, filters]`,
 * bias b `[filters]`, Y `[batch, outH, outW, filters]` with
 * `Y[b, oy, ox, f] = b_f + Σ_{ky, kx, c} X[b, oy·sH − padTop + ky, ox·sW − padLeft + kx, c] · K[ky, kx, c, f]`
 * (padded cells are 0; output size and padding as in `axisGeometry`).
 *
 * With `cols = im2col(X)` `[batch·outH·outW, kH·kW·inC]` and K read as the matrix
 * `[kH·kW·inC, filters]` (its row-major layout already is), the layer is the affine map
 * `Y = cols·K + b` and back-propagates exactly as the dense layer (docs/backprop.md §7.3):
 * `∂L/∂K += colsᵀ·∂L/∂Y`, `∂L/∂b += Σ_rows ∂L/∂Y`, `∂L/∂cols = ∂L/∂Y·Kᵀ`, and `∂L/∂X` is
 * `col2im(∂L/∂cols)`: each input cell collects the gradient of every window it appeared in.
 *
 * Where the native kernels are loaded (src/engine/native.ts), the same sums run directly on X
 * without materialising the columns (native/conv.cc), in the same order, so the bits are the
 * same on both paths (docs/performance.md, "Convolution").
 */
export class Conv2d implements Layer {
  readonly type = "conv2d";
  readonly outputShape: number[];
  readonly kernel: Param;
  readonly bias: Param | undefined;
  readonly geometry: WindowGeometry;
  readonly forwardCost: number;
  readonly sampleValues: SampleValues;
  /** A 1×1 kernel with stride 1 and no padding sees the input itself: im2col would be a copy. */
  private readonly identityCols: boolean;
  private readonly colsBuffer: Buffer;
  private readonly dColsBuffer: Buffer;
  private readonly out: Buffer;
  private readonly dx: Buffer;
  private cols: Floats = new Float64Array(0);
  /** The forward input, kept for the native backward pass (which reads X instead of the columns). */
  private x: Floats = new Float64Array(0);
  /** Whether the last forward pass ran natively (and so left `cols` unfilled). */
  private ranNative = false;
  private readonly nativeGeometry: NativeGeometry;

  /**
   * @param inputShape `[height, width, channels]`; sizes must already be validated so the
   *   output is at least 1×1 (see `buildConvLayer`).
   */
  constructor(
    readonly name: string,
    readonly inputShape: number[],
    readonly filters: number,
    kernelSize: [number, number],
    strides: [number, number],
    padding: "valid" | "same",
    useBias: boolean,
  ) {
    const g = windowGeometry(inputShape, kernelSize, strides, padding);
    this.geometry = g;
    const [kH, kW] = kernelSize;
    const inC = g.channels;
    const rowLen = kH * kW * inC;
    this.outputShape = [g.outH, g.outW, filters];
    this.kernel = {
      key: `${name}/kernel`,
      shape: [kH, kW, inC, filters],
      value: layerFloats(rowLen * filters),
      grad: layerFloats(rowLen * filters),
      // Keras' conv fans: every output sees kH·kW·inC inputs, every input feeds kH·kW·filters outputs.
      fans: { fanIn: rowLen, fanOut: kH * kW * filters },
    };
    this.bias = useBias
      ? {
          key: `${name}/bias`,
          shape: [filters],
          value: layerFloats(filters),
          grad: layerFloats(filters),
        }
      : undefined;
    this.identityCols =
      kH === 1 && kW === 1 && strides[0] === 1 && strides[1] === 1 && g.padTop + g.padLeft === 0;
    const positions = g.outH * g.outW;
    // The product over every output position, plus the im2col copy.
    this.forwardCost = positions * rowLen * (filters + 1) + positions * filters;
    // Forward keeps Y and the im2col columns; backward allocates ∂L/∂X and ∂L/∂cols (none of
    // the columns when the kernel sees the input itself, or when the native kernels, there when
    // the layer is built, convolve without them).
    const columns = this.identityCols || nativeKernels()?.convForward ? 0 : positions * rowLen;
    this.sampleValues = {
      forward: positions * filters + columns,
      backward: g.inH * g.inW * inC + columns,
    };
    this.colsBuffer = new Buffer(this.identityCols ? 0 : positions * rowLen);
    this.dColsBuffer = new Buffer(this.identityCols ? 0 : positions * rowLen);
    this.out = new Buffer(positions * filters);
    this.dx = new Buffer(g.inH * g.inW * inC);
    this.nativeGeometry = new NativeGeometry(g, filters);
  }

  params(): Param[] {
    return this.bias ? [this.kernel, this.bias] : [this.kernel];
  }

  /** @param x `[batch, inH, inW, inC]` @returns `[batch, outH, outW, filters]` */
  forward(x: Floats, batch: number): Floats {
    const g = this.geometry;
    const rows = batch * g.outH * g.outW;
    const native = nativeKernels();
    this.x = x;
    if (native?.convForward) {
      const y = this.out.get(batch);
      native.convForward(
        this.nativeGeometry.setBatch(batch),
        x,
        this.kernel.value,
        this.bias?.value ?? null,
        y,
        false,
      );
      this.ranNative = true;
      return y;
    }
    this.ranNative = false;
    if (this.identityCols) this.cols = x;
    else {
      this.cols = this.colsBuffer.get(batch);
      im2col(x, g, batch, this.cols);
    }
    const y = this.out.get(batch);
    // Y = cols·K + b: one product for the whole batch.
    matmul(this.cols, this.kernel.value, y, rows, g.kH * g.kW * g.channels, this.filters, this.bias?.value);
    return y;
  }

  /** @param dy `[batch, outH, outW, filters]` @returns `∂L/∂X` `[batch, inH, inW, inC]` */
  backward(dy: Floats, batch: number, needInputGrad = true): Floats {
    const g = this.geometry;
    const rows = batch * g.outH * g.outW;
    const rowLen = g.kH * g.kW * g.channels;
    const filters = this.filters;
    const native = nativeKernels();
    if (native?.convFilterGrad && native.convBiasGrad && native.convInputGrad)
      return this.backwardNative(native, dy, batch, needInputGrad);
    if (this.ranNative) {
      // The forward pass ran natively and the native kernels have gone since: build the columns.
      if (this.identityCols) this.cols = this.x;
      else {
        this.cols = this.colsBuffer.get(batch);
        im2col(this.x, g, batch, this.cols);
      }
      this.ranNative = false;
    }
    // ∂L/∂K += colsᵀ·∂L/∂Y (docs/backprop.md §7.3: §4.2 with cols in the place of X)
    matmulTransA(this.cols, dy, this.kernel.grad, rows, rowLen, filters);
    // ∂L/∂b += Σ over batch and positions of ∂L/∂Y: the bias is shared by every position.
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
    // ∂L/∂cols = ∂L/∂Y·Kᵀ, then scatter-add each window back onto the cells it was copied from.
    const dCols = this.dColsBuffer.get(batch);
    matmulTransB(dy, this.kernel.value, dCols, rows, filters, rowLen);
    col2im(dCols, g, batch, dx);
    return dx;
  }

  /** `backward` on the native kernels: the same sums in the same order, read from X. */
  private backwardNative(native: NativeKernels, dy: Floats, batch: number, needInputGrad: boolean): Floats {
    const geometry = this.nativeGeometry.setBatch(batch);
    // ∂K, and ∂b in the same call (from the same reads of ∂Y where the kernel can).
    native.convFilterGrad!(geometry, this.x, dy, this.kernel.grad, this.bias?.grad ?? null);
    if (!needInputGrad) return NO_INPUT_GRAD;
    const dx = this.dx.get(batch);
    native.convInputGrad!(geometry, dy, this.kernel.value, dx);
    return dx;
  }
}
