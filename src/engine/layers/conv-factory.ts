import { EngineError } from "../errors.js";
import type { Conv2dSpec, Pooling2dSpec } from "../spec.js";
import type { Layer } from "./layer.js";

/**
 * Builds the convolutional layers (conv2d with its activation, pooling) for an input shape
 * `[height, width, channels]`.
 * @throws EngineError naming the layer and both shapes when they do not fit.
 */
export function buildConvLayer(
  ls: Conv2dSpec | Pooling2dSpec,
  name: string,
  _inShape: number[],
  i: number,
): Layer[] {
  throw new EngineError(`layer ${name}: ${ls.type} is not supported yet`, ["layers", i, "type"]);
}
