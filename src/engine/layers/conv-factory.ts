import { EngineError } from "../errors.js";
import { windowGeometry } from "../im2col.js";
import { configureParams } from "../regularizers.js";
import type { Conv2dSpec, Pooling2dSpec } from "../spec.js";
import { formatShape } from "../tensor.js";
import { Activation } from "./activation.js";
import { Conv2d } from "./conv2d.js";
import type { Layer } from "./layer.js";
import { AveragePooling2d, MaxPooling2d } from "./pooling.js";

/**
 * Builds the convolutional layers (conv2d with its activation, pooling) for an input shape
 * `[height, width, channels]`. A conv2d with a non-linear `activation` becomes
 * `[Conv2d, Activation]`, as dense does.
 * @param i the layer's index in the spec, for error paths.
 * @throws EngineError at `["layers", i, field]` for a `filters`, `kernelSize`, `poolSize`,
 *   `strides` or `padding` that is not valid, and at `["layers", i]` naming the layer and
 *   both shapes when the input is not rank 3 or the window does not fit it (empty output).
 */
export function buildConvLayer(
  ls: Conv2dSpec | Pooling2dSpec,
  name: string,
  inShape: number[],
  i: number,
): Layer[] {
  const padding = ls.padding ?? "valid";
  if (padding !== "valid" && padding !== "same")
    throw new EngineError(
      `layer ${name}: padding must be "valid" or "same", got ${JSON.stringify(padding)}`,
      ["layers", i, "padding"],
    );
  let window: [number, number];
  if (ls.type === "conv2d") {
    if (!isPositiveInteger(ls.filters))
      throw new EngineError(
        `layer ${name}: filters must be a positive integer, got ${JSON.stringify(ls.filters)}`,
        ["layers", i, "filters"],
      );
    window = sizePair(ls.kernelSize, "kernelSize", name, i);
  } else {
    window = sizePair(ls.poolSize, "poolSize", name, i);
  }
  // Keras: pooling strides default to the pool size (non-overlapping windows), conv strides to 1.
  const strides = sizePair(ls.strides ?? (ls.type === "conv2d" ? 1 : ls.poolSize), "strides", name, i);

  if (inShape.length !== 3)
    throw new EngineError(
      `layer ${name}: ${ls.type} needs [height, width, channels] input, got ${formatShape(inShape)}`,
      ["layers", i],
    );
  const g = windowGeometry(inShape, window, strides, padding);
  if (g.outH < 1 || g.outW < 1) {
    // Only `valid` padding can get here: `same` gives ceil(in / stride) ≥ 1.
    const outC = ls.type === "conv2d" ? ls.filters : g.channels;
    const what = ls.type === "conv2d" ? "kernel" : "pool";
    throw new EngineError(
      `layer ${name} (${ls.type}): ${what} ${formatShape(window)} is larger than its input ${formatShape(inShape)} with ${padding} padding, so the output ${formatShape([Math.max(g.outH, 0), Math.max(g.outW, 0), outC])} would be empty; use padding "same" or a smaller ${what}`,
      ["layers", i],
    );
  }

  switch (ls.type) {
    case "conv2d": {
      const conv = new Conv2d(name, inShape, ls.filters, window, strides, padding, ls.useBias ?? true);
      configureParams(ls, conv.kernel, conv.bias, i);
      return ls.activation && ls.activation !== "linear"
        ? [conv, new Activation(`${name}/activation`, conv.outputShape, ls.activation)]
        : [conv];
    }
    case "maxPooling2d":
      return [new MaxPooling2d(name, inShape, window, strides, padding)];
    case "averagePooling2d":
      return [new AveragePooling2d(name, inShape, window, strides, padding)];
  }
}

function isPositiveInteger(v: unknown): v is number {
  return typeof v === "number" && Number.isInteger(v) && v >= 1;
}

/** `n` or `[h, w]` (Keras' int-or-tuple) as `[h, w]`, each a positive integer. */
function sizePair(v: unknown, field: string, name: string, i: number): [number, number] {
  if (isPositiveInteger(v)) return [v, v];
  if (Array.isArray(v) && v.length === 2 && isPositiveInteger(v[0]) && isPositiveInteger(v[1]))
    return [v[0], v[1]];
  throw new EngineError(
    `layer ${name}: ${field} must be a positive integer or a pair [height, width] of them, got ${JSON.stringify(v)}`,
    ["layers", i, field],
  );
}
