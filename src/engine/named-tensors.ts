import { EngineError } from "./errors.js";
import { formatShape, type NamedTensors, sameShape, sizeOf } from "./tensor.js";

/** A parameter's public name and shape: what checking tensors keyed as the weights needs. */
export interface ParamShape {
  readonly key: string;
  readonly shape: readonly number[];
}

/**
 * Checks that `tensors` has exactly the keys and shapes of `params`, with finite values
 * (and ≥ 0 ones when `nonNegative`).
 * @param params a built model's parameters, or the shapes `ModelSummary.layers[].params` lists.
 * @param what the noun for messages ("weight", "velocity").
 * @throws EngineError at `[...path, key]` naming what was expected.
 */
export function checkNamedTensors(
  params: readonly ParamShape[],
  tensors: NamedTensors,
  path: (string | number)[],
  what: string,
  nonNegative = false,
): void {
  if (typeof tensors !== "object" || tensors === null)
    throw new EngineError(`expected an object of tensors keyed as the weights`, path);
  const expected = new Set(params.map((p) => p.key));
  for (const key of Object.keys(tensors))
    if (!expected.has(key))
      throw new EngineError(
        `unknown ${what} "${key}"; this model's weights are ${[...expected].map((k) => `"${k}"`).join(", ") || "none"}`,
        [...path, key],
      );
  for (const p of params) {
    const w = tensors[p.key];
    if (!w)
      throw new EngineError(`missing ${what} "${p.key}" of shape ${formatShape(p.shape)}`, [...path, p.key]);
    if (!sameShape(w.shape, p.shape) || w.data.length !== sizeOf(p.shape))
      throw new EngineError(
        `${what} "${p.key}" has shape ${formatShape(w.shape)}, expected ${formatShape(p.shape)}`,
        [...path, p.key],
      );
    for (let i = 0; i < w.data.length; i++) {
      const v = w.data[i]!;
      if (!Number.isFinite(v) || (nonNegative && v < 0))
        throw new EngineError(
          `${what} "${p.key}" has ${Number.isFinite(v) ? "a negative" : "a non-finite"} value at flat index ${i}`,
          [...path, p.key],
        );
    }
  }
}
