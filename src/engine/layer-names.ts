import { EngineError } from "./errors.js";
import type { LayerSpec } from "./spec.js";

/** A layer's name: its own, else its default `<type>_<index>` (tfjs-layers' form, index in the model). */
export const layerName = (layer: LayerSpec, index: number) => layer.name ?? `${layer.type}_${index}`;

/**
 * The error for layer `later` whose name (its own or its default) is layer `first`'s, at the name
 * that was sent: when one of the two is a default name, the message says whose default it is,
 * since the client never wrote it (`dense_1` sent as layer 0's name is layer 1's default).
 * @returns EngineError at `["layers", i, "name"]`.
 */
export function duplicateName(
  name: string,
  layers: readonly LayerSpec[],
  first: number,
  later: number,
): EngineError {
  const sentFirst = layers[first]?.name !== undefined;
  const sentLater = layers[later]?.name !== undefined;
  if (sentFirst && sentLater)
    return new EngineError(`duplicate layer name "${name}"`, ["layers", later, "name"]);
  if (sentFirst)
    return new EngineError(
      `layer ${first}'s name "${name}" is layer ${later}'s default name (its type and index): ` +
        `name layer ${first} otherwise, or give layer ${later} a name`,
      ["layers", first, "name"],
    );
  return new EngineError(
    `layer ${later}'s name "${name}" is layer ${first}'s default name (its type and index): ` +
      `name layer ${later} otherwise, or give layer ${first} a name`,
    ["layers", later, "name"],
  );
}
