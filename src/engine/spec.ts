/**
 * The plain-data description of a model, as the HTTP contract (`src/schemas`, `openapi/openapi.json`) spells it.
 * Shapes are per sample (no batch axis). The zod schemas in `src/schemas` validate requests
 * into exactly these types.
 */

import type { InitializerSpec } from "./initializers.js";
import type { ElementwiseName } from "./layers/elementwise.js";
import type { ConstraintSpec, RegularizerName, RegularizerSpec } from "./regularizers.js";
import type {
  BatchNormalizationSpec,
  DropoutSpec,
  EluSpec,
  GlobalPooling2dSpec,
  LayerNormalizationSpec,
  LeakyReluSpec,
  PreluSpec,
  ReshapeSpec,
  SoftmaxSpec,
  ZeroPadding2dSpec,
} from "./spec-layers.js";
import type { RecurrentSpec } from "./spec-recurrent.js";
import type { SequenceLayerSpec } from "./spec-sequence.js";
import type { WrapperSpec } from "./spec-wrappers.js";

export type {
  BatchNormalizationSpec,
  DropoutSpec,
  EluSpec,
  GlobalPooling2dSpec,
  LayerNormalizationSpec,
  LeakyReluSpec,
  PreluSpec,
  ReshapeSpec,
  SoftmaxSpec,
  ZeroPadding2dPadding,
  ZeroPadding2dSpec,
} from "./spec-layers.js";
export type {
  CellActivationName,
  GruSpec,
  LstmSpec,
  RecurrentOptions,
  RecurrentSpec,
  SimpleRnnSpec,
} from "./spec-recurrent.js";
export type {
  Conv1dSpec,
  EmbeddingSpec,
  GlobalPooling1dSpec,
  Pooling1dSpec,
  SequenceLayerSpec,
} from "./spec-sequence.js";
export type { BidirectionalSpec, MergeMode, TimeDistributedSpec, WrapperSpec } from "./spec-wrappers.js";

/**
 * Element-wise or row-wise activation functions (docs/backprop.md §5, §13), tfjs-layers' names:
 * the textbook five, then those of `layers/elementwise.ts`.
 */
export type ActivationName = "linear" | "sigmoid" | "tanh" | "relu" | "softmax" | ElementwiseName;

/** Loss functions, Keras names (docs/backprop.md §6, §14). */
export type LossName =
  | "meanSquaredError"
  | "categoricalCrossentropy"
  | "sparseCategoricalCrossentropy"
  | "binaryCrossentropy"
  | "meanAbsoluteError"
  | "meanAbsolutePercentageError"
  | "meanSquaredLogarithmicError"
  | "huber"
  | "logcosh"
  | "hinge"
  | "squaredHinge"
  | "categoricalHinge"
  | "kullbackLeiblerDivergence"
  | "poisson"
  | "cosineProximity";

/** The three cross-entropies, which take `fromLogits` and `labelSmoothing`. */
export type CrossentropyName =
  | "categoricalCrossentropy"
  | "sparseCategoricalCrossentropy"
  | "binaryCrossentropy";

/**
 * A cross-entropy with Keras' options (docs/backprop.md §14.3): `fromLogits` (default false) reads the
 * model output as logits and fuses the softmax/sigmoid into the loss; `labelSmoothing` in [0, 1]
 * (default 0) mixes the targets with the uniform distribution, `t(1 − s) + s/k` (`s/2` for binary).
 */
export interface CrossentropyLossSpec {
  type: CrossentropyName;
  fromLogits?: boolean;
  labelSmoothing?: number;
}

/** The Huber loss (docs/backprop.md §14.1): quadratic within `delta` (> 0, default 1), linear beyond. */
export interface HuberLossSpec {
  type: "huber";
  delta?: number;
}

/** A loss without options, in the object form. */
export interface PlainLossSpec {
  type: Exclude<LossName, CrossentropyName | "huber">;
}

/** A loss: its name, or an object naming it by `type` with its options. */
export type LossSpec = LossName | CrossentropyLossSpec | HuberLossSpec | PlainLossSpec;

/** The initialisers, regularisers and constraint of a layer with a kernel and a bias (dense, conv2d). */
export interface WeightOptions {
  /** Default `"glorotUniform"` (docs/backprop.md §16.1). */
  kernelInitializer?: InitializerSpec;
  /** Default `"zeros"`. */
  biasInitializer?: InitializerSpec;
  /** Penalty on the kernel added to the loss (docs/backprop.md §16.2). */
  kernelRegularizer?: RegularizerSpec | RegularizerName;
  /** Penalty on the bias added to the loss. */
  biasRegularizer?: RegularizerSpec | RegularizerName;
  /** Penalty on the layer's output (after its activation), averaged over the batch. */
  activityRegularizer?: RegularizerSpec | RegularizerName;
  /** Applied to the kernel after every optimiser step (docs/backprop.md §16.3). */
  kernelConstraint?: ConstraintSpec;
}

/**
 * Affine layer `Y = X·W + b` (docs/backprop.md §4), input `[in]`, output `[units]`; on an input of
 * more than one axis, over the last: `[..., in]` → `[..., units]` (docs/backprop.md §4.4).
 */
export interface DenseSpec extends WeightOptions {
  type: "dense";
  units: number;
  activation?: ActivationName;
  useBias?: boolean;
  name?: string;
}

/** A stand-alone activation layer; shape unchanged. */
export interface ActivationSpec {
  type: "activation";
  activation: ActivationName;
  name?: string;
}

/** 2-D convolution over `[height, width, channels]`, kernel `[kH, kW, inChannels, filters]`. */
export interface Conv2dSpec extends WeightOptions {
  type: "conv2d";
  filters: number;
  kernelSize: number | [number, number];
  strides?: number | [number, number];
  padding?: "valid" | "same";
  activation?: ActivationName;
  useBias?: boolean;
  name?: string;
}

/** Max or average pooling over `[height, width, channels]`. */
export interface Pooling2dSpec {
  type: "maxPooling2d" | "averagePooling2d";
  poolSize: number | [number, number];
  strides?: number | [number, number];
  padding?: "valid" | "same";
  name?: string;
}

/** Reshapes `[h, w, c]` (or any shape) to `[h·w·c]`. */
export interface FlattenSpec {
  type: "flatten";
  name?: string;
}

export type LayerSpec =
  | DenseSpec
  | ActivationSpec
  | Conv2dSpec
  | Pooling2dSpec
  | FlattenSpec
  | LeakyReluSpec
  | PreluSpec
  | EluSpec
  | SoftmaxSpec
  | GlobalPooling2dSpec
  | ReshapeSpec
  | ZeroPadding2dSpec
  | BatchNormalizationSpec
  | LayerNormalizationSpec
  | DropoutSpec
  | RecurrentSpec
  | SequenceLayerSpec
  | WrapperSpec;

/** A sequential model: input shape per sample, the layers in order, the loss. */
export interface ModelSpec {
  inputShape: number[];
  layers: LayerSpec[];
  loss: LossSpec;
}

/**
 * Keras' `ExponentialDecay`: `initialLearningRate · decayRate^(step / decaySteps)`, the exponent
 * floored when `staircase` (then the rate drops by `decayRate` every `decaySteps` steps: "step
 * decay"). `step` counts optimiser updates from 0 (see `LearningRate`).
 */
export interface ExponentialDecaySpec {
  type: "exponentialDecay";
  initialLearningRate: number;
  /** Steps per factor of `decayRate`; > 0. */
  decaySteps: number;
  /** > 0; below 1 decays. */
  decayRate: number;
  /** Default false. */
  staircase?: boolean;
}

/**
 * Keras' `PiecewiseConstantDecay`: `values[0]` while `step ≤ boundaries[0]`, `values[i]` while
 * `boundaries[i−1] < step ≤ boundaries[i]`, `values[last]` after the last boundary.
 */
export interface PiecewiseConstantDecaySpec {
  type: "piecewiseConstantDecay";
  /** Strictly increasing step counts. */
  boundaries: number[];
  /** One more than `boundaries`. */
  values: number[];
}

/**
 * Keras' `CosineDecay` (Loshchilov & Hutter 2017, without restarts), optionally after a linear
 * warm-up (Goyal et al. 2017). Without `warmupTarget`:
 * `initialLearningRate · ((1 − alpha) · ½(1 + cos(π · min(step, decaySteps) / decaySteps)) + alpha)`.
 * With it: for `step < warmupSteps` the rate rises linearly,
 * `initialLearningRate + (warmupTarget − initialLearningRate) · step / warmupSteps`, then decays as
 * above from `warmupTarget` over `step − warmupSteps`.
 */
export interface CosineDecaySpec {
  type: "cosineDecay";
  initialLearningRate: number;
  /** Steps to decay over; > 0. */
  decaySteps: number;
  /** Final rate as a fraction of the starting one; default 0. */
  alpha?: number;
  /** Rate reached at the end of the warm-up; no warm-up when absent. */
  warmupTarget?: number;
  /** Length of the warm-up in steps; default 0. */
  warmupSteps?: number;
}

/** A learning rate that changes with the optimiser step (Keras' `LearningRateSchedule`s). */
export type LearningRateScheduleSpec = ExponentialDecaySpec | PiecewiseConstantDecaySpec | CosineDecaySpec;

/**
 * A constant step size, or a schedule evaluated at every optimiser update with `step` = the number
 * of updates made before it (Keras' `optimizer.iterations`: the first update uses step 0; a resumed
 * run continues the count, see `OptimizerState.iterations`).
 */
export type LearningRate = number | LearningRateScheduleSpec;

/**
 * Gradient clipping, as Keras 3's optimiser arguments (docs/backprop.md §15.1): at most one may be
 * set, each > 0. `clipnorm` rescales each parameter's gradient to an L2 norm of at most the value,
 * `globalClipnorm` all gradients together, `clipvalue` clips every element to [−value, value].
 */
export interface GradientClipping {
  clipnorm?: number;
  clipvalue?: number;
  globalClipnorm?: number;
}

/** SGD, optionally with (Nesterov) momentum (Keras/tfjs update rule). */
export interface SgdSpec extends GradientClipping {
  type: "sgd";
  learningRate: LearningRate;
  momentum?: number;
  /** Nesterov momentum (docs/backprop.md §15.2); default false. */
  nesterov?: boolean;
}

/** Adam (Kingma & Ba 2015) with bias correction; defaults as tfjs: 0.9, 0.999, 1e-7. */
export interface AdamSpec extends GradientClipping {
  type: "adam";
  learningRate: LearningRate;
  beta1?: number;
  beta2?: number;
  epsilon?: number;
}

/** RMSprop (docs/backprop.md §15.3); defaults as tfjs/Keras: rho 0.9, momentum 0, epsilon 1e-7, not centered. */
export interface RmspropSpec extends GradientClipping {
  type: "rmsprop";
  learningRate: LearningRate;
  rho?: number;
  momentum?: number;
  epsilon?: number;
  centered?: boolean;
}

/** Adagrad (docs/backprop.md §15.4); defaults: initialAccumulatorValue 0.1, epsilon 1e-7. */
export interface AdagradSpec extends GradientClipping {
  type: "adagrad";
  learningRate: LearningRate;
  initialAccumulatorValue?: number;
  epsilon?: number;
}

/** Adadelta (docs/backprop.md §15.5); defaults as Keras: learningRate 0.001, rho 0.95, epsilon 1e-7. */
export interface AdadeltaSpec extends GradientClipping {
  type: "adadelta";
  learningRate?: LearningRate;
  rho?: number;
  epsilon?: number;
}

/** Adamax (docs/backprop.md §15.6); defaults 0.9, 0.999, 1e-7. */
export interface AdamaxSpec extends GradientClipping {
  type: "adamax";
  learningRate: LearningRate;
  beta1?: number;
  beta2?: number;
  epsilon?: number;
}

/** Nadam, Keras' form (docs/backprop.md §15.7); defaults 0.9, 0.999, 1e-7. */
export interface NadamSpec extends GradientClipping {
  type: "nadam";
  learningRate: LearningRate;
  beta1?: number;
  beta2?: number;
  epsilon?: number;
}

/** AdamW: Adam with Keras 3's decoupled weight decay (docs/backprop.md §15.8); weightDecay default 0.004. */
export interface AdamwSpec extends GradientClipping {
  type: "adamw";
  learningRate: LearningRate;
  beta1?: number;
  beta2?: number;
  epsilon?: number;
  weightDecay?: number;
}

/**
 * The closed-form least-squares solution (docs/backprop.md §9) instead of iterations, for linear regression
 * only: a model of exactly one dense layer with linear activation and `meanSquaredError` (any
 * number of inputs and outputs; the bias is the intercept, `useBias: false` fits none).
 * Solved by QR, or by SVD for the minimum-norm solution when the data are rank-deficient
 * (see `solveLeastSquares`); `epochs`, `batchSize`, `shuffle` and `seed` play no part.
 */
export interface NormalEquationSpec {
  type: "normalEquation";
}

/** The optimisers that step along gradients, epoch by epoch. */
export type GradientOptimizerSpec =
  | SgdSpec
  | AdamSpec
  | RmspropSpec
  | AdagradSpec
  | AdadeltaSpec
  | AdamaxSpec
  | NadamSpec
  | AdamwSpec;

export type OptimizerSpec = GradientOptimizerSpec | NormalEquationSpec;
