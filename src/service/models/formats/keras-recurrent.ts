/**
 * SimpleRNN's, LSTM's and GRU's Keras configs as the engine's `simpleRNN`, `lstm` and `gru`
 * (docs/models.md, "Importing Keras/tfjs models").
 */
import { type ConfigReader, compact } from "./keras-config.js";
import { initializerFromKeras } from "./keras-names.js";

/**
 * SimpleRNN's, LSTM's and GRU's config (docs/models.md). An option absent from the config takes
 * tfjs-layers' default (Keras writes every one). `implementation`, `unroll` and `use_cudnn` change
 * how Keras computes, not what, and are read and dropped; `seed` only seeds dropout;
 * `zero_output_for_mask: true` is refused (a LayerOptionError at that key).
 */
export function recurrentFromKeras(
  r: ConfigReader,
  base: Record<string, unknown>,
  k3: boolean,
): Record<string, unknown> {
  const why = "the engine has no regularizers or constraints on recurrent layers";
  for (const k of ["regularizer", "constraint"])
    for (const w of ["kernel", "recurrent", "bias"]) r.fixed(`${w}_${k}`, [], why);
  r.fixed("activity_regularizer", [], why);
  r.fixed("stateful", [false], "each batch starts from a zero state");
  r.fixed("time_major", [false], "inputs are [batch, timesteps, features]");
  // Keras' zero_output_for_mask gives 0 at a masked step where the engine (and tfjs-layers) repeat
  // the carried state (docs/backprop.md §22.6); inside a Bidirectional keras-wrappers.ts drops it.
  r.fixed(
    "zero_output_for_mask",
    [false],
    "the output at a masked step is the carried state, as in tfjs-layers; the engine does not zero it",
  );
  // How Keras computes, not what.
  for (const k of ["implementation", "unroll", "use_cudnn", "seed"]) r.get(k);
  const act = (key: string, dflt: string) => (r.cfg[key] == null ? dflt : r.activation(key, k3));
  const init = (key: string, dflt: string) =>
    r.convert(key, (v) => (v == null ? dflt : initializerFromKeras(v)));
  const type = base.type;
  return compact({
    ...base,
    units: r.get("units"),
    activation: act("activation", "tanh"),
    recurrentActivation: type === "simpleRNN" ? undefined : act("recurrent_activation", "hardSigmoid"),
    useBias: r.or("use_bias", true),
    returnSequences: r.or("return_sequences", false),
    returnState: r.or("return_state", false),
    goBackwards: r.or("go_backwards", false),
    unitForgetBias: type === "lstm" ? r.or("unit_forget_bias", false) : undefined,
    resetAfter: type === "gru" ? r.or("reset_after", false) : undefined,
    kernelInitializer: init("kernel_initializer", "glorotNormal"),
    recurrentInitializer: init("recurrent_initializer", "orthogonal"),
    biasInitializer: init("bias_initializer", "zeros"),
    dropout: r.or("dropout", 0),
    recurrentDropout: r.or("recurrent_dropout", 0),
  });
}
