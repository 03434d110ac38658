import type { ModelSpec, OptimizerSpec } from "./spec.js";
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

/** Per-epoch values, one entry per epoch run. */
export interface History {
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
}

/** What one epoch reports to `onEpochEnd`. */
export interface EpochLogs {
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
  /** Passes over the training set (ignored by `normalEquation`, which makes one). */
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
}

/** Training stopped because the loss became NaN or infinite. */
export interface Divergence {
  /** 0-based epoch at which a non-finite loss first appeared. */
  epoch: number;
  /** 0-based batch within that epoch. */
  batch: number;
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

export interface TrainResult {
  /** Final weights (the last finite ones if training diverged). */
  weights: NamedTensors;
  history: History;
  /** Gradient of the mean loss over the whole training set at the final weights. */
  gradients: NamedTensors;
  /** Loss (and accuracy, validation values) at the final weights. */
  metrics: { loss: number; accuracy?: number; valLoss?: number; valAccuracy?: number };
  epochsRun: number;
  /** Present when the run stopped on a non-finite loss. */
  diverged?: Divergence;
  /** Present when `onEpochEnd` asked to stop. */
  stoppedEarly?: boolean;
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

/** Numerical-check settings (seed §2). */
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
  numerical?: NumericalReport;
}
