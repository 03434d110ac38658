import type { Param } from "../layers/layer.js";
import type { Schedule } from "../schedules.js";
import type { SgdSpec } from "../spec.js";
import type { Floats } from "../tensor.js";
import { flags, nativeUpdates, type SlotName, StepOptimizer, zerosLike } from "./base.js";

/**
 * SGD with optional momentum, as Keras/tfjs: `v ← μ·v − η·g`, `w ← w + v`; with Nesterov
 * `w ← w + μ·v − η·g` after the same velocity update (μ = 0: plain gradient descent
 * `w ← w − η·g`; docs/backprop.md §11.1, §15.2), η = the scheduled rate of the step. Large
 * parameters update natively (`nativeUpdates`), with the same bits.
 */
export class Sgd extends StepOptimizer {
  readonly type = "sgd";
  private readonly velocity: Floats[];
  private readonly momentum: number;
  private readonly nesterov: boolean;

  constructor(params: Param[], rate: Schedule, spec: SgdSpec) {
    super(params, rate, spec);
    this.momentum = spec.momentum ?? 0;
    this.nesterov = spec.nesterov === true && this.momentum !== 0;
    this.velocity = this.momentum === 0 ? [] : zerosLike(params);
  }

  protected update(k: number, lr: number, _t: number, keep: Floats): number {
    const mu = this.momentum;
    const w = this.params[k]!.value;
    const g = this.grads[k]!;
    const native = nativeUpdates(w, keep);
    if (native?.optimSgd)
      return native.optimSgd(w, g, keep, mu === 0 ? null : this.velocity[k]!, lr, mu, this.nesterov);
    if (mu === 0)
      return w instanceof Float64Array
        ? plain64(w, g as Float64Array, keep as Float64Array, lr)
        : plain32(w as Float32Array, g as Float32Array, keep as Float32Array, lr);
    let gCheck = 0;
    let wCheck = 0;
    if (!this.nesterov) {
      const v = this.velocity[k]!;
      for (let i = 0; i < w.length; i++) {
        const wi = w[i]!;
        const gi = g[i]!;
        keep[i] = wi;
        gCheck += gi * 0;
        v[i] = mu * v[i]! - lr * gi;
        const next = wi + v[i]!;
        w[i] = next;
        wCheck += w[i]! * 0; // as stored: rounded to float32 in a float32 run
      }
    } else {
      const v = this.velocity[k]!;
      for (let i = 0; i < w.length; i++) {
        const wi = w[i]!;
        const gi = g[i]!;
        keep[i] = wi;
        gCheck += gi * 0;
        v[i] = mu * v[i]! - lr * gi;
        const next = wi + (mu * v[i]! - lr * gi);
        w[i] = next;
        wCheck += w[i]! * 0; // as stored: rounded to float32 in a float32 run
      }
    }
    return flags(gCheck, 0, wCheck);
  }

  protected slotArrays(): Partial<Record<SlotName, Floats[]>> {
    return this.momentum === 0 ? {} : { velocity: this.velocity };
  }
}

/*
 * Plain gradient descent `w ← w − η·g`, one copy per dtype (each stays monomorphic, and the tiny
 * networks' steps are mostly these loops: docs/performance.md, "Tiny networks"): the weight kept in
 * `keep`, the gradient and the new weight checked as `Sgd.update` checks them. A float64 store
 * keeps the value it is given, so the new weight is checked without reading it back; a float32
 * one rounds it, so that copy checks the value as stored.
 */

function plain64(w: Float64Array, g: Float64Array, keep: Float64Array, lr: number): number {
  let gCheck = 0;
  let wCheck = 0;
  for (let i = 0, n = w.length; i < n; i++) {
    const wi = w[i]!;
    const gi = g[i]!;
    keep[i] = wi;
    gCheck += gi * 0;
    const next = wi - lr * gi;
    w[i] = next;
    wCheck += next * 0;
  }
  return flags(gCheck, 0, wCheck);
}

function plain32(w: Float32Array, g: Float32Array, keep: Float32Array, lr: number): number {
  let gCheck = 0;
  let wCheck = 0;
  for (let i = 0, n = w.length; i < n; i++) {
    const wi = w[i]!;
    const gi = g[i]!;
    keep[i] = wi;
    gCheck += gi * 0;
    w[i] = wi - lr * gi;
    wCheck += w[i]! * 0; // as stored: rounded to float32
  }
  return flags(gCheck, 0, wCheck);
}
