import type { InitializerSpec } from "../initializers.js";
import { type Floats, layerFloats } from "../tensor.js";
import { Buffer, type Layer, NO_INPUT_GRAD, type Param, type SampleValues } from "./layer.js";

/** tfjs' default `embeddingsInitializer`: uniform in [−0.05, 0.05]. */
export const EMBEDDINGS_INITIALIZER: InitializerSpec = { type: "randomUniform", minval: -0.05, maxval: 0.05 };

/**
 * tfjs' `embedding` (docs/backprop.md §21.2): token ids X `[batch, T]` (integers in
 * `[0, inputDim)`, checked with the data) to Y `[batch, T, D]`, `Y[b, t, :] = E[X[b, t], :]` with
 * `E` = `<layer>/embeddings` `[inputDim, D]`. A lookup, so the backward pass is a scatter-add:
 * `∂L/∂E[v, :] += Σ_{(b, t): X[b, t] = v} ∂L/∂Y[b, t, :]`, in (b, t) order. The ids have no
 * gradient: the layer is always the model's first with parameters, so `backward` is only ever
 * asked for E's gradient.
 *
 * With `maskZero`, the mask `[batch, T]` is 1 where the id is not 0 (Keras' `compute_mask`), and
 * the layer still looks up row 0 for the masked steps (Keras does the same).
 */
export class Embedding implements Layer {
  readonly type = "embedding";
  readonly outputShape: number[];
  readonly embeddings: Param;
  readonly forwardCost: number;
  readonly sampleValues: SampleValues;
  readonly masking: "make" | undefined;
  private readonly out: Buffer;
  private readonly maskBuffer: Buffer;
  private ids: Floats = new Float64Array(0);
  private lastMask: Floats | null = null;

  /**
   * @param inputShape `[timesteps]` (checked by `buildSequenceLayer`).
   * @param initializer the embeddings' initialiser (default `EMBEDDINGS_INITIALIZER`), already checked.
   */
  constructor(
    readonly name: string,
    readonly inputShape: number[],
    readonly inputDim: number,
    readonly outputDim: number,
    readonly maskZero: boolean,
    initializer: InitializerSpec = EMBEDDINGS_INITIALIZER,
    initializerPath: (string | number)[] = [],
  ) {
    const steps = inputShape[0]!;
    this.outputShape = [steps, outputDim];
    this.embeddings = {
      key: `${name}/embeddings`,
      shape: [inputDim, outputDim],
      value: layerFloats(inputDim * outputDim),
      grad: layerFloats(inputDim * outputDim),
      initializer,
      initializerPath,
    };
    // A copy per value; no backward allocation (the ids have no gradient).
    this.forwardCost = steps * outputDim;
    this.sampleValues = { forward: steps * outputDim + (maskZero ? steps : 0), backward: 0 };
    this.out = new Buffer(steps * outputDim);
    this.maskBuffer = new Buffer(maskZero ? steps : 0);
    this.masking = maskZero ? "make" : undefined;
  }

  params(): Param[] {
    return [this.embeddings];
  }

  /** @param x ids `[batch, T]` @returns `[batch, T, D]` */
  forward(x: Floats, batch: number): Floats {
    const d = this.outputDim;
    const y = this.out.get(batch);
    const e = this.embeddings.value;
    this.ids = x;
    for (let i = 0; i < x.length; i++) {
      const row = x[i]! * d;
      y.set(e.subarray(row, row + d), i * d);
    }
    if (this.maskZero) {
      const m = this.maskBuffer.get(batch);
      for (let i = 0; i < x.length; i++) m[i] = x[i] === 0 ? 0 : 1;
      this.lastMask = m;
    }
    return y;
  }

  /** The mask of the last forward, `[batch, T]` (1: a real step, 0: id 0), or null without `maskZero`. */
  outputMask(): Floats | null {
    return this.lastMask;
  }

  /**
   * `∂L/∂E[X[b, t], :] += ∂L/∂Y[b, t, :]`. @returns `NO_INPUT_GRAD`: ids have no gradient (the
   * model never asks for one, `needInputGrad` being false for its first layer with parameters).
   */
  backward(dy: Floats, _batch: number, _needInputGrad = false): Floats {
    const d = this.outputDim;
    const g = this.embeddings.grad;
    const ids = this.ids;
    for (let i = 0; i < ids.length; i++) {
      const row = ids[i]! * d;
      const o = i * d;
      for (let j = 0; j < d; j++) g[row + j]! += dy[o + j]!;
    }
    return NO_INPUT_GRAD;
  }
}
