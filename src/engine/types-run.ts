/**
 * The engine's run-state and diagnostics types: the optimiser state that continues a run, the
 * per-epoch telemetry and where a run diverged. Re-exported from `types.ts`, whose `TrainOptions`
 * and `TrainResult` carry them.
 */
import type { GradientOptimizerSpec } from "./spec.js";
import type { NamedTensors } from "./tensor.js";

/**
 * Everything a gradient optimiser carries from one step to the next, as plain data: with the
 * weights, enough to continue a run exactly (see `TrainOptions.optimizerState`).
 */
export interface OptimizerState {
  /** The optimiser it belongs to. */
  type: GradientOptimizerSpec["type"];
  /**
   * Updates made so far (Keras' `optimizer.iterations`): the step the learning-rate schedule is
   * evaluated at next, and Adam's t − 1.
   */
  iterations: number;
  /** Epochs completed so far: the 0-based number of the next epoch. */
  epochsCompleted: number;
  /** `sgd` with momentum > 0 only: the velocity v of `v ← μ·v − η·g`, keyed and shaped as the weights. */
  velocity?: NamedTensors;
  /** `adam`, `adamw`, `nadam`, `adamax`: the first-moment estimate m, keyed and shaped as the weights. */
  m?: NamedTensors;
  /** `adam`, `adamw`, `nadam`: the second-moment estimate v (≥ 0), keyed and shaped as the weights. */
  v?: NamedTensors;
  /** `rmsprop`: the mean square ms (≥ 0) of `ms ← ρ·ms + (1 − ρ)·g²` (docs/backprop.md §15.3). */
  meanSquare?: NamedTensors;
  /** `rmsprop` with `centered`: the mean gradient mg of `mg ← ρ·mg + (1 − ρ)·g`. */
  meanGradient?: NamedTensors;
  /** `rmsprop` with momentum > 0: the accumulated step `mom ← μ·mom + η·g/√d`, `w ← w − mom`. */
  momentum?: NamedTensors;
  /** `adagrad`: the sum of squared gradients (≥ 0), from `initialAccumulatorValue` (§15.4). */
  accumulator?: NamedTensors;
  /** `adadelta`: the running mean of g² (≥ 0), Keras' `accumulated_grad` (§15.5). */
  accumulatedGrad?: NamedTensors;
  /** `adadelta`: the running mean of the squared updates (≥ 0), Keras' `accumulated_delta_var`. */
  accumulatedUpdate?: NamedTensors;
  /** `adamax`: the exponentially weighted infinity norm u (≥ 0) of `u ← max(β2·u, |g|)` (§15.6). */
  u?: NamedTensors;
  /** The shuffling generator's xoshiro128** state: four integers in [0, 2³²). */
  shuffleRng: number[];
  /**
   * The order of the training samples after the latest shuffle (each epoch shuffles the previous
   * order in place): a permutation of 0 … nTrain − 1.
   */
  shuffleOrder: number[];
  /**
   * Only for a model with dropout layers: each one's xoshiro128** generator state (four integers in
   * [0, 2³²)), keyed by the layer's name (docs/backprop.md §18.3).
   */
  dropoutRng?: Record<string, number[]>;
}

/**
 * Per-epoch training statistics (`TrainOptions.telemetry`), one array entry per epoch run, aligned
 * with `history`. Taken during training, not in an extra pass: each batch is seen at the weights of
 * its own step.
 */
export interface Telemetry {
  /**
   * Per parameter key: the mean over the epoch's batches of ‖g‖₂, where g is the gradient of that
   * batch's mean loss with respect to the whole tensor (the gradient the optimiser steps along).
   */
  gradientNorm: Record<string, number[]>;
  /**
   * Per parameter key: ‖W_end − W_start‖₂ / ‖W_start‖₂ over the epoch (start and end of the epoch),
   * `null` when ‖W_start‖₂ = 0 (a zero-initialised bias in the first epoch). Rule of thumb
   * (Karpathy, CS231n): about 1e-3 per update; this is over all of the epoch's updates.
   */
  updateRatio: Record<string, (number | null)[]>;
  /** Per spec layer whose activation is relu, sigmoid or tanh (keyed by layer name). */
  activations: Record<string, ActivationTelemetry>;
  /**
   * Per parameter key with a kernel or bias regulariser: the mean over the epoch's batches of
   * ‖∂P/∂w‖₂, the norm of the penalty's own part of the gradient (compare with `gradientNorm`;
   * docs/backprop.md §16.2). An activity penalty reaches the weights through back-propagation
   * and is not separated.
   */
  regularizationGradientNorm?: Record<string, number[]>;
  /**
   * Only for a model with recurrent layers (simpleRNN, lstm, gru), per such layer (keyed by name),
   * per epoch, per timestep t = 1 … T in processing order (entry t − 1; input step T + 1 − t with
   * `goBackwards`): the mean over the epoch's training samples of ‖∂(wᵢlᵢ)/∂h_t‖₂, the norm of the
   * gradient of the sample's own (weighted) loss with respect to its state h_t, the whole gradient on
   * h_t (from the output and from step t + 1), each sample at the weights of its batch's step
   * (docs/backprop.md §22.5). Where it falls towards t = 1 the gradient vanishes through time.
   */
  stateGradientNorm?: Record<string, number[][]>;
}

/** Health of one activation layer over each epoch. */
export interface ActivationTelemetry {
  activation: "relu" | "sigmoid" | "tanh";
  /**
   * relu: the fraction of units whose output was exactly 0 on every training sample of the epoch
   * ("dead"). A unit is an entry of the last axis: a dense layer's neuron, a conv2d layer's filter
   * (dead when 0 at every position of every sample).
   */
  deadFraction?: number[];
  /**
   * sigmoid and tanh: the fraction of (output element, training sample) pairs of the epoch within
   * `SATURATION_TOLERANCE` (1e-3) of an asymptote — sigmoid output < 1e-3 or > 1 − 1e-3 (|x| ≳ 6.9),
   * tanh |output| > 1 − 1e-3 (|x| ≳ 3.8) — where the derivative is below about 1e-3 and gradients vanish.
   */
  saturatedFraction?: number[];
}

/**
 * Where training first produced a non-finite value (NaN or ±Infinity); the run stopped there.
 * Checked at every batch, in this order: every layer's output in the forward pass
 * (`activation`), the batch loss (`loss`), every parameter's gradient (`gradient`), every weight
 * after the optimiser step (`weight`); and after each epoch the validation loss (`valLoss`).
 * The returned weights are always finite: for `gradient` and `weight`, those from before the failing
 * step (it is undone); otherwise the weights at which the non-finite value appeared.
 */
export interface Divergence {
  /** 0-based epoch (continuing a resumed run's numbering). It is not counted in `epochsRun` or `history`. */
  epoch: number;
  /** 0-based batch within that epoch; for `valLoss`, the epoch's last batch (it is evaluated after it). */
  batch: number;
  stage: "activation" | "loss" | "gradient" | "weight" | "valLoss";
  /**
   * For `activation`: the spec layer whose output (or pre-activation output) is non-finite, the first
   * in forward order. For `gradient` and `weight`: the layer owning `parameter`.
   */
  layer?: string;
  /**
   * For `gradient`: the first parameter in back-propagation order (nearest the output) with a
   * non-finite gradient, or whose gradient² overflowed Adam's second moment. For `weight`: the
   * first parameter, in model order, that the step made non-finite.
   */
  parameter?: string;
  /**
   * For `activation`, `loss` and `valLoss`, when a step preceded the failure in this run: the parameter that
   * step changed most relative to its size, ‖W_after − W_before‖₂ / ‖W_before‖₂ (`null` for a
   * tensor that was all zero, ranked last) — the likeliest culprit of an overshooting step
   * (a learning rate too large multiplies a weight by about 1 − η·∂²L/∂w²).
   */
  largestUpdate?: { parameter: string; ratio: number | null };
  /**
   * The mean loss of the latest training batch whose loss was finite (for `gradient` and `weight`
   * the offending batch's own); absent when the run's first batch failed.
   */
  lastFiniteLoss?: number;
  message: string;
}
