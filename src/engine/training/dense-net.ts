import { allFinite, keepsFinite } from "../forensics.js";
import {
  Activation,
  activate,
  activateBackward,
  type SoftmaxRows,
  softmaxKeepingRows,
} from "../layers/activation.js";
import { Dense } from "../layers/dense.js";
import type { Layer } from "../layers/layer.js";
import { softmaxCrossentropyFromRows } from "../losses/crossentropy.js";
import { weightedLossAndGrad } from "../losses/weighted.js";
import { lossAndGrad } from "../losses.js";
import type { Model } from "../model.js";
import type { ActivationName } from "../spec.js";
import { type Floats, floats } from "../tensor.js";
import { hasLoops, type LoopActivation, loopBackward, loopForward } from "./dense-activations.js";
import { type DenseArrays, denseBackward, denseForward } from "./dense-kernels.js";

let fusedEnabled = true;

/** The layer classes the fused passes run (exactly these: not a subclass, which may behave otherwise). */
const FUSED_LAYERS: ReadonlySet<unknown> = new Set([Dense, Activation]);

/**
 * Turns the fused dense path of `train()` (`DenseNet`) on or off for this thread; on by default.
 * Results are bit-identical either way, only the speed changes: tests use this to compare the
 * two paths.
 * @returns the previous setting.
 */
export function useFusedDense(on: boolean): boolean {
  const was = fusedEnabled;
  fusedEnabled = on;
  return was;
}

/** One batch size's views of a `DenseNet`'s buffers: every layer's output and `∂L/∂X`, the loss gradient. */
interface Pass {
  b: number;
  outs: Floats[];
  dxs: Floats[];
  grad: Floats;
}

/**
 * The forward and backward passes of a model made only of dense and activation layers, run as
 * one loop over the layers on buffers allocated for the run's batch size (docs/performance.md,
 * "Tiny networks"): what `Model.forward` and `Model.loss` do, with the same floating-point
 * operations in the same order (./dense-kernels.ts, ./dense-activations.ts, and the activations'
 * and the losses' own functions), so the outputs, the loss and every `Param.grad` are
 * bit-identical, without the per-layer dispatch. A dense layer and the linear, sigmoid, tanh or
 * relu layer after it run as one call each way. The weights and gradients are the model's own
 * `Param`s, so the optimiser, the forensics and the rest of `train()` see no difference.
 */
export class DenseNet {
  /** Per internal layer: a dense layer's arrays, or undefined for an activation. */
  private readonly dense: (DenseArrays | undefined)[];
  /** Per internal layer: the activation, or undefined for a dense layer. */
  private readonly acts: (ActivationName | undefined)[];
  /** Per internal layer: the activation when ./dense-activations.ts has loops for it. */
  private readonly loops: (LoopActivation | undefined)[];
  /**
   * Per internal layer: for a dense layer followed by an activation with loops, that activation,
   * which then runs in the same call as the dense layer (`denseForward`, `denseBackward`).
   */
  private readonly paired: (LoopActivation | undefined)[];
  /** Per internal layer: values per sample out. */
  private readonly sizes: number[];
  /** Per internal layer: whether the forensics read its output (`nonFiniteOutput`'s rule). */
  private readonly check: boolean[];
  /** The first layer with parameters: back-propagation stops there, without its `∂L/∂X`. */
  private readonly first: number;
  /** The layer the backward pass starts at: the last, or the one before a softmax or sigmoid the loss fuses. */
  private readonly top: number;
  /**
   * When the model ends in a softmax that the loss fuses (categorical cross-entropy): its rows'
   * exponentials, kept by the forward pass for the loss, which then takes none of its own.
   */
  private readonly softmax: SoftmaxRows | undefined;
  private readonly full: Pass;
  private part: Pass | undefined;
  private x: Floats = new Float64Array(0);

  /**
   * The fused passes of `model` for batches of up to `batchSize`, or undefined when the model is
   * not one they run (or `useFusedDense(false)`): a layer other than `dense` and `activation`, a
   * shape that is not a vector, a regulariser or a constraint.
   */
  static of(model: Model, batchSize: number): DenseNet | undefined {
    if (!fusedEnabled || model.regularization !== undefined) return undefined;
    const plain = model.layers.every(
      (l: Layer) =>
        FUSED_LAYERS.has(l.constructor) && l.inputShape.length === 1 && l.outputShape.length === 1,
    );
    if (!plain || !model.layers.some((l) => l instanceof Dense)) return undefined;
    return new DenseNet(model, batchSize);
  }

  private constructor(
    private readonly model: Model,
    private readonly batchSize: number,
  ) {
    const { layers } = model;
    this.dense = layers.map((l) =>
      l instanceof Dense
        ? {
            w: l.kernel.value,
            bias: l.bias?.value,
            gw: l.kernel.grad,
            gb: l.bias?.grad,
            k: l.inputShape[0]!,
            n: l.units,
          }
        : undefined,
    );
    this.acts = layers.map((l) => (l instanceof Activation ? l.activation : undefined));
    this.loops = this.acts.map((a) => (a !== undefined && hasLoops(a) ? a : undefined));
    this.paired = this.dense.map((d, i) => (d ? this.loops[i + 1] : undefined));
    this.sizes = layers.map((l) => l.outputShape[0]!);
    this.check = layers.map((l, i) => !(i > 0 && keepsFinite(l)));
    this.first = layers.findIndex((l) => l instanceof Dense);
    const kind = model.lossKind;
    const last = layers.length - 1;
    this.top = kind.fused !== false && !kind.fromLogits ? last - 1 : last;
    const k = model.outputSize;
    this.softmax =
      this.top < last && kind.fused === "softmax"
        ? {
            e: new Float64Array(batchSize * k),
            max: new Float64Array(batchSize),
            sum: new Float64Array(batchSize),
          }
        : undefined;
    const { dtype } = model;
    this.full = {
      b: batchSize,
      outs: this.sizes.map((s) => floats(dtype, batchSize * s)),
      dxs: layers.map((l, i) => floats(dtype, i > this.first ? batchSize * l.inputShape[0]! : 0)),
      grad: floats(dtype, batchSize * k),
    };
  }

  /** The views for a batch of `b`: the run's full batches, or its last, smaller one. */
  private pass(b: number): Pass {
    if (b === this.batchSize) return this.full;
    if (this.part?.b !== b) {
      const { full, model } = this;
      this.part = {
        b,
        outs: full.outs.map((o) => o.subarray(0, (o.length / this.batchSize) * b)),
        dxs: full.dxs.map((d) => d.subarray(0, (d.length / this.batchSize) * b)),
        grad: full.grad.subarray(0, model.outputSize * b),
      };
    }
    return this.part;
  }

  /**
   * `Model.forward` of a batch: x `[b, inputSize]` in the model's dtype.
   * @returns the output `[b, outputSize]` (valid until the next call), or undefined as soon as an
   *   output the forensics read (`nonFiniteOutput`) is not finite: the caller then repeats the
   *   batch through the model's own layers, which name the layer.
   */
  forward(x: Floats, b: number): Floats | undefined {
    const { dense, paired, acts, loops, sizes, check, softmax } = this;
    const { outs } = this.pass(b);
    const last = dense.length - 1;
    this.x = x;
    let a = x;
    for (let i = 0; i <= last; i++) {
      const d = dense[i];
      if (d) {
        // A dense output is always read by the forensics (it is never one that keeps finite).
        const act = paired[i];
        const finite = denseForward(d, act, a, outs[i]!, act ? outs[i + 1] : undefined, b);
        if (!finite) return undefined;
        if (act) i++;
      } else {
        const out = outs[i]!;
        if (i === last && softmax) softmaxKeepingRows(a, out, b, sizes[i]!, softmax);
        else if (loops[i]) loopForward(loops[i]!, a, out);
        else activate(acts[i]!, a, out, sizes[i]!);
        if (check[i] && !allFinite(out)) return undefined;
      }
      a = outs[i]!;
    }
    return a;
  }

  /**
   * `Model.zeroGrads` then `Model.loss(t, b, true, 1 / b, sampleWeight)` after `forward`: the
   * batch's summed loss, and the gradient of its mean in every `Param.grad` (each written as
   * `0 + Σ`, which is what adding into a zeroed gradient stores, so none is zeroed first).
   * @param t targets `[b, k]` or labels `[b]`, in the model's dtype.
   * @param sampleWeight `[b]` the samples' loss weights, or undefined.
   */
  lossAndGrads(t: Floats, b: number, sampleWeight?: Floats): number {
    const { model, dense, paired, acts, loops, sizes, first, top, softmax } = this;
    const { outs, dxs, grad } = this.pass(b);
    const pred = top < 0 ? this.x : outs[top]!;
    const k = model.outputSize;
    const kind = model.lossKind;
    const total = sampleWeight
      ? weightedLossAndGrad(kind, pred, t, b, k, grad, 1 / b, sampleWeight)
      : softmax
        ? softmaxCrossentropyFromRows(kind, pred, t, b, k, grad, 1 / b, softmax)
        : lossAndGrad(kind, pred, t, b, k, grad, 1 / b);
    let dy: Floats = grad;
    for (let i = top; i >= first; i--) {
      // An activation run with the dense layer before it goes back with it.
      const withAct = i > 0 ? paired[i - 1] : undefined;
      const at = withAct ? i - 1 : i;
      const d = dense[at];
      const input = at === 0 ? this.x : outs[at - 1]!;
      if (d) {
        const dx = at > first ? dxs[at]! : undefined;
        denseBackward(d, withAct, input, dy, outs[i], withAct ? dxs[i] : undefined, dx, b);
        if (!dx) break;
        dy = dx;
        i = at;
      } else {
        if (loops[i]) loopBackward(loops[i]!, outs[i]!, dy, dxs[i]!);
        else activateBackward(acts[i]!, outs[i]!, dy, dxs[i]!, sizes[i]!, input);
        dy = dxs[i]!;
      }
    }
    return total;
  }
}
