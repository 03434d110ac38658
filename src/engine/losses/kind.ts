import type { LossName } from "../spec.js";

/**
 * How the loss meets the model's output. `fused` cross-entropies take LOGITS and are computed with
 * log-sum-exp, so logits of ±1000 give a finite loss and gradient; their gradient is
 * `∂L/∂x = y − t` (docs/backprop.md §6.4, §6.5). The logits are the input of the model's final
 * softmax/sigmoid, which the loss then replaces, or, with `fromLogits`, the model output itself
 * (docs/backprop.md §14.3).
 */
export interface LossKind {
  loss: LossName;
  fused: false | "softmax" | "sigmoid";
  /** The logits are the model output (Keras' `fromLogits`); no layer is skipped. */
  fromLogits?: boolean;
  /** Cross-entropies: label smoothing in [0, 1]; 0 when absent. */
  labelSmoothing?: number;
  /** Huber: the threshold; 1 when absent. */
  delta?: number;
}

/** Probabilities are clipped to [EPSILON, 1 − EPSILON] in the unfused cross-entropies (Keras' epsilon). */
export const EPSILON = 1e-7;
