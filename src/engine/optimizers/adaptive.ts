import type { Param } from "../layers/layer.js";
import type { Schedule } from "../schedules.js";
import type { AdadeltaSpec, AdagradSpec, RmspropSpec } from "../spec.js";
import type { Floats } from "../tensor.js";
import { flags, type SlotName, StepOptimizer, zerosLike } from "./base.js";

/**
 * RMSprop (Hinton 2012; docs/backprop.md §15.3), as tfjs and Keras compute it:
 * `ms ← ρ·ms + (1−ρ)·g²`; centered also `mg ← ρ·mg + (1−ρ)·g`; `d = ms + ε` (centered
 * `ms − mg² + ε`, Keras' sign); `Δ = η·g/√d`; with momentum `mom ← μ·mom + Δ`, `w ← w − mom`,
 * otherwise `w ← w − Δ`.
 */
export class Rmsprop extends StepOptimizer {
  readonly type = "rmsprop";
  override readonly momentName = "the mean square ms";
  private readonly meanSquare: Floats[];
  private readonly meanGradient: Floats[];
  private readonly moment: Floats[];
  private readonly rho: number;
  private readonly mu: number;
  private readonly epsilon: number;
  private readonly centered: boolean;

  constructor(params: Param[], rate: Schedule, spec: RmspropSpec) {
    super(params, rate, spec);
    this.rho = spec.rho ?? 0.9;
    this.mu = spec.momentum ?? 0;
    this.epsilon = spec.epsilon ?? 1e-7;
    this.centered = spec.centered === true;
    this.meanSquare = zerosLike(params);
    this.meanGradient = this.centered ? zerosLike(params) : [];
    this.moment = this.mu !== 0 ? zerosLike(params) : [];
  }

  protected update(k: number, lr: number, _t: number, keep: Floats): number {
    const { rho, mu, epsilon: eps, centered } = this;
    const ms = this.meanSquare[k]!;
    const mg = this.meanGradient[k];
    const mom = this.moment[k];
    const w = this.params[k]!.value;
    const g = this.grads[k]!;
    let gCheck = 0;
    let sCheck = 0;
    let wCheck = 0;
    for (let i = 0; i < w.length; i++) {
      const wi = w[i]!;
      const gi = g[i]!;
      keep[i] = wi;
      gCheck += gi * 0;
      ms[i] = rho * ms[i]! + (1 - rho) * (gi * gi);
      sCheck += ms[i]! * 0;
      let d: number;
      if (centered) {
        mg![i] = rho * mg![i]! + (1 - rho) * gi;
        d = ms[i]! - mg![i]! * mg![i]! + eps;
      } else {
        d = ms[i]! + eps;
      }
      const delta = (gi * lr) / Math.sqrt(d);
      let next: number;
      if (mom) {
        mom[i] = mu * mom[i]! + delta;
        next = wi - mom[i]!;
      } else {
        next = wi - delta;
      }
      w[i] = next;
      wCheck += w[i]! * 0; // as stored: rounded to float32 in a float32 run
    }
    return flags(gCheck, sCheck, wCheck);
  }

  protected slotArrays(): Partial<Record<SlotName, Floats[]>> {
    return {
      meanSquare: this.meanSquare,
      ...(this.mu !== 0 ? { momentum: this.moment } : {}),
      ...(this.centered ? { meanGradient: this.meanGradient } : {}),
    };
  }
}

/**
 * Adagrad (Duchi et al. 2011; docs/backprop.md §15.4), as tfjs and Keras:
 * `a ← a + g²` from `a = initialAccumulatorValue`, `w ← w − η·g/√(a + ε)`.
 */
export class Adagrad extends StepOptimizer {
  readonly type = "adagrad";
  override readonly momentName = "the accumulated squared gradient";
  private readonly accumulator: Floats[];
  private readonly epsilon: number;

  constructor(params: Param[], rate: Schedule, spec: AdagradSpec) {
    super(params, rate, spec);
    this.epsilon = spec.epsilon ?? 1e-7;
    this.accumulator = zerosLike(params, spec.initialAccumulatorValue ?? 0.1);
  }

  protected update(k: number, lr: number, _t: number, keep: Floats): number {
    const eps = this.epsilon;
    const a = this.accumulator[k]!;
    const w = this.params[k]!.value;
    const g = this.grads[k]!;
    let gCheck = 0;
    let aCheck = 0;
    let wCheck = 0;
    for (let i = 0; i < w.length; i++) {
      const wi = w[i]!;
      const gi = g[i]!;
      keep[i] = wi;
      gCheck += gi * 0;
      a[i] = a[i]! + gi * gi;
      aCheck += a[i]! * 0;
      const next = wi - (lr * gi) / Math.sqrt(a[i]! + eps);
      w[i] = next;
      wCheck += w[i]! * 0; // as stored: rounded to float32 in a float32 run
    }
    return flags(gCheck, aCheck, wCheck);
  }

  protected slotArrays(): Partial<Record<SlotName, Floats[]>> {
    return { accumulator: this.accumulator };
  }
}

/**
 * Adadelta (Zeiler 2012, Algorithm 1, as Keras computes it; docs/backprop.md §15.5):
 * `E_g ← ρ·E_g + (1−ρ)·g²`, `Δ = −√(E_Δ + ε)/√(E_g + ε)·g`, `E_Δ ← ρ·E_Δ + (1−ρ)·Δ²`,
 * `w ← w + η·Δ`. (tfjs divides by the E_g of the step before instead.)
 */
export class Adadelta extends StepOptimizer {
  readonly type = "adadelta";
  override readonly momentName = "the running mean of g²";
  private readonly accumulatedGrad: Floats[];
  private readonly accumulatedUpdate: Floats[];
  private readonly rho: number;
  private readonly epsilon: number;

  constructor(params: Param[], rate: Schedule, spec: AdadeltaSpec) {
    super(params, rate, spec);
    this.rho = spec.rho ?? 0.95;
    this.epsilon = spec.epsilon ?? 1e-7;
    this.accumulatedGrad = zerosLike(params);
    this.accumulatedUpdate = zerosLike(params);
  }

  protected update(k: number, lr: number, _t: number, keep: Floats): number {
    const { rho, epsilon: eps } = this;
    const eg = this.accumulatedGrad[k]!;
    const eu = this.accumulatedUpdate[k]!;
    const w = this.params[k]!.value;
    const g = this.grads[k]!;
    let gCheck = 0;
    let aCheck = 0;
    let wCheck = 0;
    for (let i = 0; i < w.length; i++) {
      const wi = w[i]!;
      const gi = g[i]!;
      keep[i] = wi;
      gCheck += gi * 0;
      eg[i] = rho * eg[i]! + (1 - rho) * (gi * gi);
      aCheck += eg[i]! * 0;
      const delta = -((Math.sqrt(eu[i]! + eps) * gi) / Math.sqrt(eg[i]! + eps));
      eu[i] = rho * eu[i]! + (1 - rho) * (delta * delta);
      const next = wi + lr * delta;
      w[i] = next;
      wCheck += w[i]! * 0; // as stored: rounded to float32 in a float32 run
    }
    return flags(gCheck, aCheck, wCheck);
  }

  protected slotArrays(): Partial<Record<SlotName, Floats[]>> {
    return { accumulatedGrad: this.accumulatedGrad, accumulatedUpdate: this.accumulatedUpdate };
  }
}
