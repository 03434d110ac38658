/**
 * The plain-data description of a model, as the HTTP contract (`src/schemas`, `openapi/openapi.json`) spells it.
 * Shapes are per sample (no batch axis). The zod schemas in `src/schemas` validate requests
 * into exactly these types.
 */

import type { InitializerSpec } from "./initializers.js";
import type { ElementwiseName } from "./layers/elementwise.js";
import type { ConstraintSpec, RegularizerName, RegularizerSpec } from "./regularizers.js";

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

/** Affine layer `Y = X·W + b` (docs/backprop.md §4), input `[in]`, output `[units]`. */
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

/** tfjs' `leakyReLU` layer: `x` for x > 0, `alpha·x` otherwise (docs/backprop.md §13.2). */
export interface LeakyReluSpec {
  type: "leakyReLU";
  /** Slope for x ≤ 0; finite. Default 0.3 (tfjs). */
  alpha?: number;
  name?: string;
}

/**
 * tfjs' `prelu` layer: leaky ReLU with a trainable slope `<layer>/alpha` per input element
 * (docs/backprop.md §13.3), initialised to zeros (tfjs' default `alphaInitializer`).
 */
export interface PreluSpec {
  type: "prelu";
  /**
   * Axes (1-based, counting the batch axis as 0, as tfjs) along which one slope is shared: alpha
   * has size 1 there. Default none: alpha has the input's shape.
   */
  sharedAxes?: number | number[];
  name?: string;
}

/** tfjs' `elu` layer: `x` for x > 0, `alpha·(eˣ − 1)` otherwise (docs/backprop.md §13.2). */
export interface EluSpec {
  type: "elu";
  /** Finite; default 1. */
  alpha?: number;
  name?: string;
}

/** tfjs' `softmax` layer over one axis (docs/backprop.md §5.5); only the last axis is supported. */
export interface SoftmaxSpec {
  type: "softmax";
  /** −1 (default) or the last axis counting the batch axis (`inputShape.length`). */
  axis?: number;
  name?: string;
}

/**
 * tfjs' `globalAveragePooling2d` / `globalMaxPooling2d`: `[height, width, channels]` to
 * `[channels]`, the mean or the maximum of each channel (docs/backprop.md §17.1).
 */
export interface GlobalPooling2dSpec {
  type: "globalAveragePooling2d" | "globalMaxPooling2d";
  /** Only `"channelsLast"` (the default): the channels are the last axis. */
  dataFormat?: "channelsLast";
  name?: string;
}

/**
 * tfjs' `reshape`: the same data as `targetShape` (docs/backprop.md §17.2). One entry may be
 * `-1`, resolved so the sizes match; the others are positive integers.
 */
export interface ReshapeSpec {
  type: "reshape";
  targetShape: number[];
  name?: string;
}

/**
 * `zeroPadding2d`'s `padding`: the same count on every side, `[height, width]` (that many rows
 * above and below, columns left and right), or `[[top, bottom], [left, right]]`.
 */
export type ZeroPadding2dPadding = number | [number, number] | [[number, number], [number, number]];

/** tfjs' `zeroPadding2d`: zeros around `[height, width, channels]` (docs/backprop.md §17.3). */
export interface ZeroPadding2dSpec {
  type: "zeroPadding2d";
  /** Non-negative integers; default 1. */
  padding?: ZeroPadding2dPadding;
  /** Only `"channelsLast"` (the default). */
  dataFormat?: "channelsLast";
  name?: string;
}

/**
 * Keras' `batchNormalization` (docs/backprop.md §19.1–§19.3): normalises each channel along `axis`
 * with the batch's statistics in training and the moving ones in inference. Weights
 * `<layer>/gamma`, `<layer>/beta` (trainable, `[channels]`), `<layer>/moving_mean`,
 * `<layer>/moving_variance` (not trainable).
 */
export interface BatchNormalizationSpec {
  type: "batchNormalization";
  /** The channel axis counting the batch axis as 0 (Keras): -1 (default, the last) or ≥ 1. */
  axis?: number;
  /** In [0, 1]; default 0.99: `moving ← momentum·moving + (1 − momentum)·batch`. */
  momentum?: number;
  /** > 0; default 1e-3. */
  epsilon?: number;
  /** Add `beta`; default true. */
  center?: boolean;
  /** Multiply by `gamma`; default true. */
  scale?: boolean;
  /** Default `"ones"`. */
  gammaInitializer?: InitializerSpec;
  /** Default `"zeros"`. */
  betaInitializer?: InitializerSpec;
  /** Default `"zeros"`. */
  movingMeanInitializer?: InitializerSpec;
  /** Default `"ones"`. */
  movingVarianceInitializer?: InitializerSpec;
  name?: string;
}

/**
 * Keras' `layerNormalization` (docs/backprop.md §19.4): each sample normalised over `axis`, the
 * same in training and inference; `<layer>/gamma` and `<layer>/beta` shaped over those axes.
 */
export interface LayerNormalizationSpec {
  type: "layerNormalization";
  /** An axis or a list of distinct axes, counting the batch axis as 0: -1 (default, the last) or ≥ 1. */
  axis?: number | number[];
  /** > 0; default 1e-3. */
  epsilon?: number;
  /** Add `beta`; default true. */
  center?: boolean;
  /** Multiply by `gamma`; default true. */
  scale?: boolean;
  name?: string;
}

/**
 * Keras' / tfjs' `dropout` (docs/backprop.md §18): in training, each unit is zeroed with
 * probability `rate` and the kept ones scaled by 1/(1 − rate); in inference the identity.
 */
export interface DropoutSpec {
  type: "dropout";
  /** Fraction of units dropped, in [0, 1). */
  rate: number;
  /**
   * The mask's shape, broadcast over the axes where it is 1: per sample (the input's rank), or with
   * the batch axis first as Keras writes it (`[null, 1, 1, 8]`: the batch entry `null`/`-1`, or 1 for
   * one mask shared by the batch). `null`/`-1` stands for the input's extent. Default: the input's shape.
   */
  noiseShape?: (number | null)[];
  /** The layer's own stream seed (uint32); default: from the request's seed and the layer's index. */
  seed?: number;
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
  | DropoutSpec;

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
