import { EngineError } from "./errors.js";
import type { LearningRate } from "./spec.js";

/** The learning rate as a function of the optimiser step (updates made before this one, from 0). */
export type Schedule = (step: number) => number;

/**
 * Checks a learning rate or schedule and returns it as a function of the step, computed as Keras'
 * `keras.optimizers.schedules` do (`ExponentialDecay`, `PiecewiseConstantDecay`, `CosineDecay`;
 * docs/backprop.md §11.3), in float64 (Keras computes in float32, so values agree to about 1e-7
 * relative).
 *
 * @param path where the rate sits in the caller's input, for errors (e.g. `["optimizer", "learningRate"]`).
 * @throws EngineError at `[...path, field]` for a rate that is not a finite number ≥ 0, a
 *   `decaySteps` ≤ 0, a `decayRate` ≤ 0, an `alpha` outside [0, 1], boundaries that are not
 *   strictly increasing, or `values` that are not one more than the boundaries.
 */
export function makeSchedule(lr: LearningRate, path: (string | number)[]): Schedule {
  if (typeof lr === "number") {
    rate(lr, path);
    return () => lr;
  }
  const at = (field: string): (string | number)[] => [...path, field];
  switch (lr.type) {
    case "exponentialDecay": {
      const initial = rate(lr.initialLearningRate, at("initialLearningRate"));
      const decaySteps = positive(lr.decaySteps, at("decaySteps"));
      const decayRate = positive(lr.decayRate, at("decayRate"));
      const staircase = lr.staircase ?? false;
      // Keras: initial · decayRate ^ p, p = step / decaySteps (floored for a staircase)
      return (step) => {
        const p = step / decaySteps;
        return initial * decayRate ** (staircase ? Math.floor(p) : p);
      };
    }
    case "piecewiseConstantDecay": {
      const { boundaries, values } = lr;
      if (!Array.isArray(boundaries) || boundaries.length === 0)
        throw new EngineError("boundaries must be a non-empty list of step counts", at("boundaries"));
      boundaries.forEach((b, i) => {
        if (!Number.isFinite(b) || (i > 0 && !(b > boundaries[i - 1]!)))
          throw new EngineError("boundaries must be finite and strictly increasing", [
            ...at("boundaries"),
            i,
          ]);
      });
      if (!Array.isArray(values) || values.length !== boundaries.length + 1)
        throw new EngineError(
          `values needs ${boundaries.length + 1} entries, one more than the ${boundaries.length} boundaries; got ${Array.isArray(values) ? values.length : "none"}`,
          at("values"),
        );
      values.forEach((v, i) => {
        rate(v, [...at("values"), i]);
      });
      // Keras: values[0] for step ≤ b0, values[i] for b(i−1) < step ≤ b(i), values[last] beyond.
      return (step) => {
        for (let i = 0; i < boundaries.length; i++) if (step <= boundaries[i]!) return values[i]!;
        return values[values.length - 1]!;
      };
    }
    case "cosineDecay": {
      const initial = rate(lr.initialLearningRate, at("initialLearningRate"));
      const decaySteps = positive(lr.decaySteps, at("decaySteps"));
      const alpha = lr.alpha ?? 0;
      if (!(alpha >= 0 && alpha <= 1)) throw new EngineError("alpha must be in [0, 1]", at("alpha"));
      const decay = (step: number, from: number): number => {
        // Keras' CosineDecay._decay_function, in its order of operations.
        const completed = step / decaySteps;
        const cosine = 0.5 * (1 + Math.cos(Math.PI * completed));
        return from * ((1 - alpha) * cosine + alpha);
      };
      if (lr.warmupTarget === undefined) return (step) => decay(Math.min(step, decaySteps), initial);
      const target = rate(lr.warmupTarget, at("warmupTarget"));
      const warmupSteps = lr.warmupSteps ?? 0;
      if (!(Number.isFinite(warmupSteps) && warmupSteps >= 0))
        throw new EngineError("warmupSteps must be a finite number ≥ 0", at("warmupSteps"));
      return (step) => {
        const s = Math.min(step, decaySteps + warmupSteps);
        if (s < warmupSteps) return (target - initial) * (s / warmupSteps) + initial;
        return decay(s - warmupSteps, target);
      };
    }
    default:
      throw new EngineError(
        `unknown learning-rate schedule ${JSON.stringify((lr as { type?: unknown }).type)}; expected a number, exponentialDecay, piecewiseConstantDecay or cosineDecay`,
        at("type"),
      );
  }
}

function rate(v: unknown, path: (string | number)[]): number {
  if (typeof v !== "number" || !Number.isFinite(v) || v < 0)
    throw new EngineError(`a learning rate must be a finite number ≥ 0, got ${String(v)}`, path);
  return v;
}

function positive(v: unknown, path: (string | number)[]): number {
  if (typeof v !== "number" || !Number.isFinite(v) || v <= 0)
    throw new EngineError(
      `${String(path[path.length - 1])} must be a finite number > 0, got ${String(v)}`,
      path,
    );
  return v;
}
