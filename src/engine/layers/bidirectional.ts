import type { MergeMode } from "../spec.js";
import type { Floats } from "../tensor.js";
import { Buffer, type Layer, type LayerMode, NO_INPUT_GRAD, type Param, type SampleValues } from "./layer.js";
import type { Recurrent } from "./recurrent.js";

/**
 * A recurrent layer read in both directions (docs/backprop.md §23.1), as tfjs-layers' and Keras'
 * `Bidirectional`: `fwd` reads the sequence as given, `bwd` is the same layer with `goBackwards`
 * flipped. With `returnSequences` the backward copy's outputs (in its processing order) are
 * reversed in time, so step t of both describes input step t; then the two are merged:
 * `concat` `[…, 2·units]` (forward first), `sum` `y_f + y_b`, `mul` `y_f ⊙ y_b`, `ave`
 * `(y_f + y_b)/2`. Backward splits `∂L/∂Y` by the merge's derivative, reverses the backward
 * copy's part in time again, runs both copies' back-propagation through time and sums their
 * input gradients. Input `[batch, T, features]`; output `[batch, T, width]` or `[batch, width]`.
 * A time-step mask goes to both copies (docs/backprop.md §23.1): a masked step leaves each copy's
 * state unchanged, and its output at that step is the carried state, as tfjs-layers' (Keras zeroes
 * it instead); with `returnSequences` the mask goes on, otherwise it is dropped.
 */
export class Bidirectional implements Layer {
  readonly type = "bidirectional";
  readonly outputShape: number[];
  readonly forwardCost: number;
  readonly sampleValues: SampleValues;
  readonly inputShape: number[];
  /** Output steps: T with `returnSequences`, else 1. */
  private readonly steps: number;
  private readonly units: number;
  private readonly out: Buffer;
  /** ∂L/∂(forward copy's output) and ∂L/∂(backward copy's output, its own order). */
  private readonly dyF: Buffer;
  private readonly dyB: Buffer;
  private readonly dx: Buffer;
  /** The two copies' outputs of the last forward (their own buffers, valid until their next forward). */
  private yF: Floats = new Float64Array(0);
  private yB: Floats = new Float64Array(0);
  /** The input's time-step mask of the last `setMask`, or null. */
  private mask: Floats | null = null;
  /** Both copies read the mask (docs/backprop.md §23.1). */
  readonly masking = "consume" as const;
  /** With `returnSequences` the mask goes on (tfjs-layers' `computeMask`); otherwise absent: dropped. */
  readonly outputMask?: () => Floats | null;
  /** Only when the copies have dropout (docs/backprop.md §22.7): handed to both. */
  readonly setMode?: (mode: LayerMode) => void;

  /**
   * @param fwd the forward copy, named `<name>/forward_<inner>`.
   * @param bwd the backward copy (`goBackwards` flipped), `<name>/backward_<inner>`, same shapes.
   */
  constructor(
    readonly name: string,
    readonly fwd: Recurrent,
    readonly bwd: Recurrent,
    readonly mergeMode: MergeMode,
  ) {
    this.inputShape = fwd.inputShape;
    this.units = fwd.units;
    this.steps = fwd.returnSequences ? fwd.steps : 1;
    const width = mergeMode === "concat" ? 2 * fwd.units : fwd.units;
    this.outputShape = fwd.returnSequences ? [fwd.steps, width] : [width];
    const outSize = this.steps * width;
    const innerOut = this.steps * this.units;
    this.forwardCost = fwd.forwardCost + bwd.forwardCost + this.steps * width;
    this.sampleValues = {
      forward: fwd.sampleValues.forward + bwd.sampleValues.forward + outSize,
      backward:
        fwd.sampleValues.backward + bwd.sampleValues.backward + 2 * innerOut + fwd.steps * fwd.features,
    };
    this.out = new Buffer(outSize);
    this.dyF = new Buffer(innerOut);
    this.dyB = new Buffer(innerOut);
    this.dx = new Buffer(fwd.steps * fwd.features);
    if (fwd.returnSequences) this.outputMask = () => this.mask;
    if (fwd.setMode && bwd.setMode)
      this.setMode = (mode) => {
        fwd.setMode!(mode);
        bwd.setMode!(mode);
      };
  }

  /** @param mask `[batch, T]`, 1 for a real step and 0 for a masked one, or null: handed to both copies. */
  setMask(mask: Floats | null): void {
    this.mask = mask;
    this.fwd.setMask(mask);
    this.bwd.setMask(mask);
  }

  /** The forward copy's parameters, then the backward copy's (tfjs-layers' order). */
  params(): Param[] {
    return [...this.fwd.params(), ...this.bwd.params()];
  }

  /** @param x `[batch, T, features]` @returns `[batch, T, width]` or `[batch, width]` */
  forward(x: Floats, batch: number): Floats {
    const { steps: S, units: u } = this;
    const yF = this.fwd.forward(x, batch);
    const yB = this.bwd.forward(x, batch);
    this.yF = yF;
    this.yB = yB;
    const y = this.out.get(batch);
    const mode = this.mergeMode;
    for (let b = 0; b < batch; b++)
      for (let t = 0; t < S; t++) {
        const f = (b * S + t) * u;
        const r = (b * S + (S - 1 - t)) * u; // the backward copy's step for output step t
        if (mode === "concat") {
          const o = (b * S + t) * 2 * u;
          for (let j = 0; j < u; j++) {
            y[o + j] = yF[f + j]!;
            y[o + u + j] = yB[r + j]!;
          }
        } else if (mode === "sum") for (let j = 0; j < u; j++) y[f + j] = yF[f + j]! + yB[r + j]!;
        else if (mode === "mul") for (let j = 0; j < u; j++) y[f + j] = yF[f + j]! * yB[r + j]!;
        else for (let j = 0; j < u; j++) y[f + j] = 0.5 * (yF[f + j]! + yB[r + j]!);
      }
    return y;
  }

  /**
   * ADDS into both copies' parameter gradients (docs/backprop.md §23.1).
   * @param dy `[batch, ...outputShape]` @returns ∂L/∂X `[batch, T, features]`, the sum of both copies'
   */
  backward(dy: Floats, batch: number, needInputGrad = true): Floats {
    const { steps: S, units: u, yF, yB } = this;
    const dyF = this.dyF.get(batch);
    const dyB = this.dyB.get(batch);
    const mode = this.mergeMode;
    for (let b = 0; b < batch; b++)
      for (let t = 0; t < S; t++) {
        const f = (b * S + t) * u;
        const r = (b * S + (S - 1 - t)) * u;
        if (mode === "concat") {
          const o = (b * S + t) * 2 * u;
          for (let j = 0; j < u; j++) {
            dyF[f + j] = dy[o + j]!;
            dyB[r + j] = dy[o + u + j]!;
          }
        } else if (mode === "sum")
          for (let j = 0; j < u; j++) {
            dyF[f + j] = dy[f + j]!;
            dyB[r + j] = dy[f + j]!;
          }
        else if (mode === "mul")
          for (let j = 0; j < u; j++) {
            dyF[f + j] = dy[f + j]! * yB[r + j]!;
            dyB[r + j] = dy[f + j]! * yF[f + j]!;
          }
        else
          for (let j = 0; j < u; j++) {
            dyF[f + j] = 0.5 * dy[f + j]!;
            dyB[r + j] = 0.5 * dy[f + j]!;
          }
      }
    const dxF = this.fwd.backward(dyF, batch, needInputGrad);
    const dxB = this.bwd.backward(dyB, batch, needInputGrad);
    if (!needInputGrad) return NO_INPUT_GRAD;
    const dx = this.dx.get(batch);
    for (let k = 0; k < dx.length; k++) dx[k] = dxF[k]! + dxB[k]!;
    return dx;
  }
}
