/**
 * The plain-data specs of the sequence layers (docs/backprop.md §21): embedding, conv1d and the
 * 1-D poolings, on `[timesteps, channels]` per sample (the token ids `[timesteps]` for an
 * embedding). Part of the model language of `spec.ts`, which re-exports them and joins them into
 * `LayerSpec`.
 */

import type { InitializerSpec } from "./initializers.js";
import type { ActivationName, WeightOptions } from "./spec.js";

/**
 * tfjs' `embedding` (docs/backprop.md §21.2): token ids `[timesteps]` (integers in
 * `[0, inputDim)`) to their rows of `<layer>/embeddings` `[inputDim, outputDim]`, output
 * `[timesteps, outputDim]`. Only as the model's first layer: nothing differentiable produces ids.
 */
export interface EmbeddingSpec {
  type: "embedding";
  /** Vocabulary size: ids are integers in `[0, inputDim)`. */
  inputDim: number;
  /** Length of each embedding vector. */
  outputDim: number;
  /**
   * Id 0 is padding: the layer makes a mask `[batch, timesteps]` (0 where the id is 0) for the
   * layers after it (docs/backprop.md §21.1). Default false.
   */
  maskZero?: boolean;
  /** Default `randomUniform` in [−0.05, 0.05] (tfjs). */
  embeddingsInitializer?: InitializerSpec;
  /** Keras' `input_length`: when given, must equal the model's `inputShape[0]`. */
  inputLength?: number;
  name?: string;
}

/**
 * tfjs' `conv1d` (docs/backprop.md §21.3) over `[steps, channels]`: kernel
 * `[kernelSize, inChannels, filters]`, output `[outSteps, filters]`.
 */
export interface Conv1dSpec extends WeightOptions {
  type: "conv1d";
  filters: number;
  /** An integer, or a list of one (Keras writes `[3]`). */
  kernelSize: number | [number];
  /** Default 1; with a `dilationRate` above 1 it must be 1 (Keras, tfjs). */
  strides?: number | [number];
  /** `valid` (default), `same`, or `causal`: zeros on the left only, `dilationRate·(kernelSize − 1)` of them. */
  padding?: "valid" | "same" | "causal";
  /** Spacing of the kernel's taps; default 1. */
  dilationRate?: number | [number];
  activation?: ActivationName;
  useBias?: boolean;
  name?: string;
}

/** tfjs' `maxPooling1d` / `averagePooling1d` over `[steps, channels]` (docs/backprop.md §21.4). */
export interface Pooling1dSpec {
  type: "maxPooling1d" | "averagePooling1d";
  /** Default 2 (tfjs). An integer or a list of one. */
  poolSize?: number | [number];
  /** Default `poolSize`. */
  strides?: number | [number];
  padding?: "valid" | "same";
  name?: string;
}

/**
 * tfjs' `globalAveragePooling1d` / `globalMaxPooling1d`: `[steps, channels]` to `[channels]`
 * (docs/backprop.md §21.5). The average honours a time-step mask, as Keras': it is taken over the
 * real steps only.
 */
export interface GlobalPooling1dSpec {
  type: "globalAveragePooling1d" | "globalMaxPooling1d";
  /** Only `"channelsLast"` (the default): `[steps, channels]`. */
  dataFormat?: "channelsLast";
  name?: string;
}

/** The sequence layers' specs. */
export type SequenceLayerSpec = EmbeddingSpec | Conv1dSpec | Pooling1dSpec | GlobalPooling1dSpec;
