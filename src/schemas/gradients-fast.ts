import { finiteNestedNumbers } from "./common.js";
import { modelFieldMemo } from "./model-refs.js";
import type { GradientsRequest } from "./requests.js";

/** The largest seed (`SeedSchema`: a uint32). */
const MAX_SEED = 2 ** 32 - 1;

/** `NamedTensorsInputSchema`'s bound on a weight's name. */
const MAX_WEIGHT_KEY = 200;

/** `GradientsRequestSchema`'s fields, in its order (zod's output lists them so). */
const FIELDS = new Set(["model", "weights", "seed", "dtype", "x", "y", "numericalCheck", "training"]);

/**
 * What `GradientsRequestSchema` makes of a POST /gradients body of the common shape, checked in one
 * pass without zod (docs/performance.md, "/gradients"), or undefined: then the schema validates the
 * body as before, so a body it rejects gets the schema's own issues and paths, and any form this
 * path leaves out (a `numericalCheck` object) its own output.
 *
 * The common shape: a plain object with only the schema's keys; `model` one the model field
 * accepted lately (its memo's deep-frozen output, the object the schema hands out for it: the
 * model is not validated again, and a model not seen yet goes to the schema, which remembers it);
 * `weights` a plain object of names of at most 200 characters to finite nested numbers; `seed` an
 * integer in [0, 2³²); `dtype` "float64" or "float32"; `x` and `y` finite nested numbers;
 * `numericalCheck` and `training` booleans. The result equals the schema's output as JSON data
 * (same keys in the same order, numbers equal by `Object.is`); `x`, `y` and the weights' arrays are
 * the body's own (the schema copies `x` and `y`), and nothing downstream changes them.
 */
export function acceptGradientsBody(body: unknown): GradientsRequest | undefined {
  if (typeof body !== "object" || body === null || Object.getPrototypeOf(body) !== Object.prototype)
    return undefined;
  const b = body as Record<string, unknown>;
  for (const key in b) if (!FIELDS.has(key) || b[key] === undefined) return undefined;
  const { model, weights, seed, dtype, x, y, numericalCheck, training } = b;
  if (model === undefined || x === undefined || y === undefined) return undefined;
  const memoKey = modelFieldMemo.keyOf(model);
  if (memoKey === undefined) return undefined;
  const spec = modelFieldMemo.get(memoKey, model);
  if (spec === undefined) return undefined;
  const out: Record<string, unknown> = { model: spec };
  if (weights !== undefined) {
    const named = acceptWeights(weights);
    if (named === undefined) return undefined;
    out.weights = named;
  }
  if (seed !== undefined) {
    if (typeof seed !== "number" || !Number.isInteger(seed) || seed < 0 || seed > MAX_SEED) return undefined;
    out.seed = seed;
  }
  if (dtype !== undefined) {
    if (dtype !== "float64" && dtype !== "float32") return undefined;
    out.dtype = dtype;
  }
  if (!finiteNestedNumbers(x) || !finiteNestedNumbers(y)) return undefined;
  out.x = x;
  out.y = y;
  if (numericalCheck !== undefined) {
    if (typeof numericalCheck !== "boolean") return undefined;
    out.numericalCheck = numericalCheck;
  }
  if (training !== undefined) {
    if (typeof training !== "boolean") return undefined;
    out.training = training;
  }
  return out as GradientsRequest;
}

/** `weights` as `NamedTensorsInputSchema` accepts and outputs it (a new object, the same arrays), or undefined. */
function acceptWeights(weights: unknown): Record<string, unknown> | undefined {
  if (typeof weights !== "object" || weights === null || Object.getPrototypeOf(weights) !== Object.prototype)
    return undefined;
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(weights)) {
    const v = (weights as Record<string, unknown>)[key];
    // "__proto__" would set the new object's prototype (the body parser refuses it anyway).
    if (key === "__proto__" || key.length > MAX_WEIGHT_KEY || !finiteNestedNumbers(v)) return undefined;
    out[key] = v;
  }
  return out;
}
