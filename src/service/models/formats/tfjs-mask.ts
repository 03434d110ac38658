import { type LayerSpec, type ModelSpec, maskedLayers, maskReceivers } from "../../../engine/index.js";

/** tfjs-layers' layers that accept a mask (`supportsMasking`); any other throws when given one. */
const TFJS_MASKING = new Set([
  "simpleRNN",
  "lstm",
  "gru",
  "bidirectional",
  "dense",
  "activation",
  "dropout",
  "batchNormalization",
  "layerNormalization",
  "prelu",
]);

/**
 * Whether the TensorFlow.js export writes the embedding's `mask_zero: true` (docs/backprop.md §21.1):
 * when a recurrent layer reads the mask, which then changes what the model computes. tfjs-layers'
 * SimpleRNN, LSTM and GRU honour it as the engine does (docs/backprop.md §22.6); with no reader the
 * mask changes nothing and is left out.
 * @param refuse builds the 422 for layer i.
 * @throws what `refuse` builds for a globalAveragePooling1d that reads the mask (tfjs' has no
 *   masking), or, with `mask_zero`, a layer receiving the mask that tfjs-layers would throw on.
 */
export function tfjsMaskZero(
  spec: ModelSpec,
  refuse: (i: number, l: LayerSpec, why: string) => Error,
): boolean {
  const readers = maskedLayers(spec);
  const pooling = readers.find((i) => spec.layers[i]!.type === "globalAveragePooling1d");
  if (pooling !== undefined)
    throw refuse(
      pooling,
      spec.layers[pooling]!,
      "it averages over the steps the embedding's maskZero leaves, and tfjs-layers' GlobalAveragePooling1D has no masking (it throws when given a mask)",
    );
  if (readers.length === 0) return false;
  for (const i of maskReceivers(spec)) {
    const l = spec.layers[i]!;
    if (!TFJS_MASKING.has(l.type))
      throw refuse(
        i,
        l,
        `it receives the time-step mask of the embedding's maskZero, which a recurrent layer reads, and tfjs-layers' ${l.type} does not support masking (it throws when given a mask)`,
      );
  }
  return true;
}
