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
}

/** What one epoch reports to `onEpochEnd`. */
export interface EpochLogs {
  epoch: number;
  loss: number;
  accuracy?: number;
  valLoss?: number;
  valAccuracy?: number;
}

export interface TrainOptions {
  model: ModelSpec;
  data: Dataset;
  optimizer: OptimizerSpec;
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
