import type { MetricName, MetricSeries } from "./metrics/names.js";
import type { ModelSpec, OptimizerSpec } from "./spec.js";
import type { Dtype, NamedTensors, Tensor } from "./tensor.js";
import type { Divergence, OptimizerState, Telemetry } from "./types-run.js";

export type { ActivationTelemetry, Divergence, OptimizerState, Telemetry } from "./types-run.js";

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
  /**
   * The element type of every array of the run: `float64` (default, exact to double precision) or
   * `float32` (IEEE single precision, half the memory traffic; initial weights and data rounded to
   * float32 once). Either is deterministic. docs/precision.md.
   */
  dtype?: Dtype;
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
   * Compute `TrainResult.gradients`, the mean-loss gradient over the whole training set at the
   * final weights (one more backward pass over every sample). Default true; false leaves them out
   * and the metrics as they are (the same forward pass gives them).
   */
  finalGradients?: boolean;
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

/** A finite-difference rule of the numerical check (docs/backprop.md §10.1, §10.4). */
export type NumericalMethod = "central" | "forward" | "ridders";

/** Numerical-check settings (docs/backprop.md §10). */
export interface NumericalCheckOptions {
  /**
   * `central`: (f(w+h) − f(w−h)) / 2h, error O(h²); `forward`: (f(w+h) − f(w)) / h, O(h);
   * `ridders`: central differences over steps shrinking from h, extrapolated to 0 (docs/backprop.md §10.4).
   */
  method?: NumericalMethod;
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
   * The dtype of the forward and backward passes (default float64): float32 gives float32
   * gradients; the numerical check still runs in float64, on the float32 weights (docs/precision.md §5).
   */
  dtype?: Dtype;
  /**
   * Run the forward pass as a training step sees it (default true): dropout masks drawn from
   * `seed`, batch statistics from the data. False: inference.
   */
  training?: boolean;
}

export interface NumericalReport {
  method: NumericalMethod;
  epsilon: number;
  gradients: NamedTensors;
  /** max |analytic − numerical| over every parameter. */
  maxAbsError: number;
  /** max over the elements of |a − n| / max(|a|, |n|, 1e-8) (docs/backprop.md §10.3). */
  maxRelError: number;
  /**
   * ‖a − n‖₂ / max(‖a‖₂, ‖n‖₂) over every element of every parameter (0 when both are 0): the error
   * measured against the gradient's size, which elements far below the rest cannot dominate (§10.3).
   */
  normRelError: number;
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
  /**
   * Per recurrent layer (simpleRNN, lstm, gru; keyed by name; a bidirectional layer's two copies
   * by their weight prefixes, `<name>/forward_<inner>`, `<name>/backward_<inner>`): its states h_1 … h_T `[n, T, units]`
   * in processing order, and `stateGradientNorm[t − 1]` = ‖∂L/∂h_t‖₂, the whole gradient on h_t
   * (from the output and from step t + 1), summed over the n samples' rows: for one sample, its
   * norm; for several, each sample's own loss gradient's norm averaged (docs/backprop.md §22.5).
   */
  recurrent?: Record<string, { states: Tensor; stateGradientNorm: number[] }>;
  /** What the numbers alone do not say (absent when there is nothing to say), in layer order. */
  warnings?: GradientsWarning[];
}

/**
 * A remark on an inspection. `batchStatisticsOfOneValue`: in training mode a batch normalisation
 * layer took its statistics over one value per channel, so its output is its beta and no gradient
 * flows below it (docs/backprop.md §19.2). `stepBelowResolution`: the numerical check's step is lost
 * against some weights (w + h == w), whose numerical gradients are then 0 (§10.2).
 */
export interface GradientsWarning {
  /** What kind of remark, stable for programs (the message is for people). */
  code: "batchStatisticsOfOneValue" | "stepBelowResolution";
  /** The spec layer it concerns. */
  layer: string;
  message: string;
}
