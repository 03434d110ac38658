/**
 * simpleRNN, lstm and gru as Keras / tfjs-layers `SimpleRNN`, `LSTM` and `GRU` configs
 * (docs/models.md): the weights are already in Keras' layout and gate order (docs/backprop.md §22),
 * so they are written unchanged.
 */
import type { RecurrentSpec } from "../../../engine/index.js";
import { kerasActivation, kerasInitializer } from "./keras-names.js";

/** tfjs-layers' class names of the recurrent kinds. */
export const RECURRENT_CLASSES = { simpleRNN: "SimpleRNN", lstm: "LSTM", gru: "GRU" } as const;

/**
 * The Keras class name and config of a recurrent layer, every option written out (tfjs' defaults
 * where the spec leaves one out), so the file reads the same in tfjs and Keras.
 * @returns a reason instead when tfjs-layers cannot load the layer (gru's `resetAfter`), with the field.
 */
export function kerasRecurrent(
  l: RecurrentSpec,
): { class_name: string; config: Record<string, unknown> } | { refuse: string; field: string } {
  if (l.type === "gru" && l.resetAfter === true)
    return {
      refuse: "tfjs-layers' GRU supports only resetAfter false (its GRUCell refuses reset_after)",
      field: "resetAfter",
    };
  const config: Record<string, unknown> = {
    units: l.units,
    activation: kerasActivation(l.activation ?? "tanh"),
    ...(l.type === "simpleRNN"
      ? {}
      : { recurrent_activation: kerasActivation(l.recurrentActivation ?? "hardSigmoid") }),
    use_bias: l.useBias ?? true,
    kernel_initializer: kerasInitializer(l.kernelInitializer ?? "glorotNormal"),
    recurrent_initializer: kerasInitializer(l.recurrentInitializer ?? "orthogonal"),
    bias_initializer: kerasInitializer(l.biasInitializer ?? "zeros"),
    ...(l.type === "lstm" ? { unit_forget_bias: l.unitForgetBias ?? false } : {}),
    kernel_regularizer: null,
    recurrent_regularizer: null,
    bias_regularizer: null,
    activity_regularizer: null,
    kernel_constraint: null,
    recurrent_constraint: null,
    bias_constraint: null,
    dropout: l.dropout ?? 0,
    recurrent_dropout: l.recurrentDropout ?? 0,
    ...(l.type === "gru" ? { reset_after: false } : {}),
    return_sequences: l.returnSequences ?? false,
    return_state: false,
    go_backwards: l.goBackwards ?? false,
    stateful: false,
    unroll: false,
  };
  return { class_name: RECURRENT_CLASSES[l.type], config };
}
