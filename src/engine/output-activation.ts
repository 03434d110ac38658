import { Activation } from "./layers/activation.js";
import { Flatten } from "./layers/flatten.js";
import type { Layer } from "./layers/layer.js";
import { Reshape } from "./layers/reshape.js";
import type { TrailingLayer } from "./losses.js";
import type { ModelSpec } from "./spec.js";

/**
 * The model's output activation: its last layer when that is an activation, else the activation
 * before the layers at its end that only move values (flatten, reshape), whose output is then
 * still that activation's values (`last: false`: the loss cannot fuse it, as other layers follow).
 * Undefined when no activation ends the model (a linear output).
 */
export function outputActivation(
  layers: readonly Layer[],
): { activation: string; last: boolean } | undefined {
  for (let i = layers.length - 1; i >= 0; i--) {
    const l = layers[i]!;
    if (l instanceof Activation) return { activation: l.activation, last: i === layers.length - 1 };
    if (!(l instanceof Flatten || l instanceof Reshape)) return undefined;
  }
  return undefined;
}

/**
 * The dropout or batchNormalization layer the model ends in after its last activation (for the
 * loss's message: the output layer must be last), else undefined.
 */
export function trailingLayer(spec: ModelSpec, layers: readonly Layer[]): TrailingLayer | undefined {
  const type = spec.layers.at(-1)?.type;
  if (type !== "dropout" && type !== "batchNormalization") return undefined;
  const act = layers.findLast((l) => l instanceof Activation);
  return act instanceof Activation ? { type, activation: act.activation } : undefined;
}
