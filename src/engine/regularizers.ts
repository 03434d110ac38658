import { EngineError } from "./errors.js";
import { checkInitializer } from "./initializers.js";
import type { Layer, Param } from "./layers/layer.js";
import type { WeightOptions } from "./spec.js";
import type { Floats } from "./tensor.js";

/**
 * Keras' `L1L2` penalty `l1·Σ|x| + l2·Σx²` (docs/backprop.md §16.2); an absent coefficient is 0
 * (Keras' `L1L2`; tfjs' `l1l2` would default a missing one to 0.01).
 */
export interface RegularizerSpec {
  l1?: number;
  l2?: number;
}

/**
 * A regulariser by name, as Keras' and tfjs' string identifiers: `"l1"` is `{l1: 0.01}`, `"l2"` is
 * `{l2: 0.01}` (Keras' `L1`/`L2` defaults) and `"l1l2"` is `{l1: 0.01, l2: 0.01}` (tfjs' `l1l2`).
 */
export type RegularizerName = "l1" | "l2" | "l1l2";

/** The coefficients each `RegularizerName` stands for. */
export const REGULARIZER_NAMES: Readonly<Record<RegularizerName, Required<RegularizerSpec>>> = {
  l1: { l1: 0.01, l2: 0 },
  l2: { l1: 0, l2: 0.01 },
  l1l2: { l1: 0.01, l2: 0.01 },
};

/**
 * A constraint on a kernel, applied after every optimiser step (tfjs' `maxNorm`, `nonNeg`,
 * `unitNorm`; docs/backprop.md §16.3). `axis` (default 0) lists the axes a norm is taken over: for a
 * dense kernel `[in, units]` axis 0 is each unit's incoming weights; for a conv kernel
 * `[kH, kW, inC, filters]` use `[0, 1, 2]` for each filter's.
 */
export type ConstraintSpec =
  | "maxNorm"
  | "nonNeg"
  | "unitNorm"
  | { type: "maxNorm"; maxValue?: number; axis?: number | number[] }
  | { type: "nonNeg" }
  | { type: "unitNorm"; axis?: number | number[] };

/** tfjs' `epsilon()`, added to norms before dividing by them. */
const EPSILON = 1e-7;

/** `l1·Σ|x| + l2·Σx²` over the first `n` elements of `x`. */
export function penaltyOf(r: Required<RegularizerSpec>, x: Floats, n = x.length): number {
  let a = 0;
  let s = 0;
  for (let i = 0; i < n; i++) {
    const v = x[i]!;
    a += Math.abs(v);
    s += v * v;
  }
  return (r.l1 === 0 ? 0 : r.l1 * a) + (r.l2 === 0 ? 0 : r.l2 * s);
}

/**
 * Adds `scale · ∂penalty/∂x = scale·(l1·sign(x) + 2·l2·x)` into `g` (sign(0) = 0, tfjs' choice at the
 * kink) and returns the norm of `∂penalty/∂x` itself.
 */
export function addPenaltyGrad(
  r: Required<RegularizerSpec>,
  x: Floats,
  g: Floats,
  scale: number,
  n = x.length,
): number {
  let sq = 0;
  let largest = 0;
  for (let i = 0; i < n; i++) {
    const v = x[i]!;
    const d = r.l1 * Math.sign(v) + 2 * r.l2 * v;
    g[i]! += scale * d;
    sq += d * d;
    largest = Math.max(largest, Math.abs(d));
  }
  if (largest === 0 || (sq >= 1e-290 && sq < Number.POSITIVE_INFINITY) || !Number.isFinite(largest))
    return Math.sqrt(sq);
  // The sum of squares under- or overflowed: redo it scaled by the largest element.
  sq = 0;
  for (let i = 0; i < n; i++) sq += ((r.l1 * Math.sign(x[i]!) + 2 * r.l2 * x[i]!) / largest) ** 2;
  return largest * Math.sqrt(sq);
}

/**
 * Checks a regulariser (an object or a `RegularizerName`) and fills in its defaults.
 * @throws EngineError at `path` (`[..., "l1"]`) unless l1 and l2 are finite and ≥ 0, and at `path`
 *   for a name that is not one of `REGULARIZER_NAMES`.
 */
export function checkRegularizer(r: unknown, path: (string | number)[]): Required<RegularizerSpec> {
  if (typeof r === "string") {
    if (Object.hasOwn(REGULARIZER_NAMES, r)) return { ...REGULARIZER_NAMES[r as RegularizerName] };
    throw new EngineError(`a regularizer is "l1", "l2", "l1l2" or an object {l1?, l2?}, got "${r}"`, path);
  }
  if (typeof r !== "object" || r === null || Array.isArray(r))
    throw new EngineError('a regularizer is "l1", "l2", "l1l2" or an object {l1?, l2?}', path);
  const o = r as Record<string, unknown>;
  const out = { l1: 0, l2: 0 };
  for (const k of ["l1", "l2"] as const) {
    const v = o[k] ?? 0;
    if (typeof v !== "number" || !Number.isFinite(v) || v < 0)
      throw new EngineError(`${k} must be a finite number ≥ 0, got ${JSON.stringify(v)}`, [...path, k]);
    out[k] = v;
  }
  return out;
}

/** A constraint ready to apply to one tensor: the group each element's norm is taken in. */
export interface BoundConstraint {
  param: Param;
  kind: "maxNorm" | "nonNeg" | "unitNorm";
  maxValue: number;
  /** For each element, the index of its norm group (elements equal on every axis not reduced). */
  group: Uint32Array;
  groups: number;
  norms: Floats;
  scales: Floats;
}

/**
 * Checks `spec` for a tensor of `shape` and prepares it.
 * @throws EngineError at `path` naming the field (`maxValue`, `axis`, `type`).
 */
export function bindConstraint(spec: unknown, param: Param, path: (string | number)[]): BoundConstraint {
  const o = (typeof spec === "string" ? { type: spec } : spec) as Record<string, unknown> | null;
  if (typeof o !== "object" || o === null)
    throw new EngineError("a constraint is a name or {type, ...}", path);
  const kind = o.type;
  if (kind !== "maxNorm" && kind !== "nonNeg" && kind !== "unitNorm")
    throw new EngineError(
      `unknown constraint ${JSON.stringify(kind)}; the constraints are maxNorm, nonNeg, unitNorm`,
      typeof spec === "string" ? path : [...path, "type"],
    );
  const maxValue = o.maxValue ?? 2;
  if (kind === "maxNorm" && (typeof maxValue !== "number" || !Number.isFinite(maxValue) || maxValue < 0))
    throw new EngineError(`maxValue must be a finite number ≥ 0, got ${JSON.stringify(maxValue)}`, [
      ...path,
      "maxValue",
    ]);
  const shape = param.shape;
  const rank = shape.length;
  const axisSpec = o.axis ?? 0;
  const axes = Array.isArray(axisSpec) ? axisSpec : [axisSpec];
  if (
    axes.length === 0 ||
    axes.some((a) => typeof a !== "number" || !Number.isInteger(a) || a < -rank || a >= rank)
  )
    throw new EngineError(
      `axis must be an integer or a list of integers in [${-rank}, ${rank - 1}] for the ${rank}-d weight "${param.key}", got ${JSON.stringify(axisSpec)}`,
      [...path, "axis"],
    );
  const reduced = new Set((axes as number[]).map((a) => (a < 0 ? a + rank : a)));
  const n = param.value.length;
  const group = new Uint32Array(n);
  let groups = 1;
  for (let d = 0; d < rank; d++) if (!reduced.has(d)) groups *= shape[d]!;
  for (let i = 0; i < n; i++) {
    let rest = i;
    let g = 0;
    let mult = 1;
    for (let d = rank - 1; d >= 0; d--) {
      const size = shape[d]!;
      const idx = rest % size;
      rest = (rest - idx) / size;
      if (!reduced.has(d)) {
        g += idx * mult;
        mult *= size;
      }
    }
    group[i] = g;
  }
  return {
    param,
    kind,
    maxValue: maxValue as number,
    group,
    groups,
    norms: new Float64Array(groups),
    scales: new Float64Array(groups),
  };
}

/**
 * Applies a constraint in place (tfjs' formulas, docs/backprop.md §16.3): `nonNeg` w ← max(w, 0);
 * `maxNorm` w ← w · clip(‖w‖, 0, maxValue) / (ε + ‖w‖); `unitNorm` w ← w / (ε + ‖w‖), norms over
 * each group, ε = 1e-7. Norms are taken scaled by the group's largest |w|, so they do not overflow.
 */
export function applyConstraint(c: BoundConstraint): void {
  const w = c.param.value;
  const n = w.length;
  if (c.kind === "nonNeg") {
    for (let i = 0; i < n; i++) if (w[i]! < 0) w[i] = 0;
    return;
  }
  const { group, norms, scales } = c;
  scales.fill(0);
  norms.fill(0);
  for (let i = 0; i < n; i++) scales[group[i]!] = Math.max(scales[group[i]!]!, Math.abs(w[i]!));
  for (let i = 0; i < n; i++) {
    const s = scales[group[i]!]!;
    if (s > 0) norms[group[i]!]! += (w[i]! / s) ** 2;
  }
  for (let k = 0; k < c.groups; k++) {
    const norm = scales[k]! * Math.sqrt(norms[k]!);
    const target = c.kind === "maxNorm" ? Math.min(Math.max(norm, 0), c.maxValue) : 1;
    scales[k] = target / (EPSILON + norm);
  }
  for (let i = 0; i < n; i++) w[i] = w[i]! * scales[group[i]!]!;
}

/**
 * Attaches a dense, conv2d or conv1d spec's initialisers, weight regularisers and kernel constraint to its
 * parameters (checking the regularisers and the constraint).
 * @param i the layer's index in the spec, for error paths `["layers", i, field]`.
 */
export function configureParams(ls: WeightOptions, kernel: Param, bias: Param | undefined, i: number): void {
  const at = (field: string) => ["layers", i, field];
  if (ls.kernelInitializer !== undefined) {
    checkInitializer(ls.kernelInitializer, kernel.shape, at("kernelInitializer"), kernel.fans);
    kernel.initializer = ls.kernelInitializer;
    kernel.initializerPath = at("kernelInitializer");
  }
  if (bias && ls.biasInitializer !== undefined) {
    checkInitializer(ls.biasInitializer, bias.shape, at("biasInitializer"), bias.fans);
    bias.initializer = ls.biasInitializer;
    bias.initializerPath = at("biasInitializer");
  }
  if (ls.kernelRegularizer !== undefined)
    kernel.regularizer = checkRegularizer(ls.kernelRegularizer, at("kernelRegularizer"));
  if (bias && ls.biasRegularizer !== undefined)
    bias.regularizer = checkRegularizer(ls.biasRegularizer, at("biasRegularizer"));
  if (ls.activityRegularizer !== undefined)
    checkRegularizer(ls.activityRegularizer, at("activityRegularizer"));
  if (ls.kernelConstraint !== undefined) {
    bindConstraint(ls.kernelConstraint, kernel, at("kernelConstraint"));
    kernel.constraint = ls.kernelConstraint;
  }
}

/** What `Regularization` needs of a model. */
export interface RegularizedModel {
  readonly layers: readonly Layer[];
  readonly specLayerEnds: readonly number[];
  readonly spec: { layers: readonly unknown[] };
  params(): Param[];
  layerOutput(i: number): Floats;
}
