import { EngineError } from "../errors.js";
import { checkNamedTensors, type ParamShape } from "../named-tensors.js";
import { makeSchedule } from "../schedules.js";
import type { GradientOptimizerSpec, LearningRate } from "../spec.js";
import type { OptimizerState } from "../types.js";
import { OPTIMIZER_SLOTS, type SlotName } from "./base.js";

/** Adadelta's learning rate when none is given (Keras 3 and tfjs). */
export const ADADELTA_LEARNING_RATE = 0.001;

/** The spec's learning rate, or its optimiser's default where it has one (adadelta). */
export function learningRateOf(spec: GradientOptimizerSpec): LearningRate {
  return spec.learningRate ?? ADADELTA_LEARNING_RATE;
}

/** The per-parameter arrays `spec`'s optimiser keeps, in the order its state lists them; `nonNegative` for sums of squares. */
export function slotsOf(spec: GradientOptimizerSpec): { slot: SlotName; nonNegative: boolean }[] {
  const s = (slot: SlotName, nonNegative = false) => ({ slot, nonNegative });
  switch (spec.type) {
    case "sgd":
      return (spec.momentum ?? 0) !== 0 ? [s("velocity")] : [];
    case "adam":
    case "adamw":
    case "nadam":
      return [s("m"), s("v", true)];
    case "adamax":
      return [s("m"), s("u", true)];
    case "rmsprop":
      return [
        s("meanSquare", true),
        ...((spec.momentum ?? 0) !== 0 ? [s("momentum")] : []),
        ...(spec.centered === true ? [s("meanGradient")] : []),
      ];
    case "adagrad":
      return [s("accumulator", true)];
    case "adadelta":
      return [s("accumulatedGrad", true), s("accumulatedUpdate", true)];
  }
}

/** How messages name the optimiser a spec builds ("sgd with momentum", "rmsprop (centered)", …). */
export function describeOptimizer(spec: GradientOptimizerSpec): string {
  if (spec.type === "sgd") return (spec.momentum ?? 0) !== 0 ? "sgd with momentum" : "sgd without momentum";
  if (spec.type === "rmsprop") {
    const parts = [(spec.momentum ?? 0) !== 0 ? "with momentum" : "", spec.centered ? "centered" : ""];
    const what = parts.filter(Boolean).join(", ");
    return what ? `rmsprop (${what})` : "rmsprop";
  }
  return spec.type;
}

type Range = { min: number; max: number; minOpen?: boolean; maxOpen?: boolean };
const UNIT: Range = { min: 0, max: 1, maxOpen: true };
const POSITIVE: Range = { min: 0, max: Number.MAX_VALUE, minOpen: true };
const NON_NEGATIVE: Range = { min: 0, max: Number.MAX_VALUE };

/** The numeric fields of each optimiser and their ranges (the zod schemas say the same). */
const FIELDS: Record<string, Range> = {
  momentum: UNIT,
  beta1: UNIT,
  beta2: UNIT,
  rho: UNIT,
  epsilon: POSITIVE,
  initialAccumulatorValue: NON_NEGATIVE,
  weightDecay: NON_NEGATIVE,
  clipnorm: POSITIVE,
  clipvalue: POSITIVE,
  globalClipnorm: POSITIVE,
};

/**
 * Checks a gradient optimiser's spec: its learning rate or schedule, its numeric fields in range
 * (momentum, β1, β2, ρ in [0, 1); ε and the clipping thresholds > 0; initialAccumulatorValue and
 * weightDecay ≥ 0; all finite), and at most one of `clipnorm`, `clipvalue`, `globalClipnorm`
 * (Keras 3 refuses more than one; docs/backprop.md §15.1).
 * @throws EngineError at `["optimizer", field, …]`.
 */
export function checkOptimizerSpec(spec: GradientOptimizerSpec): void {
  makeSchedule(learningRateOf(spec), ["optimizer", "learningRate"]);
  const fields = spec as unknown as Record<string, unknown>;
  for (const [field, r] of Object.entries(FIELDS)) {
    const x = fields[field];
    if (x === undefined) continue;
    const ok =
      typeof x === "number" &&
      Number.isFinite(x) &&
      (r.minOpen ? x > r.min : x >= r.min) &&
      (r.maxOpen ? x < r.max : x <= r.max);
    if (!ok) {
      const low = `${r.minOpen ? "(" : "["}${r.min}`;
      const high = r.max === Number.MAX_VALUE ? "∞)" : `${r.max}${r.maxOpen ? ")" : "]"}`;
      throw new EngineError(`${field} must be a finite number in ${low}, ${high}, got ${String(x)}`, [
        "optimizer",
        field,
      ]);
    }
  }
  const clips = (["clipnorm", "clipvalue", "globalClipnorm"] as const).filter((f) => fields[f] !== undefined);
  if (clips.length > 1)
    throw new EngineError(
      `only one of clipnorm, clipvalue and globalClipnorm can be set (as in Keras), got ${clips.join(" and ")}`,
      ["optimizer", clips[1]!],
    );
}

/**
 * Checks a state sent back to continue a run against the optimiser and the model: its `type`,
 * the counters, and the per-parameter arrays that optimiser keeps (`slotsOf`: e.g. velocity for
 * sgd with momentum > 0, m and v ≥ 0 for adam; no others), keyed and shaped as the weights,
 * finite. The shuffle fields are checked against the data by the caller.
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
      `the state is of the optimiser ${JSON.stringify(state.type)}, but the optimiser is ${spec.type}`,
      [...path, "type"],
    );
  for (const field of ["iterations", "epochsCompleted"] as const) {
    const n = state[field];
    if (!Number.isSafeInteger(n) || n < 0)
      throw new EngineError(`${field} must be an integer ≥ 0, got ${String(n)}`, [...path, field]);
  }
  const wanted = slotsOf(spec);
  for (const slot of OPTIMIZER_SLOTS) {
    const tensors = state[slot];
    const want = wanted.find((w) => w.slot === slot);
    if (want) {
      if (tensors === undefined)
        throw new EngineError(`${describeOptimizer(spec)} needs ${slot} in its state`, [...path, slot]);
      checkNamedTensors(params, tensors, [...path, slot], slot, want.nonNegative);
    } else if (tensors !== undefined) {
      throw new EngineError(`${describeOptimizer(spec)} keeps no ${slot}`, [...path, slot]);
    }
  }
}
