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
    let gCheck = 0;
    let wCheck = 0;
    if (mu === 0) {
      for (let i = 0; i < w.length; i++) {
        const wi = w[i]!;
        const gi = g[i]!;
        keep[i] = wi;
        gCheck += gi * 0;
        const next = wi - lr * gi;
        w[i] = next;
        wCheck += w[i]! * 0; // as stored: rounded to float32 in a float32 run
      }
    } else if (!this.nesterov) {
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
