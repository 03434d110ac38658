import type { Param } from "../layers/layer.js";
import type { Schedule } from "../schedules.js";
import type { AdamaxSpec, AdamSpec, AdamwSpec, NadamSpec } from "../spec.js";
import type { Floats } from "../tensor.js";
import { flags, nativeUpdates, type SlotName, StepOptimizer, zerosLike } from "./base.js";

/**
 * What Adam, AdamW, Adamax and Nadam share: β1, β2 and ε from the spec (defaults 0.9, 0.999 and
 * 1e-7, as Keras and tfjs) and the first moment m, zeros at first.
 */
abstract class AdamFamily extends StepOptimizer {
  protected readonly m: Floats[];
  protected readonly beta1: number;
  protected readonly beta2: number;
  protected readonly epsilon: number;

  constructor(params: Param[], rate: Schedule, spec: AdamSpec | AdamwSpec | AdamaxSpec | NadamSpec) {
    super(params, rate, spec);
    this.beta1 = spec.beta1 ?? 0.9;
    this.beta2 = spec.beta2 ?? 0.999;
    this.epsilon = spec.epsilon ?? 1e-7;
    this.m = zerosLike(params);
  }
}

/**
 * Adam (Kingma & Ba 2015, Algorithm 1, as tfjs computes it; docs/backprop.md §11.2), at step
 * t = iterations + 1:
 * `m ← β1·m + (1−β1)·g`, `v ← β2·v + (1−β2)·g²`, `m̂ = m/(1−β1^t)`, `v̂ = v/(1−β2^t)`,
 * `w ← w − η·m̂/(√v̂ + ε)`, η = the scheduled rate of the step. As AdamW (§15.8) the weight is
 * first decayed, `w ← w − w·λ·η`, Keras 3's decoupled weight decay. Large parameters update
 * natively (`nativeUpdates`), with the same bits.
 */
export class Adam extends AdamFamily {
  readonly type: "adam" | "adamw";
  override readonly momentName = "the bias-corrected second moment v̂";
  private readonly v = zerosLike(this.params);
  private readonly decay: number;

  constructor(params: Param[], rate: Schedule, spec: AdamSpec | AdamwSpec) {
    super(params, rate, spec);
    this.type = spec.type;
    this.decay = spec.type === "adamw" ? (spec.weightDecay ?? 0.004) : 0;
  }

  protected update(k: number, lr: number, t: number, keep: Floats): number {
    const { beta1: b1, beta2: b2, epsilon: eps, decay } = this;
    const c1 = 1 - b1 ** t;
    const c2 = 1 - b2 ** t;
    const m = this.m[k]!;
    const v = this.v[k]!;
    const w = this.params[k]!.value;
    const g = this.grads[k]!;
    const native = nativeUpdates(w, keep);
    if (native?.optimAdam) return native.optimAdam(w, g, keep, m, v, lr, b1, b2, eps, c1, c2, decay);
    if (decay !== 0) {
      // AdamW: the decoupled decay first; `keep` holds the weight from before it.
      for (let i = 0; i < w.length; i++) {
        const w0 = w[i]!;
        keep[i] = w0;
        w[i] = w0 - w0 * decay * lr;
      }
    }
    let gCheck = 0;
    let vCheck = 0;
    let wCheck = 0;
    for (let i = 0; i < w.length; i++) {
      const wi = w[i]!;
      const gi = g[i]!;
      if (decay === 0) keep[i] = wi;
      gCheck += gi * 0;
      m[i] = b1 * m[i]! + (1 - b1) * gi;
      v[i] = b2 * v[i]! + (1 - b2) * gi * gi;
      const vHat = v[i]! / c2;
      // A finite gradient can overflow v̂ (g² > 1.8e308·(1 − β2^t)): the step would then be
      // m̂/√∞ = 0, freezing the weight silently instead of making it non-finite.
      vCheck += vHat * 0;
      const next = wi - (lr * (m[i]! / c1)) / (Math.sqrt(vHat) + eps);
      w[i] = next;
      wCheck += w[i]! * 0; // as stored: rounded to float32 in a float32 run
    }
    return flags(gCheck, vCheck, wCheck);
  }

  protected slotArrays(): Partial<Record<SlotName, Floats[]>> {
    return { m: this.m, v: this.v };
  }
}

/**
 * Adamax (Kingma & Ba 2015, §7.1, as tfjs computes it; docs/backprop.md §15.6):
 * `m ← β1·m + (1−β1)·g`, `u ← max(β2·u, |g|)`, `w ← w − η/(1−β1^t) · m/(u + ε)`.
 */
export class Adamax extends AdamFamily {
  readonly type = "adamax";
  private readonly u = zerosLike(this.params);

  protected update(k: number, lr: number, t: number, keep: Floats): number {
    const { beta1: b1, beta2: b2, epsilon: eps } = this;
    const rate = -lr / (1 - b1 ** t);
    const m = this.m[k]!;
    const u = this.u[k]!;
    const w = this.params[k]!.value;
    const g = this.grads[k]!;
    let gCheck = 0;
    let wCheck = 0;
    for (let i = 0; i < w.length; i++) {
      const wi = w[i]!;
      const gi = g[i]!;
      keep[i] = wi;
      gCheck += gi * 0;
      m[i] = b1 * m[i]! + (1 - b1) * gi;
      u[i] = Math.max(b2 * u[i]!, Math.abs(gi));
      const next = wi + rate * (m[i]! / (u[i]! + eps));
      w[i] = next;
      wCheck += w[i]! * 0; // as stored: rounded to float32 in a float32 run
    }
    return flags(gCheck, 0, wCheck);
  }

  protected slotArrays(): Partial<Record<SlotName, Floats[]>> {
    return { m: this.m, u: this.u };
  }
}

/** Nadam's momentum schedule μ_t = β1·(1 − ½·0.96^t) (Keras, after Dozat 2016). */
function muAt(beta1: number, t: number): number {
  return beta1 * (1 - 0.5 * 0.96 ** t);
}

/**
 * Nadam in Keras' form (Dozat 2016; docs/backprop.md §15.7), with μ_t = β1·(1 − ½·0.96^t) and
 * Π_t = μ_1·…·μ_t: `m ← β1·m + (1−β1)·g`, `v ← β2·v + (1−β2)·g²`,
 * `m̂ = μ_{t+1}·m/(1 − Π_t·μ_{t+1}) + (1 − μ_t)·g/(1 − Π_t)`, `v̂ = v/(1 − β2^t)`,
 * `w ← w − η·m̂/(√v̂ + ε)`. Π_t is rebuilt from `iterations` after a resume, by the same products.
 */
export class Nadam extends AdamFamily {
  readonly type = "nadam";
  override readonly momentName = "the bias-corrected second moment v̂";
  private readonly v = zerosLike(this.params);
  /** Π_s for s = `productSteps`. */
  private product = 1;
  private productSteps = 0;
  private muT = 0;
  private muNext = 0;
  private c2 = 1;

  protected override begin(t: number): void {
    const b1 = this.beta1;
    if (this.productSteps !== t - 1) {
      // A resumed run: Π_{t−1} by the products the steps before would have made (once it
      // underflows to 0 it stays 0).
      this.product = 1;
      for (let s = 1; s < t && this.product !== 0; s++) this.product *= muAt(b1, s);
    }
    this.muT = muAt(b1, t);
    this.muNext = muAt(b1, t + 1);
    this.product *= this.muT;
    this.productSteps = t;
    this.c2 = 1 - this.beta2 ** t;
  }

  protected update(k: number, lr: number, _t: number, keep: Floats): number {
    const { beta1: b1, beta2: b2, epsilon: eps, muT, muNext, c2 } = this;
    const c1 = 1 - this.product;
    const c1Next = 1 - this.product * muNext;
    const m = this.m[k]!;
    const v = this.v[k]!;
    const w = this.params[k]!.value;
    const g = this.grads[k]!;
    let gCheck = 0;
    let vCheck = 0;
    let wCheck = 0;
    for (let i = 0; i < w.length; i++) {
      const wi = w[i]!;
      const gi = g[i]!;
      keep[i] = wi;
      gCheck += gi * 0;
      m[i] = b1 * m[i]! + (1 - b1) * gi;
      v[i] = b2 * v[i]! + (1 - b2) * gi * gi;
      const mHat = (muNext * m[i]!) / c1Next + ((1 - muT) * gi) / c1;
      const vHat = v[i]! / c2;
      vCheck += vHat * 0;
      const next = wi - (mHat * lr) / (Math.sqrt(vHat) + eps);
      w[i] = next;
      wCheck += w[i]! * 0; // as stored: rounded to float32 in a float32 run
    }
    return flags(gCheck, vCheck, wCheck);
  }

  protected slotArrays(): Partial<Record<SlotName, Floats[]>> {
    return { m: this.m, v: this.v };
  }
}
