/**
 * The plain-data specs of the wrapper layers (docs/backprop.md §23): `bidirectional` around a
 * recurrent layer and `timeDistributed` around a dense layer, with tfjs-layers' names and
 * defaults. Part of the model language of `spec.ts`, which re-exports them and joins them into
 * `LayerSpec`.
 */

import type { DenseSpec } from "./spec.js";
import type { RecurrentSpec } from "./spec-recurrent.js";

/** How `bidirectional` joins its two directions' outputs (tfjs-layers' `BidirectionalMergeMode`). */
export type MergeMode = "concat" | "sum" | "mul" | "ave";

/**
 * A recurrent layer run twice over `[timesteps, features]`: once as given (`forward_<inner>`) and
 * once with `goBackwards` flipped (`backward_<inner>`); with `returnSequences` the backward copy's
 * outputs are reversed in time before merging, as in Keras (docs/backprop.md §23.1). Weights
 * `<name>/forward_<inner>/kernel` … then `<name>/backward_<inner>/…`, tfjs-layers' names.
 */
export interface BidirectionalSpec {
  type: "bidirectional";
  /** The recurrent layer; `name` names both copies (default its `type`: `forward_lstm`). */
  layer: RecurrentSpec;
  /** Default `"concat"` (output width 2·units; the others keep `units`). */
  mergeMode?: MergeMode;
  name?: string;
}

/**
 * A dense layer applied to every step of `[timesteps, features]` with the same weights →
 * `[timesteps, units]` (docs/backprop.md §23.2). Weights `<name>/kernel` `[features, units]` and
 * `<name>/bias` `[units]`, tfjs-layers' names (the inner layer's name does not appear).
 */
export interface TimeDistributedSpec {
  type: "timeDistributed";
  /** The dense layer; its `activityRegularizer` is not supported here. */
  layer: DenseSpec;
  name?: string;
}

/** One of the two wrapper specs. */
export type WrapperSpec = BidirectionalSpec | TimeDistributedSpec;
