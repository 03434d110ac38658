import type { Param } from "./layers/layer.js";
import type { GradientOptimizerSpec } from "./spec.js";

/** Applies one update to every parameter from its accumulated `grad`. */
export interface Optimizer {
  step(params: Param[]): void;
}

/**
 * SGD with optional momentum, as Keras/tfjs: `v ← μ·v − η·g`, `w ← w + v`
 * (μ = 0: plain gradient descent `w ← w − η·g`, seed §1).
 */
class Sgd implements Optimizer {
  private velocity: Float64Array[] | null = null;
  constructor(
    private readonly lr: number,
    private readonly momentum: number,
  ) {}
  step(params: Param[]): void {
    if (this.momentum === 0) {
      for (const p of params) {
        const w = p.value;
        const g = p.grad;
        for (let i = 0; i < w.length; i++) w[i]! -= this.lr * g[i]!;
      }
      return;
    }
    this.velocity ??= params.map((p) => new Float64Array(p.value.length));
    params.forEach((p, k) => {
      const v = this.velocity![k]!;
      const w = p.value;
      const g = p.grad;
      for (let i = 0; i < w.length; i++) {
        v[i] = this.momentum * v[i]! - this.lr * g[i]!;
        w[i]! += v[i]!;
      }
    });
  }
}

/**
 * Adam (Kingma & Ba 2015, Algorithm 1, as tfjs computes it):
 * `m ← β1·m + (1−β1)·g`, `v ← β2·v + (1−β2)·g²`, `m̂ = m/(1−β1^t)`, `v̂ = v/(1−β2^t)`,
 * `w ← w − η·m̂/(√v̂ + ε)`.
 */
class Adam implements Optimizer {
  private m: Float64Array[] | null = null;
  private v: Float64Array[] | null = null;
  private t = 0;
  constructor(
    private readonly lr: number,
    private readonly beta1: number,
    private readonly beta2: number,
    private readonly epsilon: number,
  ) {}
  step(params: Param[]): void {
    this.m ??= params.map((p) => new Float64Array(p.value.length));
    this.v ??= params.map((p) => new Float64Array(p.value.length));
    this.t++;
    const { beta1: b1, beta2: b2, epsilon: eps } = this;
    const c1 = 1 - b1 ** this.t;
    const c2 = 1 - b2 ** this.t;
    params.forEach((p, k) => {
      const m = this.m![k]!;
      const v = this.v![k]!;
      const w = p.value;
      const g = p.grad;
      for (let i = 0; i < w.length; i++) {
        const gi = g[i]!;
        m[i] = b1 * m[i]! + (1 - b1) * gi;
        v[i] = b2 * v[i]! + (1 - b2) * gi * gi;
        w[i]! -= (this.lr * (m[i]! / c1)) / (Math.sqrt(v[i]! / c2) + eps);
      }
    });
  }
}

/** Builds the optimiser a spec describes; defaults as tfjs (momentum 0; Adam 0.9, 0.999, 1e-7). */
export function makeOptimizer(spec: GradientOptimizerSpec): Optimizer {
  switch (spec.type) {
    case "sgd":
      return new Sgd(spec.learningRate, spec.momentum ?? 0);
    case "adam":
      return new Adam(spec.learningRate, spec.beta1 ?? 0.9, spec.beta2 ?? 0.999, spec.epsilon ?? 1e-7);
  }
}
