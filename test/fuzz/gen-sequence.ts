/** Fuzz generator of the sequence layers (docs/backprop.md §21): an embedding or a [steps, channels] input, conv1d and 1-D pooling blocks, then a global pooling or a flatten to a vector. */
import type { ParamShape } from "./gen-model.js";
import { genWeightOptions } from "./gen-weight-options.js";
import type { Tree, TreeObject } from "./json-text.js";
import type { Rand } from "./rand.js";

/** The sequence layer kinds. */
export const SEQUENCE_LAYERS = [
  "embedding",
  "conv1d",
  "maxPooling1d",
  "averagePooling1d",
  "globalAveragePooling1d",
  "globalMaxPooling1d",
] as const;

/** An integer or, sometimes, Keras' list of one. */
const size1d = (r: Rand, n: number): Tree => (r.bool(0.8) ? n : [n]);

/**
 * A sequence stack ending in a vector: its input shape (`[T]` of token ids below `tokenIds`, or
 * `[T, C]`), the layers added through `add` (which names and appends one, returning its name), and
 * the weights appended to `params`, and the layer that drops a `maskZero` mask unread (`maskDropped`,
 * at most one).
 * @param activations the activations a conv1d may take.
 */
export function genSequence(
  r: Rand,
  add: (layer: TreeObject) => string,
  params: ParamShape[],
  activations: readonly string[],
): { inputShape: number[]; shape: number[]; tokenIds?: number; maskDropped: string[] } {
  const T = r.int(2, 7);
  let inputShape: number[];
  let shape: number[];
  let tokenIds: number | undefined;
  // With a maskZero embedding, the layer after it drops the mask unread unless it is a
  // globalAveragePooling1d (docs/backprop.md §21.1): /train names it in `warnings`.
  let masked = false;
  const maskDropped: string[] = [];
  const next = (name: string, type: string) => {
    if (masked && type !== "globalAveragePooling1d") maskDropped.push(name);
    masked = false;
  };
  if (r.bool(0.6)) {
    tokenIds = r.int(2, 6);
    const d = r.int(1, 3);
    const layer: TreeObject = { type: "embedding", inputDim: tokenIds, outputDim: d };
    if (r.bool(0.4)) layer.maskZero = r.bool(0.7);
    if (r.bool(0.2)) layer.inputLength = T;
    if (r.bool(0.1))
      layer.embeddingsInitializer = r.pick([
        "glorotUniform",
        "ones",
        { type: "randomUniform", minval: -1, maxval: 1 },
      ]);
    params.push({ key: `${add(layer)}/embeddings`, shape: [tokenIds, d] });
    masked = layer.maskZero === true;
    inputShape = [T];
    shape = [T, d];
  } else {
    inputShape = [T, r.int(1, 2)];
    shape = [...inputShape];
  }
  const blocks = r.int(0, 2);
  for (let b = 0; b < blocks; b++) {
    const [steps, c] = shape as [number, number];
    if (r.bool(0.7)) {
      const padding = r.pick(["valid", "same", "causal"] as const);
      const stride = r.bool(0.7) ? 1 : 2;
      const dilation = stride === 1 && r.bool(0.4) ? 2 : 1;
      const maxK = padding === "valid" ? Math.floor((steps - 1) / dilation) + 1 : 3;
      const k = r.int(1, Math.min(maxK, 3));
      const filters = r.int(1, 2);
      const layer: TreeObject = { type: "conv1d", filters, kernelSize: size1d(r, k) };
      if (padding !== "valid" || r.bool(0.3)) layer.padding = padding;
      if (stride !== 1 || r.bool(0.2)) layer.strides = size1d(r, stride);
      if (dilation !== 1 || r.bool(0.1)) layer.dilationRate = size1d(r, dilation);
      if (r.bool(0.5)) layer.activation = r.pick(activations);
      const useBias = r.bool(0.85);
      if (!useBias || r.bool(0.2)) layer.useBias = useBias;
      genWeightOptions(r, layer, 3);
      const name = add(layer);
      next(name, "conv1d");
      params.push({ key: `${name}/kernel`, shape: [k, c, filters] });
      if (useBias) params.push({ key: `${name}/bias`, shape: [filters] });
      const span = dilation * (k - 1) + 1;
      const out = padding === "valid" ? Math.floor((steps - span) / stride) + 1 : Math.ceil(steps / stride);
      shape = [out, filters];
    } else {
      const padding = r.pick(["valid", "same"] as const);
      const pool = r.int(1, padding === "valid" ? Math.min(steps, 2) : 2);
      const type = r.pick(["maxPooling1d", "averagePooling1d"]);
      const layer: TreeObject = { type };
      if (pool !== 2 || r.bool(0.5)) layer.poolSize = size1d(r, pool);
      if (padding === "same" || r.bool(0.3)) layer.padding = padding;
      let stride = pool;
      if (r.bool(0.3)) {
        stride = r.int(1, 2);
        layer.strides = stride;
      }
      next(add(layer), type);
      shape = [padding === "valid" ? Math.floor((steps - pool) / stride) + 1 : Math.ceil(steps / stride), c];
    }
  }
  const end = r.int(0, 2);
  const last: TreeObject = {
    type: end === 0 ? "globalAveragePooling1d" : end === 1 ? "globalMaxPooling1d" : "flatten",
  };
  if (end < 2 && r.bool(0.15)) last.dataFormat = "channelsLast";
  next(add(last), last.type as string);
  return {
    inputShape,
    shape: end < 2 ? [shape[1]!] : [shape[0]! * shape[1]!],
    ...(tokenIds ? { tokenIds } : {}),
    maskDropped,
  };
}
