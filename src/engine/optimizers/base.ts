import type { Param } from "../layers/layer.js";
import { type NativeKernels, nativeKernels } from "../native.js";
import type { Schedule } from "../schedules.js";
import type { GradientClipping, GradientOptimizerSpec } from "../spec.js";
import { type Floats, floatsLike, type NamedTensors } from "../tensor.js";
import type { OptimizerState } from "../types.js";
import { type Clipping, clipGradients, makeClipping } from "./clipping.js";

/** The names of the per-parameter arrays optimisers keep, as `OptimizerState` carries them. */
export const OPTIMIZER_SLOTS = [
  "velocity",
  "m",
  "v",
  "meanSquare",
  "meanGradient",
  "momentum",
  "accumulator",
  "accumulatedGrad",
  "accumulatedUpdate",
  "u",
] as const;

/** One of `OPTIMIZER_SLOTS`. */
export type SlotName = (typeof OPTIMIZER_SLOTS)[number];

/** The per-parameter arrays an optimiser keeps between steps (`OptimizerState` minus the bookkeeping). */
export type OptimizerSlots = Pick<OptimizerState, SlotName>;

/**
 * What made a step fail (`Optimizer.step`): a non-finite gradient (the last such parameter, nearest
 * the output), an accumulator of squared gradients (Adam's bias-corrected v̂, RMSprop's mean
 * square, …) overflowed by a finite but huge gradient, or a weight the update made non-finite (the
 * first such parameter). `param` indexes the parameters.
 */
export interface StepFault {
  stage: "gradient" | "moment" | "weight";
  param: number;
}

/**
 * Updates parameters from their accumulated `grad`, one step at a time. Bound to the parameters
 * at construction; its arrays are allocated then, so a step allocates nothing (unless it fails).
 */
export interface Optimizer {
  readonly type: GradientOptimizerSpec["type"];
  /** Updates made so far (Keras' `iterations`): the step the learning rate is evaluated at next. */
  iterations: number;
  /** What overflows in a "moment" fault, for the divergence message (e.g. "the bias-corrected second moment v̂"). */
  readonly momentName: string;
  /**
   * Applies one update to every parameter at the learning rate `schedule(iterations)`, then counts
   * it. The gradient is clipped first when the spec asks (docs/backprop.md §15.1; `Param.grad`
   * itself is left as it is). In the same pass (the forensics cost one copy and two multiply-adds
   * per value) it copies each weight into `before` and checks the gradients, the new weights and
   * the squared-gradient accumulators are finite: `v·0` is ±0 for finite v and NaN for NaN or ±∞,
   * so a sum of them says whether all were finite.
   * @param before one array per parameter, as long as its value: receives the weights before the
   *   step, so the caller can undo a failed one.
   * @returns null, or what went wrong (the step has then been applied, and must be undone).
   */
  step(before: Floats[]): StepFault | null;
  /** Copies of the per-parameter arrays, keyed and shaped as the weights. */
  slots(): OptimizerSlots;
  /** Loads arrays checked by `checkOptimizerState`. */
  loadSlots(slots: OptimizerSlots): void;
}

/** Flags an `update` returns: a non-finite gradient, accumulator or new weight in that parameter. */
export const BAD_GRADIENT = 1;
export const BAD_MOMENT = 2;
export const BAD_WEIGHT = 4;

/** The flags of one parameter's checks (each a sum of `value·0`, 0 when all were finite). */
export function flags(gCheck: number, mCheck: number, wCheck: number): number {
  return (
    (gCheck !== 0 ? BAD_GRADIENT : 0) | (mCheck !== 0 ? BAD_MOMENT : 0) | (wCheck !== 0 ? BAD_WEIGHT : 0)
  );
}

/**
 * The step loop shared by every optimiser: the scheduled rate, clipping, the per-parameter update
 * (`update`, written by each optimiser as one loop over the values) and the fault bookkeeping.
 * Without clipping `grads` are the parameters' own `grad` arrays, so nothing is copied.
 */
export abstract class StepOptimizer implements Optimizer {
  abstract readonly type: GradientOptimizerSpec["type"];
  readonly momentName: string = "its squared-gradient accumulator";
  iterations = 0;
  /** The gradient each update steps along: `Param.grad`, or its clipped copy. */
  protected readonly grads: Floats[];
  private readonly clipping: Clipping | undefined;
  private readonly raw: Floats[];

  constructor(
    protected readonly params: Param[],
    private readonly rate: Schedule,
    clip: GradientClipping,
  ) {
    this.clipping = makeClipping(clip);
    this.raw = params.map((p) => p.grad);
    this.grads = this.clipping ? params.map((p) => floatsLike(p.value)) : params.map((p) => p.grad);
  }

  step(before: Floats[]): StepFault | null {
    const lr = this.rate(this.iterations);
    const t = ++this.iterations;
    let badGrad = this.clipping ? clipGradients(this.clipping, this.raw, this.grads) : -1;
    this.begin(t, lr);
    let badMoment = -1;
    let badWeight = -1;
    for (let k = 0; k < this.params.length; k++) {
      const f = this.update(k, lr, t, before[k]!);
      if (f === 0) continue;
      if (f & BAD_GRADIENT && k > badGrad) badGrad = k;
      if (f & BAD_MOMENT && badMoment < 0) badMoment = k;
      if (f & BAD_WEIGHT && badWeight < 0) badWeight = k;
    }
    if (badGrad >= 0) return { stage: "gradient", param: badGrad };
    if (badMoment >= 0) return { stage: "moment", param: badMoment };
    if (badWeight >= 0) return { stage: "weight", param: badWeight };
    return null;
  }

  /** Per-step scalars before the parameters are updated (bias corrections, …); `t` counts from 1. */
  protected begin(_t: number, _lr: number): void {}

  /**
   * Updates parameter `k` along `this.grads[k]` at rate `lr`, copying its old values into `keep`.
   * @returns the `flags` of its checks (0: all finite).
   */
  protected abstract update(k: number, lr: number, t: number, keep: Floats): number;

  /** The arrays of each slot the optimiser keeps, in `params` order. */
  protected abstract slotArrays(): Partial<Record<SlotName, Floats[]>>;

  slots(): OptimizerSlots {
    const out: OptimizerSlots = {};
    for (const [slot, arrays] of Object.entries(this.slotArrays()))
      out[slot as SlotName] = named(this.params, arrays);
    return out;
  }

  loadSlots(slots: OptimizerSlots): void {
    for (const [slot, arrays] of Object.entries(this.slotArrays())) {
      const tensors = slots[slot as SlotName]!;
      this.params.forEach((p, k) => {
        arrays[k]!.set(tensors[p.key]!.data);
      });
    }
  }
}

/**
 * Parameters with fewer values than this update in TypeScript: a native call (about 1 µs) costs
 * about as much as updating 200 values there (measured on SGD, docs/performance.md, "Dense networks").
 */
export const NATIVE_UPDATE_MIN = 256;

/**
 * The native kernels (native/optim.cc) when this thread has them and the update of `w` pays for
 * the call: they compute every value as the TypeScript updates do (the same IEEE double
 * operations in the same order, each store rounded to the arrays' type), in one vectorised pass.
 * Null when `keep` is not of `w`'s type and length (the native functions refuse that).
 */
export function nativeUpdates(w: Floats, keep: Floats): NativeKernels | null {
  if (w.length < NATIVE_UPDATE_MIN || keep.length !== w.length || keep.constructor !== w.constructor)
    return null;
  return nativeKernels();
}

/** One zeroed array per parameter, as long as its value and of its dtype. */
export function zerosLike(params: Param[], fill = 0): Floats[] {
  return params.map((p) => floatsLike(p.value).fill(fill));
}

function named(params: Param[], arrays: Floats[]): NamedTensors {
  return Object.fromEntries(params.map((p, k) => [p.key, { shape: [...p.shape], data: arrays[k]!.slice() }]));
}
