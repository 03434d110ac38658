import { EngineError } from "../errors.js";
import type { GlobalPooling2dSpec, ReshapeSpec, ZeroPadding2dPadding, ZeroPadding2dSpec } from "../spec.js";
import { formatShape, sizeOf } from "../tensor.js";
import { GlobalAveragePooling2d, GlobalMaxPooling2d } from "./global-pooling.js";
import type { Layer } from "./layer.js";
import { Reshape, resolveTargetShape } from "./reshape.js";
import { type Padding2d, ZeroPadding2d } from "./zero-padding.js";

/**
 * Builds the shape layers (global pooling, reshape, zero padding; docs/backprop.md §17) for an
 * input of shape `inShape`.
 * @param i the layer's index in the spec, for error paths.
 * @throws EngineError at `["layers", i, field]` for an option that is not valid (`targetShape`
 *   whose size differs from the input's, a `padding` that is not non-negative integers, a
 *   `dataFormat` other than `channelsLast`), and at `["layers", i]` naming the layer and the
 *   shape when a 2-D layer's input is not `[height, width, channels]`.
 */
export function buildShapeLayer(
  ls: GlobalPooling2dSpec | ReshapeSpec | ZeroPadding2dSpec,
  name: string,
  inShape: number[],
  i: number,
): Layer {
  if (ls.type === "reshape") {
    const target: unknown = ls.targetShape;
    const shape = Array.isArray(target)
      ? target.length === 0
        ? "it is empty"
        : resolveTargetShape(target, sizeOf(inShape))
      : "it must be an array";
    if (typeof shape === "string")
      throw new EngineError(
        `layer ${name} (reshape): targetShape ${Array.isArray(target) ? formatShape(target as number[]) : JSON.stringify(target)} does not fit the input ${formatShape(inShape)}: ${shape}`,
        ["layers", i, "targetShape"],
      );
    return new Reshape(name, inShape, shape);
  }
  const format: unknown = ls.dataFormat ?? "channelsLast";
  if (format !== "channelsLast")
    throw new EngineError(
      `layer ${name}: only dataFormat "channelsLast" ([height, width, channels]) is supported, got ${JSON.stringify(format)}`,
      ["layers", i, "dataFormat"],
    );
  const padding = ls.type === "zeroPadding2d" ? paddingOf(ls.padding, name, i) : undefined;
  if (inShape.length !== 3)
    throw new EngineError(
      `layer ${name}: ${ls.type} needs [height, width, channels] input, got ${formatShape(inShape)}`,
      ["layers", i],
    );
  switch (ls.type) {
    case "globalAveragePooling2d":
      return new GlobalAveragePooling2d(name, inShape);
    case "globalMaxPooling2d":
      return new GlobalMaxPooling2d(name, inShape);
    case "zeroPadding2d":
      return new ZeroPadding2d(name, inShape, padding!);
  }
}

const isCount = (v: unknown): v is number => typeof v === "number" && Number.isInteger(v) && v >= 0;

/** tfjs' three forms of `padding` (default 1) as `[[top, bottom], [left, right]]`. */
function paddingOf(p: ZeroPadding2dPadding | undefined, name: string, i: number): Padding2d {
  const v: unknown = p ?? 1;
  if (isCount(v))
    return [
      [v, v],
      [v, v],
    ];
  if (Array.isArray(v) && v.length === 2) {
    const [a, b]: unknown[] = v;
    if (isCount(a) && isCount(b))
      return [
        [a, a],
        [b, b],
      ];
    if (
      Array.isArray(a) &&
      Array.isArray(b) &&
      a.length === 2 &&
      b.length === 2 &&
      [...a, ...b].every(isCount)
    )
      return [
        [a[0], a[1]],
        [b[0], b[1]],
      ];
  }
  throw new EngineError(
    `layer ${name}: padding must be a non-negative integer, [height, width] or [[top, bottom], [left, right]] of them, got ${JSON.stringify(v)}`,
    ["layers", i, "padding"],
  );
}
