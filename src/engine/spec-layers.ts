/**
 * The plain-data specs of the newer layer families (docs/backprop.md §13, §17–§19): advanced
 * activations, shape layers, normalisation and dropout. Part of the model language of `spec.ts`,
 * which re-exports them and joins them into `LayerSpec`.
 */

import type { InitializerSpec } from "./initializers.js";

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
