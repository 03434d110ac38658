import { EngineError } from "./errors.js";
import type { Param } from "./layers/layer.js";
import { checkNamedTensors, type ParamShape } from "./model.js";
import { makeSchedule, type Schedule } from "./schedules.js";
import type { GradientOptimizerSpec } from "./spec.js";
import type { NamedTensors } from "./tensor.js";
import type { OptimizerState } from "./types.js";

/** The per-parameter arrays an optimiser keeps between steps (`OptimizerState` minus the bookkeeping). */
export type OptimizerSlots = Pick<OptimizerState, "velocity" | "m" | "v">;

/**
 * What made a step fail (`Optimizer.step`): a non-finite gradient (the last such parameter, nearest
 * the output), Adam's bias-corrected second moment v̂ overflowed by a finite but huge gradient, or
 * a weight the update made non-finite (the first such parameter). `param` indexes the parameters.
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
  readonly type: "sgd" | "adam";
  /** Updates made so far (Keras' `iterations`): the step the learning rate is evaluated at next. */
  iterations: number;
  /**
   * Applies one update to every parameter at the learning rate `schedule(iterations)`, then counts
   * it. In the same pass (the forensics cost one copy and two multiply-adds per value) it copies
   * each weight into `before` and checks the gradients, the new weights and Adam's v̂ are finite:
   * `v·0` is ±0 for finite v and NaN for NaN or ±∞, so a sum of them says whether all were finite.
   * @param before one array per parameter, as long as its value: receives the weights before the
   *   step, so the caller can undo a failed one.
   * @returns null, or what went wrong (the step has then been applied, and must be undone).
   */
  step(before: Float64Array[]): StepFault | null;
  /** Copies of the per-parameter arrays, keyed and shaped as the weights. */
  slots(): OptimizerSlots;
  /** Loads arrays checked by `checkOptimizerState`. */
  loadSlots(slots: OptimizerSlots): void;
}

/** The fault of a step from the per-parameter checks (−1: none): gradient first, then moment, then weight. */
function fault(gradient: number, moment: number, weight: number): StepFault | null {
  if (gradient >= 0) return { stage: "gradient", param: gradient };
  if (moment >= 0) return { stage: "moment", param: moment };
  if (weight >= 0) return { stage: "weight", param: weight };
  return null;
}

/**
 * SGD with optional momentum, as Keras/tfjs: `v ← μ·v − η·g`, `w ← w + v`
 * (μ = 0: plain gradient descent `w ← w − η·g`; docs/backprop.md §11.1), η = the scheduled rate of the step.
 */
class Sgd implements Optimizer {
  readonly type = "sgd";
  iterations = 0;
  private readonly velocity: Float64Array[];
  constructor(
    private readonly params: Param[],
    private readonly rate: Schedule,
    private readonly momentum: number,
  ) {
    this.velocity = momentum === 0 ? [] : params.map((p) => new Float64Array(p.value.length));
  }
  step(before: Float64Array[]): StepFault | null {
    const lr = this.rate(this.iterations);
    this.iterations++;
    const mu = this.momentum;
    let badGrad = -1;
    let badWeight = -1;
    for (let k = 0; k < this.params.length; k++) {
      const p = this.params[k]!;
      const w = p.value;
      const g = p.grad;
      const keep = before[k]!;
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
          wCheck += next * 0;
        }
      } else {
        const v = this.velocity[k]!;
        for (let i = 0; i < w.length; i++) {
          const wi = w[i]!;
          const gi = g[i]!;
          keep[i] = wi;
          gCheck += gi * 0;
          v[i] = mu * v[i]! - lr * gi;
          const next = wi + v[i]!;
          w[i] = next;
          wCheck += next * 0;
        }
      }
      if (gCheck !== 0) badGrad = k;
      if (wCheck !== 0 && badWeight < 0) badWeight = k;
    }
    return badGrad < 0 && badWeight < 0 ? null : fault(badGrad, -1, badWeight);
  }
  slots(): OptimizerSlots {
    return this.momentum === 0 ? {} : { velocity: named(this.params, this.velocity) };
  }
  loadSlots(slots: OptimizerSlots): void {
    if (this.momentum !== 0) load(this.params, this.velocity, slots.velocity!);
  }
}

/**
 * Adam (Kingma & Ba 2015, Algorithm 1, as tfjs computes it; docs/backprop.md §11.2), at step
 * t = iterations + 1:
 * `m ← β1·m + (1−β1)·g`, `v ← β2·v + (1−β2)·g²`, `m̂ = m/(1−β1^t)`, `v̂ = v/(1−β2^t)`,
 * `w ← w − η·m̂/(√v̂ + ε)`, η = the scheduled rate of the step.
 */
class Adam implements Optimizer {
  readonly type = "adam";
  iterations = 0;
  private readonly m: Float64Array[];
  private readonly v: Float64Array[];
  constructor(
    private readonly params: Param[],
    private readonly rate: Schedule,
    private readonly beta1: number,
    private readonly beta2: number,
    private readonly epsilon: number,
  ) {
    this.m = params.map((p) => new Float64Array(p.value.length));
    this.v = params.map((p) => new Float64Array(p.value.length));
  }
  step(before: Float64Array[]): StepFault | null {
    const lr = this.rate(this.iterations);
    const t = ++this.iterations;
    const { beta1: b1, beta2: b2, epsilon: eps } = this;
    const c1 = 1 - b1 ** t;
    const c2 = 1 - b2 ** t;
    let badGrad = -1;
    let badMoment = -1;
    let badWeight = -1;
    for (let k = 0; k < this.params.length; k++) {
      const p = this.params[k]!;
      const m = this.m[k]!;
      const v = this.v[k]!;
      const w = p.value;
      const g = p.grad;
      const keep = before[k]!;
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
        const vHat = v[i]! / c2;
        // A finite gradient can overflow v̂ (g² > 1.8e308·(1 − β2^t)): the step would then be
        // m̂/√∞ = 0, freezing the weight silently instead of making it non-finite.
        vCheck += vHat * 0;
        const next = wi - (lr * (m[i]! / c1)) / (Math.sqrt(vHat) + eps);
        w[i] = next;
        wCheck += next * 0;
      }
      if (gCheck !== 0) badGrad = k;
      if (vCheck !== 0 && badMoment < 0) badMoment = k;
      if (wCheck !== 0 && badWeight < 0) badWeight = k;
    }
    return badGrad < 0 && badMoment < 0 && badWeight < 0 ? null : fault(badGrad, badMoment, badWeight);
  }
  slots(): OptimizerSlots {
    return { m: named(this.params, this.m), v: named(this.params, this.v) };
  }
  loadSlots(slots: OptimizerSlots): void {
    load(this.params, this.m, slots.m!);
    load(this.params, this.v, slots.v!);
  }
}

/**
 * Builds the optimiser a spec describes over `params`; defaults as tfjs (momentum 0; Adam 0.9,
 * 0.999, 1e-7).
 * @throws EngineError at `["optimizer", "learningRate", …]` for a bad rate or schedule (`makeSchedule`).
 */
export function makeOptimizer(spec: GradientOptimizerSpec, params: Param[]): Optimizer {
  const rate = makeSchedule(spec.learningRate, ["optimizer", "learningRate"]);
  switch (spec.type) {
    case "sgd":
      return new Sgd(params, rate, spec.momentum ?? 0);
    case "adam":
      return new Adam(params, rate, spec.beta1 ?? 0.9, spec.beta2 ?? 0.999, spec.epsilon ?? 1e-7);
  }
}

/**
 * Checks a state sent back to continue a run against the optimiser and the model: its `type`,
 * the counters, and the per-parameter arrays that optimiser keeps (velocity for sgd with
 * momentum > 0, m and v ≥ 0 for adam; no others), keyed and shaped as the weights, finite.
 * The shuffle fields are checked against the data by the caller.
 * @throws EngineError at `["optimizerState", field, key?]`.
 */
export function checkOptimizerState(
  state: OptimizerState,
  spec: GradientOptimizerSpec,
  params: readonly ParamShape[],
): void {
  const path = ["optimizerState"];
  if (typeof state !== "object" || state === null) throw new EngineError("expected an object", path);
  if (state.type !== spec.type)
    throw new EngineError(
      `the state is of a ${JSON.stringify(state.type)} optimiser, but the optimiser is ${spec.type}`,
      [...path, "type"],
    );
  for (const field of ["iterations", "epochsCompleted"] as const) {
    const n = state[field];
    if (!Number.isSafeInteger(n) || n < 0)
      throw new EngineError(`${field} must be an integer ≥ 0, got ${String(n)}`, [...path, field]);
  }
  const wanted =
    spec.type === "adam" ? ["m", "v"] : (spec.momentum ?? 0) !== 0 ? ["velocity"] : ([] as string[]);
  for (const slot of ["velocity", "m", "v"] as const) {
    const tensors = state[slot];
    if (wanted.includes(slot)) {
      if (tensors === undefined)
        throw new EngineError(`${describe(spec)} needs ${slot} in its state`, [...path, slot]);
      checkNamedTensors(params, tensors, [...path, slot], slot, slot === "v");
    } else if (tensors !== undefined) {
      throw new EngineError(`${describe(spec)} keeps no ${slot}`, [...path, slot]);
    }
  }
}

function describe(spec: GradientOptimizerSpec): string {
  return spec.type === "adam"
    ? "adam"
    : (spec.momentum ?? 0) !== 0
      ? "sgd with momentum"
      : "sgd without momentum";
}

function named(params: Param[], arrays: Float64Array[]): NamedTensors {
  return Object.fromEntries(
    params.map((p, k) => [p.key, { shape: [...p.shape], data: Float64Array.from(arrays[k]!) }]),
  );
}

function load(params: Param[], arrays: Float64Array[], tensors: NamedTensors): void {
  params.forEach((p, k) => {
    arrays[k]!.set(tensors[p.key]!.data);
  });
}
