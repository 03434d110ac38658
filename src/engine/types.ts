import type { MetricName, MetricSeries } from "./metrics/names.js";
import type { GradientOptimizerSpec, ModelSpec, OptimizerSpec } from "./spec.js";
import type { NamedTensors, Tensor } from "./tensor.js";

/**
 * A data set in the engine's flat form.
 * - `x`: `[n, ...inputShape]` row-major, `n · size(inputShape)` values.
 * - `y`: for `sparseCategoricalCrossentropy`, `n` integer labels in `[0, units)`;
 *   otherwise `[n, ...outputShape]`, `n · size(outputShape)` target values.
 */
export interface Dataset {
  n: number;
  x: Float64Array;
  y: Float64Array;
}

/**
 * Per-epoch values, one entry per epoch run in this call (a resumed run starts afresh). With
 * `TrainOptions.metrics`, a series per metric (`precision`, `auc`, `r2`, …) from the epoch's
 * training batches and, with a validation split, `val…` ones (`valPrecision`) from the split at the
 * end of the epoch (docs/backprop.md §20.3).
 */
export interface History extends MetricSeries<number[]> {
  /** Mean training loss over the epoch (batch losses weighted by batch size, as Keras). */
  loss: number[];
  /** Training accuracy over the epoch, for classification losses. */
  accuracy?: number[];
  /** Loss on the validation split at the end of the epoch. */
  valLoss?: number[];
  /** Accuracy on the validation split at the end of the epoch. */
  valAccuracy?: number[];
  /**
   * For a linear regression model trained by `sgd` or `adam` (see `TrainResult.optimum`): the
   * distance ‖W − W*‖ from the weights at the end of each epoch to the least-squares optimum,
   * the Frobenius norm over kernel and bias together.
   */
  distanceToOptimum?: number[];
  /**
   * When the model has a kernel, bias or activity regulariser: the epoch's mean regularisation
   * penalty (docs/backprop.md §16.2), the part of `loss` it adds (the data loss is the difference).
   */
  regularizationLoss?: number[];
}

/** What one epoch reports to `onEpochEnd` (with the metrics asked for, keyed as in `History`). */
export interface EpochLogs extends MetricSeries<number> {
  /** 0-based; a resumed run continues the numbering (`TrainResult.initialEpoch`). */
  epoch: number;
  loss: number;
  accuracy?: number;
  valLoss?: number;
  valAccuracy?: number;
  /** As `History.distanceToOptimum`, when the result carries an `optimum`. */
  distanceToOptimum?: number;
}

export interface TrainOptions {
  model: ModelSpec;
  data: Dataset;
  optimizer: OptimizerSpec;
  /**
   * Passes over the training set in this call, also when resuming (ignored by `normalEquation`,
   * which makes one).
   */
  epochs: number;
  /** Samples per mini-batch; clamped to the training set size (Keras). Default 32. */
  batchSize?: number;
  /** Reshuffle the training samples every epoch (seeded). Default true. */
  shuffle?: boolean;
  /** Seed for initialisation and shuffling (uint32). */
  seed: number;
  /** Fraction in [0, 1) of samples, taken from the end before shuffling (Keras), held out. */
  validationSplit?: number;
  /** Weights to start from instead of the seeded Glorot initialisation. */
  initialWeights?: NamedTensors;
  /** Called after every epoch; return `false` to stop training early. */
  onEpochEnd?: (logs: EpochLogs) => boolean | undefined;
  /**
   * Record gradient and activation statistics per epoch into `TrainResult.telemetry` (see
   * `Telemetry`). Default false; when off the training loop does no extra work.
   */
  telemetry?: boolean;
  /** Stop when the monitored loss stops improving, as Keras' `EarlyStopping` (see `EarlyStoppingOptions`). */
  earlyStopping?: EarlyStoppingOptions;
  /**
   * Put the optimiser's state in `TrainResult.optimizerState`, so a later run can continue this one
   * exactly. Default false. Ignored by `normalEquation`.
   */
  returnOptimizerState?: boolean;
  /**
   * Continue a run: the `optimizerState` an earlier result returned, sent with that result's `weights`
   * as `initialWeights` and the same data, `validationSplit`, `shuffle` and optimiser. Training `a`
   * epochs and then `b` more this way gives bit-identical weights to training `a + b` at once
   * (same `batchSize`; the learning-rate schedule and Adam's bias correction continue from
   * `iterations`, shuffling from `shuffleRng` and `shuffleOrder`, dropout masks from `dropoutRng`,
   * epoch numbers from `epochsCompleted`).
   * @throws EngineError at `["optimizerState", …]` when it does not fit the model, optimiser or data,
   *   and at `["optimizerState"]` without `initialWeights` or with `normalEquation`.
   */
  optimizerState?: OptimizerState;
  /**
   * Keras' `sample_weight`, `[n]`: each sample's loss is multiplied by its weight (finite, ≥ 0), the
   * batch loss is `Σ wᵢ·lᵢ / batchSize` (docs/backprop.md §20.1). Shuffled with its samples; the
   * validation split takes its weights along, and `valLoss` is weighted by them (Keras 3). Weights
   * that are all 1 compute exactly as none.
   * @throws EngineError at `["sampleWeight"]` for a length other than `data.n` or with
   *   `normalEquation`, at `["sampleWeight", i]` for a weight that is not finite or negative.
   */
  sampleWeight?: Float64Array;
  /**
   * Keras' `class_weight`, `{ class index: weight }` for classifiers: a training sample's loss weight
   * is multiplied by its class's (1 for a class left out). The class is the label (sparse), the
   * target's argmax (several units), or for one unit 1 when the target is above 0.5 (0 for the
   * hinges), else 0. Training only: `valLoss` ignores it (Keras).
   * @throws EngineError at `["classWeight"]` on a regression loss, at `["classWeight", key]` for a key
   *   that is not a class index or a weight that is not finite or negative.
   */
  classWeight?: Record<string, number>;
  /**
   * Keras' `compile(metrics=…)`: series added to `history` (training, and `val…` with a validation
   * split) and values to `metrics` (docs/backprop.md §20.3). Unweighted. `accuracy` is reported for
   * every classifier anyway.
   * @throws EngineError at `["metrics", i]` for an unknown name or one that does not apply to the loss.
   */
  metrics?: MetricName[];
}

/**
 * Keras' `EarlyStopping` callback (mode "min", no baseline), checked after every epoch:
 * the epoch's value of `monitor` improves when `value + minDelta < best` (best starts at +∞, so the
 * first epoch always improves); an improvement records the epoch as best and resets a wait counter,
 * any other epoch increments it, and training stops at the end of an epoch with `wait ≥ patience`
 * (never after the first epoch of a run). With `restoreBestWeights` the weights at the end of the
 * best epoch are returned when training ends, however it ends (Keras 3's `on_train_end`).
 */
export interface EarlyStoppingOptions {
  /** `valLoss` (needs a `validationSplit`) or the training `loss`, as `history` names them. */
  monitor: "valLoss" | "loss";
  /** Epochs without improvement to wait before stopping; an integer ≥ 0. Default 0. */
  patience?: number;
  /** Smallest decrease that counts as an improvement; finite, its sign ignored (Keras uses |minDelta|). Default 0. */
  minDelta?: number;
  /** Return the best epoch's weights rather than the last ones. Default false. */
  restoreBestWeights?: boolean;
}

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

/**
 * How the `normalEquation` optimiser solved the least-squares problem on the training samples.
 * The design matrix is `[X 1]` (n × (inputs + 1)), or `X` when the dense layer has no bias.
 */
export interface ClosedFormSolution {
  /**
   * `qr`: Householder QR of the centred, unit-norm columns (full rank: the unique minimiser).
   * `svd`: the data are rank-deficient (a duplicated or constant column, fewer samples than
   * columns): the minimum-norm minimiser over kernel and bias together, from the SVD.
   */
  method: "qr" | "svd";
  /** Numerical rank of the design matrix (singular values above max(n, q)·σ_max·ε, columns scaled). */
  rank: number;
  /** Training mean squared error at the solution (mean over samples and outputs, as Keras). */
  mse: number;
  /**
   * Coefficient of determination 1 − SS_res/SS_tot on the training samples, pooled over outputs;
   * SS_tot about the mean with a bias, about zero without one (as R's `lm` and NIST).
   */
  r2: number;
}

/**
 * Loss and accuracy at the returned weights: training values over the training samples, `val…`
 * over the validation split; with `TrainOptions.metrics`, those metrics too. The loss is the
 * weighted one with `sampleWeight`/`classWeight` (as `history.loss`). A value that is not finite is
 * left out (and named in `TrainResult.nonFinite`); with the loss its accuracy, computed from the same outputs.
 */
export interface TrainMetrics extends MetricSeries<number> {
  loss?: number;
  accuracy?: number;
  valLoss?: number;
  valAccuracy?: number;
}

export interface TrainResult {
  /**
   * Final weights, always finite: after a divergence the last finite ones (see `Divergence`); with
   * `earlyStopping.restoreBestWeights` those at the end of the best epoch.
   */
  weights: NamedTensors;
  /** Per-epoch values of this run (a resumed run's first entry is epoch `initialEpoch`). */
  history: History;
  /**
   * Gradient of the mean loss over the whole training set at the returned weights. Absent when
   * some element is not finite (see `nonFinite`).
   */
  gradients?: NamedTensors;
  /** Loss (and accuracy, validation values) at the returned weights; non-finite ones are left out. */
  metrics: TrainMetrics;
  /** Epochs completed in this run (an epoch where training diverged is not counted). */
  epochsRun: number;
  /** 0-based number of this run's first epoch: 0, or `optimizerState.epochsCompleted` when resumed. */
  initialEpoch: number;
  /** Present when the run stopped on a non-finite value: where, and why. */
  diverged?: Divergence;
  /**
   * Present when values at the returned weights are not finite: `omitted` lists the fields left out
   * (`"loss"`, `"accuracy"`, `"valLoss"`, `"valAccuracy"` of `metrics`, and `"gradients"`). Happens
   * after `diverged` at the `activation`, `loss`, `gradient` or `valLoss` stage (the returned weights
   * are where it appeared), and when the run's very last step overshot (no later batch saw it).
   */
  nonFinite?: { omitted: (keyof TrainMetrics | "gradients")[]; message: string };
  /**
   * Classifiers: the confusion matrix at the returned weights (docs/backprop.md §20.4), rows the
   * true class, columns the predicted one, counting samples (multi-class: argmax; one unit: classes 0
   * and 1) or, for a multi-label output (binary cross-entropy or hinge on several units), every
   * output element's decision, pooled.
   */
  confusionMatrix?: ConfusionMatrix;
  /** Present when `onEpochEnd` or `earlyStopping` stopped training before `epochs`. */
  stoppedEarly?: boolean;
  /** With `earlyStopping`: the 0-based epoch after which it stopped training; absent when it did not. */
  stoppedEpoch?: number;
  /** With `earlyStopping`: the 0-based epoch with the best monitored value (absent when no epoch completed). */
  bestEpoch?: number;
  /** Per-epoch gradient and activation statistics, when `telemetry` was asked for. */
  telemetry?: Telemetry;
  /**
   * With `returnOptimizerState`: the optimiser's state matching the returned weights, to continue
   * with (`TrainOptions.optimizerState`). Absent after a divergence, unless `restoreBestWeights`
   * returned the best epoch's weights (then it is the state at the end of that epoch).
   */
  optimizerState?: OptimizerState;
  /** `ENGINE_VERSION` of the engine that trained: with the options and `seed`, the run's identity. */
  engineVersion: string;
  /** The seed used for initialisation (when no `initialWeights`) and shuffling. */
  seed: number;
  /**
   * SHA-256 of the returned weights over the canonical encoding of `weightsSha256` (keys in
   * code-point order; per tensor: uint32 LE key byte length, UTF-8 key, uint32 LE rank, uint32 LE
   * dimensions, float64 LE values row-major), lowercase hex. Equal digests: bit-identical weights.
   */
  weightsSha256: string;
  /**
   * Present for `optimizer: { type: "normalEquation" }`. Such a run has `epochsRun: 1` and
   * `history.loss` = [the final training MSE] (one pass over the data; `epochs` is ignored).
   */
  solution?: ClosedFormSolution;
  /**
   * For a linear regression model (one dense layer, linear activation, `meanSquaredError`) trained
   * with `sgd` or `adam`: the closed-form least-squares weights on the training samples, keyed as
   * `weights`; `history.distanceToOptimum` tracks the distance to them. On rank-deficient data it
   * is the minimum-norm optimum, which gradient descent need not approach (it keeps the part of its
   * initial weights that the data cannot see). Omitted when the problem is larger than
   * `OPTIMUM_BUDGET` (samples × columns² > 5·10⁷), where solving it would dominate training time.
   */
  optimum?: NamedTensors;
}

/** `TrainResult.confusionMatrix`: `train[true][predicted]` counts. */
export interface ConfusionMatrix {
  /** The class indices of the rows and columns: 0 … units − 1, or [0, 1] for binary decisions. */
  labels: number[];
  /** On the training samples. */
  train: number[][];
  /** On the validation samples, with a validation split. */
  validation?: number[][];
}

/** Numerical-check settings (docs/backprop.md §10). */
export interface NumericalCheckOptions {
  /** `central`: (f(w+h) − f(w−h)) / 2h, error O(h²); `forward`: (f(w+h) − f(w)) / h, O(h). */
  method?: "central" | "forward";
  /** The step h. Default 1e-5. */
  epsilon?: number;
}

export interface GradientsOptions {
  model: ModelSpec;
  /** Weights to inspect; when absent they are initialised from `seed`. */
  weights?: NamedTensors;
  seed: number;
  /** The batch (usually one sample). */
  data: Dataset;
  numericalCheck?: NumericalCheckOptions;
  /**
   * Run the forward pass as a training step sees it (default true): dropout masks drawn from
   * `seed`, batch statistics from the data. False: inference.
   */
  training?: boolean;
}

export interface NumericalReport {
  method: "central" | "forward";
  epsilon: number;
  gradients: NamedTensors;
  /** max |analytic − numerical| over every parameter. */
  maxAbsError: number;
  /** max |a − n| / max(|a|, |n|, 1e-12)... see `relativeError`. */
  maxRelError: number;
  /** The parameter element with the largest relative error. */
  worst: { key: string; index: number[]; analytic: number; numerical: number; relError: number };
}

export interface GradientsResult {
  loss: number;
  /** Model output `[n, ...outputShape]`. */
  output: Tensor;
  /** Output of every spec layer (after its activation), `[n, ...layerOutputShape]`. */
  activations: { layer: string; output: Tensor }[];
  gradients: NamedTensors;
  /** The weights used (handy when they were seeded). */
  weights: NamedTensors;
  /**
   * In training mode, per dropout layer: the mask it applied, `[n, ...inputShape]`, each value 0
   * (dropped) or 1/(1 − rate) (kept and scaled), so the layer's output is its input times the mask.
   */
  dropoutMasks?: NamedTensors;
  numerical?: NumericalReport;
  /** What the numbers alone do not say (absent when there is nothing to say), in layer order. */
  warnings?: GradientsWarning[];
}

/**
 * A remark on an inspection. `batchStatisticsOfOneValue`: in training mode a batch normalisation
 * layer took its statistics over one value per channel, so its output is its beta and no gradient
 * flows below it (docs/backprop.md §19.2).
 */
export interface GradientsWarning {
  /** What kind of remark, stable for programs (the message is for people). */
  code: "batchStatisticsOfOneValue";
  /** The spec layer it concerns. */
  layer: string;
  message: string;
}
