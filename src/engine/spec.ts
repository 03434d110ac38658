/**
 * The plain-data description of a model, as the HTTP contract (DESIGN.md) spells it.
 * Shapes are per sample (no batch axis). The zod schemas in `src/schemas` validate requests
 * into exactly these types.
 */

/** Element-wise or row-wise activation functions (seed §4). */
export type ActivationName = "linear" | "sigmoid" | "tanh" | "relu" | "softmax";

/** Loss functions, Keras names. */
export type LossName =
  | "meanSquaredError"
  | "categoricalCrossentropy"
  | "sparseCategoricalCrossentropy"
  | "binaryCrossentropy";

/** Affine layer `Y = X·W + b` (seed §5), input `[in]`, output `[units]`. */
export interface DenseSpec {
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
export interface Conv2dSpec {
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

export type LayerSpec = DenseSpec | ActivationSpec | Conv2dSpec | Pooling2dSpec | FlattenSpec;

/** A sequential model: input shape per sample, the layers in order, the loss. */
export interface ModelSpec {
  inputShape: number[];
  layers: LayerSpec[];
  loss: LossName;
}

/** SGD, optionally with momentum (Keras/tfjs update rule). */
export interface SgdSpec {
  type: "sgd";
  learningRate: number;
  momentum?: number;
}

/** Adam (Kingma & Ba 2015) with bias correction; defaults as tfjs: 0.9, 0.999, 1e-7. */
export interface AdamSpec {
  type: "adam";
  learningRate: number;
  beta1?: number;
  beta2?: number;
  epsilon?: number;
}

/**
 * The closed-form least-squares solution (seed §1) instead of iterations, for linear regression
 * only: a model of exactly one dense layer with linear activation and `meanSquaredError` (any
 * number of inputs and outputs; the bias is the intercept, `useBias: false` fits none).
 * Solved by QR, or by SVD for the minimum-norm solution when the data are rank-deficient
 * (see `solveLeastSquares`); `epochs`, `batchSize`, `shuffle` and `seed` play no part.
 */
export interface NormalEquationSpec {
  type: "normalEquation";
}

/** The optimisers that step along gradients, epoch by epoch. */
export type GradientOptimizerSpec = SgdSpec | AdamSpec;

export type OptimizerSpec = GradientOptimizerSpec | NormalEquationSpec;
