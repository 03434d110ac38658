import { EngineError } from "../errors.js";
import type { LossName, LossSpec } from "../spec.js";
import { type Floats, formatShape } from "../tensor.js";
import { resolveLoss } from "./options.js";

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
  /**
   * A loss over the last axis on a sequence output `[T, C]`: T. Each step is a row of C values, the
   * sample's loss the mean over its steps (Keras' `axis = -1`, docs/backprop.md §21.6).
   */
  steps?: number;
}

/**
 * A loss over a batch (`lossAndGrad` and the functions it dispatches to): `pred` `[batch, k]`,
 * targets `t` `[batch, k]` (`[batch]` labels for the sparse loss); returns the batch sum of the
 * per-sample losses and, when `grad` is given, writes `gradScale ·` its gradient with respect to
 * `pred` into it.
 */
export type LossFunction = (
  kind: LossKind,
  pred: Floats,
  t: Floats,
  batch: number,
  k: number,
  grad: Floats | null,
  gradScale: number,
) => number;

/** Probabilities are clipped to [EPSILON, 1 − EPSILON] in the unfused cross-entropies (Keras' epsilon). */
export const EPSILON = 1e-7;

/** Output activations whose values are never negative (poisson takes log(y + ε)). */
const NON_NEGATIVE = new Set<string>(["relu", "sigmoid", "softmax", "softplus", "relu6", "hardSigmoid"]);

/** Losses that read each sample's output as one vector (its last axis, Keras' `axis = -1`). */
const VECTOR_LOSSES = new Set<string>([
  "categoricalCrossentropy",
  "sparseCategoricalCrossentropy",
  "categoricalHinge",
  "kullbackLeiblerDivergence",
  "cosineProximity",
]);

/** The vector losses that also take a sequence output `[T, C]`, per step over its last axis. */
const PER_STEP_LOSSES = new Set<string>([
  "categoricalCrossentropy",
  "sparseCategoricalCrossentropy",
  "categoricalHinge",
  "kullbackLeiblerDivergence",
]);

/** A layer with no activation of its own (dropout, batchNormalization) after the model's last activation. */
export interface TrailingLayer {
  /** The layer's type, as in the spec. */
  type: string;
  /** The activation before it. */
  activation: string;
}

/** The output as a message says it, and how to fix it when a layer follows the output activation. */
function outputSaid(outAct: string, after: TrailingLayer | undefined): { said: string; fix: string } {
  if (!after) return { said: `the model's output activation is ${outAct}`, fix: "" };
  const a = /^[aeiou]/i.test(after.type) ? "an" : "a";
  return {
    said: `the model's last layer is ${a} ${after.type} layer after the output activation ${after.activation}`,
    fix: `the output layer must be last: move the ${after.type} layer before it, or `,
  };
}

/**
 * How the loss meets the model's output (see `LossKind`), with its options checked.
 * @param outActivation the activation of the model's last layer (`linear` when it has none).
 * @param outShape the model's output shape per sample.
 * @param after the layer without an activation that follows the last activation, when the model
 *   ends in one (a dropout after the softmax): named in the message instead of "linear".
 * @param fusable the activation is the model's last layer, so a cross-entropy may take its input
 *   as logits (`fused`); false when layers that only move values follow it (a flatten after a
 *   sigmoid): the loss then reads the output as probabilities, unfused.
 * @throws EngineError at `["loss"]` (or `["loss", option]`) when an option is out of range, a loss
 *   reading vectors meets an image output, a cross-entropy without `fromLogits` meets an output that
 *   is not probabilities, or poisson an output that can be negative.
 */
export function lossKindOf(
  spec: LossSpec,
  outActivation: string,
  outShape: number[],
  after?: TrailingLayer,
  fusable = true,
): LossKind {
  const { loss, fromLogits, labelSmoothing, delta } = resolveLoss(spec);
  const path = (field?: string): (string | number)[] =>
    typeof spec === "string" || field === undefined ? ["loss"] : ["loss", field];
  if (typeof delta !== "number" || !(delta > 0 && delta < Number.POSITIVE_INFINITY))
    throw new EngineError(`huber's delta must be a positive finite number, got ${delta}`, path("delta"));
  if (typeof labelSmoothing !== "number" || !(labelSmoothing >= 0 && labelSmoothing <= 1))
    throw new EngineError(`labelSmoothing must be in [0, 1], got ${labelSmoothing}`, path("labelSmoothing"));
  const options: { labelSmoothing?: number; delta?: number; steps?: number } = {
    ...(labelSmoothing !== 0 ? { labelSmoothing } : {}),
    ...(loss === "huber" ? { delta } : {}),
  };
  const perStep = PER_STEP_LOSSES.has(loss) && outShape.length === 2;
  if (perStep) options.steps = outShape[0]!;
  if (VECTOR_LOSSES.has(loss) && outShape.length !== 1 && !perStep)
    throw new EngineError(
      `${loss} needs a vector output, but the model outputs ${formatShape(outShape)}; ` +
        (outShape.length === 2
          ? "it does not read a sequence per step: use categoricalCrossentropy or meanSquaredError, or end the sequence with a recurrent layer without returnSequences"
          : "add flatten and dense layers"),
      path(),
    );
  if (fromLogits) {
    // The model output is the logits; the loss applies the softmax/sigmoid itself (docs/backprop.md §14.3).
    if (loss === "binaryCrossentropy") return { loss, fused: "sigmoid", fromLogits, ...options };
    return { loss, fused: "softmax", fromLogits, ...options };
  }
  const outAct = outActivation;
  const out = outputSaid(outAct, after);
  if (
    fusable &&
    outAct === "softmax" &&
    (loss === "categoricalCrossentropy" || loss === "sparseCategoricalCrossentropy")
  )
    return { loss, fused: "softmax", ...options };
  if (fusable && outAct === "sigmoid" && loss === "binaryCrossentropy")
    return { loss, fused: "sigmoid", ...options };
  // A cross-entropy reads the output as probabilities: a linear, relu or tanh output can be
  // negative or sum to 0, and the loss and its gradient are then undefined (NaN).
  const crossentropy =
    loss === "categoricalCrossentropy" ||
    loss === "sparseCategoricalCrossentropy" ||
    loss === "binaryCrossentropy";
  if (crossentropy && outAct !== "softmax" && outAct !== "sigmoid")
    throw new EngineError(
      `${loss} needs probabilities, but ${out.said}; ${out.fix}` +
        `end the model with activation ${loss === "binaryCrossentropy" ? "sigmoid" : "softmax"}, or set fromLogits`,
      path(),
    );
  if (loss === "poisson" && !NON_NEGATIVE.has(outAct))
    throw new EngineError(
      `poisson needs a non-negative output (it takes log(y + 1e-7)), but ${out.said}; ${out.fix}` +
        "end the model with activation relu, sigmoid or softmax",
      path(),
    );
  return { loss, fused: false, ...options };
}
