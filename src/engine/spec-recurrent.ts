/**
 * The plain-data specs of the recurrent layers (docs/backprop.md §22): `simpleRNN`, `lstm` and
 * `gru` over `[timesteps, features]`, with tfjs-layers' names and defaults. Part of the model
 * language of `spec.ts`, which re-exports them and joins them into `LayerSpec`.
 */

import type { InitializerSpec } from "./initializers.js";
import type { ActivationName } from "./spec.js";

/** The activations a recurrent cell takes: every element-wise one (softmax normalises a whole row). */
export type CellActivationName = Exclude<ActivationName, "softmax">;

/** The options every recurrent layer takes (tfjs-layers' `SimpleRNNLayerArgs`, `LSTMLayerArgs`, `GRULayerArgs`). */
export interface RecurrentOptions {
  /** The size of the state h (and of each gate); a positive integer. */
  units: number;
  /** φ, applied to the candidate and (lstm) to the cell state; default `"tanh"`. */
  activation?: CellActivationName;
  /** Add the biases; default true. */
  useBias?: boolean;
  /** Output every step's state, `[timesteps, units]`, instead of the last one, `[units]`; default false. */
  returnSequences?: boolean;
  /**
   * Also return the final state (Keras). A sequential model has one output, so only `false` (the
   * default) is accepted.
   */
  returnState?: false;
  /** Read the sequence from its last step to its first; the outputs are in that order. Default false. */
  goBackwards?: boolean;
  /** Default `"glorotNormal"` (tfjs-layers' recurrent default; Keras' is glorotUniform). */
  kernelInitializer?: InitializerSpec;
  /** Default `"orthogonal"`. */
  recurrentInitializer?: InitializerSpec;
  /** Default `"zeros"`. */
  biasInitializer?: InitializerSpec;
  /** Fraction of the input's features dropped in training, one mask per sample for all steps; [0, 1), default 0. */
  dropout?: number;
  /** Fraction of the state's units dropped in the recurrent products in training; [0, 1), default 0. */
  recurrentDropout?: number;
  name?: string;
}

/** Elman's recurrence `h_t = φ(x_t·W + h_{t−1}·U + b)` (docs/backprop.md §22.2). */
export interface SimpleRnnSpec extends RecurrentOptions {
  type: "simpleRNN";
}

/**
 * Long short-term memory (Hochreiter & Schmidhuber 1997, with the forget gate of Gers et al. 2000;
 * docs/backprop.md §22.3). Gates in Keras' order i, f, c, o.
 */
export interface LstmSpec extends RecurrentOptions {
  type: "lstm";
  /** σ of the gates i, f, o; default `"hardSigmoid"` (tfjs-layers; Keras 2.3+ uses `"sigmoid"`). */
  recurrentActivation?: CellActivationName;
  /**
   * Start the forget gate's bias at 1 (Jozefowicz et al. 2015) and the others from
   * `biasInitializer`; default false (tfjs-layers leaves it unset; Keras' default is true).
   */
  unitForgetBias?: boolean;
}

/** Gated recurrent unit (Cho et al. 2014; docs/backprop.md §22.4). Gates in Keras' order z, r, h. */
export interface GruSpec extends RecurrentOptions {
  type: "gru";
  /** σ of the gates z and r; default `"hardSigmoid"` (tfjs-layers; Keras 2.3+ uses `"sigmoid"`). */
  recurrentActivation?: CellActivationName;
  /**
   * Apply the reset gate after the recurrent product (Keras 2.3+'s default, cuDNN's form; bias
   * `[2, 3·units]`) rather than before it; default false (tfjs-layers supports only false).
   */
  resetAfter?: boolean;
}

/** One of the three recurrent layer specs. */
export type RecurrentSpec = SimpleRnnSpec | LstmSpec | GruSpec;
