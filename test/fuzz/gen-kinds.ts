/** Fuzz generators' vocabulary: the layer kinds and activations they draw, and what a generated model's plan records. */
import type { Loss } from "./gen-losses.js";
import type { TreeObject } from "./json-text.js";

export const ACTIVATIONS = [
  "linear",
  "sigmoid",
  "tanh",
  "relu",
  "softmax",
  "elu",
  "selu",
  "softplus",
  "softsign",
  "relu6",
  "hardSigmoid",
  "swish",
  "mish",
  "gelu",
] as const;
/** The activation layers with options of their own. */
export const ACTIVATION_LAYERS = ["leakyReLU", "prelu", "elu", "softmax"] as const;
/** The normalisation layers (docs/backprop.md §19). */
export const NORMALIZATION_LAYERS = ["batchNormalization", "layerNormalization"] as const;
/** The shape layers (no parameters): global pooling, reshape, zero padding. */
export const SHAPE_LAYERS = [
  "globalAveragePooling2d",
  "globalMaxPooling2d",
  "reshape",
  "zeroPadding2d",
] as const;

export interface ParamShape {
  key: string;
  shape: number[];
  /** A non-trainable weight (batch normalisation's moving statistics): in `weights`, not in `gradients`. */
  state?: boolean;
}

/** A valid model and what the test knows about it. */
export interface ModelPlan {
  model: TreeObject;
  loss: Loss;
  inputShape: number[];
  outputShape: number[];
  /** Every weight key with its shape, as the service names them. */
  params: ParamShape[];
  /** One dense layer, linear, meanSquaredError: normalEquation applies. */
  linearRegression: boolean;
  /**
   * The batchNormalization layers with one value per channel in a sample (a dense layer's
   * features, a 1×1 image): /gradients in training mode warns about each.
   */
  oneValueBatchNorm: string[];
  /** The layer that drops a `maskZero` mask unread: POST /train warns about it (absent: none). */
  maskDropped?: string[];
  /** A model starting with an embedding: its inputs are integer ids below this. */
  tokenIds?: number;
}

export const sizeOf = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);
