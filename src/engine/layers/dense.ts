import { matmul, matmulTransA, matmulTransB } from "../matmul.js";
import { type Floats, layerFloats, sizeOf } from "../tensor.js";
import { Buffer, type Layer, NO_INPUT_GRAD, type Param, type SampleValues } from "./layer.js";

/**
 * The affine layer `Y = X·W + b` (docs/backprop.md §4) over the last axis of its input, as
 * tfjs-layers' and Keras' Dense: X `[batch, ..., in]`, kernel W `[in, units]` (so the scalar `w_ij`
 * of docs/backprop.md §1.1, into unit i from input j, is `W[j][i]`), bias b `[units]`,
 * Y `[batch, ..., units]`. Row-major, X is the `[batch·rows, in]` matrix of its last-axis rows
 * (`rows` the product of the axes before the last: 1 for a vector input), so every pass is one
 * product over `batch·rows` rows (docs/backprop.md §4.4) — the products timeDistributed runs.
 */
export class Dense implements Layer {
  readonly type = "dense";
  /**
   * Each row of the last axis maps to one row: a time-step mask goes on unchanged (Keras' Dense
   * has `supports_masking`; docs/backprop.md §4.4, §21.1).
   */
  readonly masking: "pass" = "pass";
  readonly outputShape: number[];
  readonly forwardCost: number;
  readonly sampleValues: SampleValues;
  readonly kernel: Param;
  readonly bias: Param | undefined;
  /** Rows of the last axis per sample: the product of the input's other axes (1 for `[in]`). */
  readonly rows: number;
  /** The input's last axis. */
  private readonly inSize: number;
  private readonly out: Buffer;
  private readonly dx: Buffer;
  private x: Floats = new Float64Array(0);

  /** @param inputShape `[in]`, or `[..., in]` for the dense layer over the last axis. */
  constructor(
    readonly name: string,
    readonly inputShape: number[],
    readonly units: number,
    useBias: boolean,
  ) {
    const inSize = inputShape[inputShape.length - 1]!;
    const rows = sizeOf(inputShape.slice(0, -1));
    this.inSize = inSize;
    this.rows = rows;
    this.outputShape = [...inputShape.slice(0, -1), units];
    this.forwardCost = rows * (inSize * units + units);
    // Forward keeps Y (X is the previous layer's output); backward allocates ∂L/∂X.
    this.sampleValues = { forward: rows * units, backward: rows * inSize };
    this.kernel = {
      key: `${name}/kernel`,
      shape: [inSize, units],
      value: layerFloats(inSize * units),
      grad: layerFloats(inSize * units),
      fans: { fanIn: inSize, fanOut: units },
    };
    this.bias = useBias
      ? { key: `${name}/bias`, shape: [units], value: layerFloats(units), grad: layerFloats(units) }
      : undefined;
    this.out = new Buffer(rows * units);
    this.dx = new Buffer(rows * inSize);
  }

  params(): Param[] {
    return this.bias ? [this.kernel, this.bias] : [this.kernel];
  }

  /** @param x `[batch, ..., in]` @returns `[batch, ..., units]` */
  forward(x: Floats, batch: number): Floats {
    this.x = x;
    const y = this.out.get(batch);
    matmul(x, this.kernel.value, y, batch * this.rows, this.inSize, this.units, this.bias?.value);
    return y;
  }

  /** ADDS into the kernel's and bias's gradients. @returns ∂L/∂X `[batch, ..., in]` */
  backward(dy: Floats, batch: number, needInputGrad = true): Floats {
    const { inSize, units } = this;
    const n = batch * this.rows;
    // ∂L/∂W += Xᵀ·∂L/∂Y over every row (docs/backprop.md §4.2, §4.4)
    matmulTransA(this.x, dy, this.kernel.grad, n, inSize, units);
    // ∂L/∂b += Σ_rows ∂L/∂Y (docs/backprop.md §4.2)
    if (this.bias) {
      const g = this.bias.grad;
      for (let r = 0; r < n; r++) {
        const o = r * units;
        for (let j = 0; j < units; j++) g[j]! += dy[o + j]!;
      }
    }
    if (!needInputGrad) return NO_INPUT_GRAD;
    // ∂L/∂X = ∂L/∂Y·Wᵀ (docs/backprop.md §4.2)
    const dx = this.dx.get(batch);
    matmulTransB(dy, this.kernel.value, dx, n, units, inSize);
    return dx;
  }
}
