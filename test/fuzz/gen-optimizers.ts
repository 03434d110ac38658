/** Fuzz generators: learning rates and schedules, the optimisers' own fields, and extreme values of them. */
import type { Tree, TreeObject } from "./json-text.js";
import type { Rand } from "./rand.js";

export function genRate(r: Rand, max: number): Tree {
  if (r.bool(0.75)) return r.num(1e-4, max);
  switch (r.pick(["exponentialDecay", "piecewiseConstantDecay", "cosineDecay"])) {
    case "exponentialDecay": {
      const s: TreeObject = {
        type: "exponentialDecay",
        initialLearningRate: r.num(1e-4, max),
        decaySteps: r.int(1, 100),
        decayRate: r.num(0.1, 1),
      };
      if (r.bool(0.3)) s.staircase = r.bool();
      return s;
    }
    case "piecewiseConstantDecay": {
      const n = r.int(1, 3);
      let at = 0;
      const boundaries = Array.from({ length: n }, () => (at += r.int(1, 5)));
      return {
        type: "piecewiseConstantDecay",
        boundaries,
        values: Array.from({ length: n + 1 }, () => r.num(1e-4, max)),
      };
    }
    default: {
      const s: TreeObject = {
        type: "cosineDecay",
        initialLearningRate: r.num(1e-4, max),
        decaySteps: r.int(1, 100),
      };
      if (r.bool(0.3)) s.alpha = r.num(0, 1);
      if (r.bool(0.3)) {
        s.warmupTarget = r.num(1e-4, max);
        s.warmupSteps = r.int(0, 10);
      }
      return s;
    }
  }
}

/**
 * The fields of the optimisers after sgd and adam (Nesterov, rmsprop, adagrad, adadelta, adamax,
 * nadam, adamw), and at most one gradient clipping (two are a 400, as in Keras), drawn into `opt`.
 */
export function genOptimizerFields(r: Rand, opt: TreeObject): void {
  const type = opt.type;
  if (type === "sgd" && opt.momentum !== undefined && r.bool(0.5)) opt.nesterov = r.bool();
  if (type === "rmsprop") {
    if (r.bool(0.3)) opt.rho = r.num(0, 0.99);
    if (r.bool(0.3)) opt.momentum = r.num(0, 0.95);
    if (r.bool(0.3)) opt.epsilon = r.num(1e-8, 1e-3);
    if (r.bool(0.3)) opt.centered = r.bool();
  }
  if (type === "adagrad" && r.bool(0.4)) opt.initialAccumulatorValue = r.num(0, 1);
  if (type === "adadelta") {
    if (r.bool(0.3)) delete opt.learningRate;
    if (r.bool(0.3)) opt.rho = r.num(0, 0.99);
    if (r.bool(0.3)) opt.epsilon = r.num(1e-8, 1e-3);
  }
  if (type === "adamax" || type === "nadam" || type === "adamw") {
    if (r.bool(0.2)) opt.beta1 = r.num(0, 0.99);
    if (r.bool(0.2)) opt.beta2 = r.num(0, 0.9999);
    if (r.bool(0.2)) opt.epsilon = r.num(1e-8, 1e-3);
  }
  if (type === "adamw" && r.bool(0.4)) opt.weightDecay = r.num(0, 0.5);
  if (r.bool(0.25)) opt[r.pick(CLIPS)] = r.num(1e-3, 10);
}

const CLIPS = ["clipnorm", "clipvalue", "globalClipnorm"] as const;

/** Extreme but valid values of those fields: the answer is a 200 with finite weights, or a 422. */
export function extremeOptimizerFields(r: Rand, opt: TreeObject): void {
  const type = opt.type;
  if (type === "rmsprop" || type === "adadelta") {
    opt.rho = r.pick([0, 0.999999999]);
    opt.epsilon = r.pick([1, 5e-324]);
    if (type === "rmsprop") opt.centered = r.bool();
  }
  if (type === "adagrad") opt.initialAccumulatorValue = r.pick([0, 1e300]);
  if (type === "adamax" || type === "nadam" || type === "adamw") {
    opt.beta1 = r.pick([0, 0.999999999]);
    opt.beta2 = r.pick([0, 0.999999999]);
    opt.epsilon = r.pick([1, 5e-324]);
  }
  if (type === "adamw") opt.weightDecay = r.pick([0, 1e6]);
  if (type !== "normalEquation" && r.bool(0.5)) {
    for (const clip of CLIPS) delete opt[clip];
    opt[r.pick(CLIPS)] = r.pick([5e-324, 1e300]);
  }
}
