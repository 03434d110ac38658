import { matmul, matmulTransA, matmulTransB } from "../matmul.js";
import { type Floats, layerFloats } from "../tensor.js";
import { Buffer, type Layer, NO_INPUT_GRAD, type Param, type SampleValues } from "./layer.js";

/**
 * The affine layer `Y = X·W + b` (docs/backprop.md §4). X `[batch, in]`, kernel W `[in, units]`
 * (so the scalar `w_ij` of docs/backprop.md §1.1, into unit i from input j, is `W[j][i]`),
 * bias b `[units]`, Y `[batch, units]`.
 */
export class Dense implements Layer {
  readonly type = "dense";
  readonly outputShape: number[];
  readonly forwardCost: number;
  readonly sampleValues: SampleValues;
  readonly kernel: Param;
  readonly bias: Param | undefined;
  private readonly out: Buffer;
  private readonly dx: Buffer;
  private x: Floats = new Float64Array(0);

  constructor(
    readonly name: string,
    readonly inputShape: number[],
    readonly units: number,
    useBias: boolean,
  ) {
    const inSize = inputShape[0]!;
    this.outputShape = [units];
    this.forwardCost = inSize * units + units;
    // Forward keeps Y (X is the previous layer's output); backward allocates ∂L/∂X.
    this.sampleValues = { forward: units, backward: inSize };
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
    this.out = new Buffer(units);
    this.dx = new Buffer(inSize);
  }

  params(): Param[] {
    return this.bias ? [this.kernel, this.bias] : [this.kernel];
  }

  forward(x: Floats, batch: number): Floats {
    this.x = x;
    const y = this.out.get(batch);
    matmul(x, this.kernel.value, y, batch, this.inputShape[0]!, this.units, this.bias?.value);
    return y;
  }

  backward(dy: Floats, batch: number, needInputGrad = true): Floats {
    const inSize = this.inputShape[0]!;
    const units = this.units;
    // ∂L/∂W += Xᵀ·∂L/∂Y (docs/backprop.md §4.2)
    matmulTransA(this.x, dy, this.kernel.grad, batch, inSize, units);
    // ∂L/∂b += Σ_rows ∂L/∂Y (docs/backprop.md §4.2)
    if (this.bias) {
      const g = this.bias.grad;
      for (let r = 0; r < batch; r++) {
        const o = r * units;
        for (let j = 0; j < units; j++) g[j]! += dy[o + j]!;
      }
    }
    if (!needInputGrad) return NO_INPUT_GRAD;
    // ∂L/∂X = ∂L/∂Y·Wᵀ (docs/backprop.md §4.2)
    const dx = this.dx.get(batch);
    matmulTransB(dy, this.kernel.value, dx, batch, units, inSize);
    return dx;
  }
}
