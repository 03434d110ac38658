import { Matrix, QrDecomposition } from "ml-matrix";
import { EngineError } from "./errors.js";
import type { Param } from "./layers/layer.js";
import type { Rng } from "./rng.js";
import type { Floats } from "./tensor.js";

/** The initialisers that take no arguments (tfjs-layers names). */
export type ArgumentlessInitializerName =
  | "glorotUniform"
  | "glorotNormal"
  | "heNormal"
  | "heUniform"
  | "leCunNormal"
  | "leCunUniform"
  | "zeros"
  | "ones";

/** Initialisers without arguments, or used with their defaults (tfjs-layers names). */
export type InitializerName =
  | ArgumentlessInitializerName
  | "randomNormal"
  | "randomUniform"
  | "truncatedNormal"
  | "orthogonal"
  | "varianceScaling";

/** Which fan `varianceScaling` divides by (tfjs' `FanMode`). */
export type FanMode = "fanIn" | "fanOut" | "fanAvg";

/** `varianceScaling`'s distribution (tfjs' `Distribution`); see `initializeParam`. */
export type Distribution = "normal" | "uniform" | "truncatedNormal";

/**
 * How a weight tensor starts (docs/backprop.md §16.1): a name (`"heNormal"`) or an object with
 * its arguments (`{ type: "constant", value: 0.1 }`). Every random one draws from the request's seed.
 */
export type InitializerSpec =
  | InitializerName
  | { type: ArgumentlessInitializerName }
  | { type: "constant"; value: number }
  | { type: "randomNormal"; mean?: number; stddev?: number }
  | { type: "randomUniform"; minval?: number; maxval?: number }
  | { type: "truncatedNormal"; mean?: number; stddev?: number }
  | { type: "orthogonal"; gain?: number }
  | { type: "varianceScaling"; scale?: number; mode?: FanMode; distribution?: Distribution };

/** Largest `max·min²` of an orthogonal initialiser's QR (about a second of work). */
export const MAX_QR_WORK = 2 ** 28;

/** `stddev / 0.8796…` gives a normal truncated at ±2σ the variance σ² (Keras' correction). */
const TRUNCATION_CORRECTION = 0.8796256610342398;

/**
 * tfjs' `computeFans`: `[in, out]` for a matrix; for a conv kernel `[..., in, out]` each times the
 * receptive field (product of the leading axes); otherwise both `√(size)`.
 */
export function computeFans(shape: readonly number[]): { fanIn: number; fanOut: number } {
  if (shape.length === 2) return { fanIn: shape[0]!, fanOut: shape[1]! };
  if (shape.length >= 3 && shape.length <= 5) {
    let field = 1;
    for (let i = 0; i < shape.length - 2; i++) field *= shape[i]!;
    return { fanIn: shape[shape.length - 2]! * field, fanOut: shape[shape.length - 1]! * field };
  }
  const root = Math.sqrt(shape.reduce((s, d) => s * d, 1));
  return { fanIn: root, fanOut: root };
}

/** A standard normal draw: Box–Muller from two uniform draws (the cosine half). */
export function standardNormal(rng: Rng): number {
  const u1 = 1 - rng.next(); // (0, 1]: log is finite
  const u2 = rng.next();
  return Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
}

/** A standard normal draw redrawn until it lies within ±2 (tfjs' and Keras' truncation). */
export function truncatedStandardNormal(rng: Rng): number {
  for (;;) {
    const z = standardNormal(rng);
    if (z >= -2 && z <= 2) return z;
  }
}

/**
 * The variance-scaling triple each named initialiser stands for (Keras / tfjs definitions;
 * `glorotUniform` draws through its own branch, bit for bit as the engine always has).
 */
export const NAMED_VARIANCE_SCALING: Readonly<
  Record<string, { scale: number; mode: FanMode; distribution: Distribution }>
> = {
  glorotUniform: { scale: 1, mode: "fanAvg", distribution: "uniform" },
  glorotNormal: { scale: 1, mode: "fanAvg", distribution: "normal" },
  heNormal: { scale: 2, mode: "fanIn", distribution: "normal" },
  heUniform: { scale: 2, mode: "fanIn", distribution: "uniform" },
  leCunNormal: { scale: 1, mode: "fanIn", distribution: "normal" },
  leCunUniform: { scale: 1, mode: "fanIn", distribution: "uniform" },
};

/** The named triples, and `varianceScaling`'s defaults. */
const SCALED: Record<string, { scale: number; mode: FanMode; distribution: Distribution }> = {
  ...NAMED_VARIANCE_SCALING,
  varianceScaling: { scale: 1, mode: "fanIn", distribution: "normal" },
};

/**
 * An initialiser's numeric option `field` (`dflt` when absent).
 * @throws EngineError at `[...path, field]` unless it is a finite number ≥ `min`.
 */
function numberOption(
  a: Record<string, unknown> & { type: string },
  path: (string | number)[],
  field: string,
  dflt: number,
  min = Number.NEGATIVE_INFINITY,
): number {
  const v = a[field] ?? dflt;
  if (typeof v !== "number" || !Number.isFinite(v) || v < min)
    throw new EngineError(
      `${a.type}: ${field} must be a finite number${min > -Infinity ? ` ≥ ${min}` : ""}, got ${JSON.stringify(v)}`,
      [...path, field],
    );
  return v;
}

/**
 * Fills `value` (a tensor of `shape`, row-major) as `spec` says, drawing from `rng` in element
 * order (docs/backprop.md §16.1). Fans are `fans` when given (a layer's own), else `computeFans(shape)`.
 * `glorotUniform` draws exactly as the engine always has, so default
 * weights are unchanged.
 * With `rng` null, only checks the arguments (`checkInitializer`).
 * @throws EngineError at `path` when the arguments are invalid or the values could overflow.
 */
export function initializeParam(
  spec: InitializerSpec,
  value: Floats,
  shape: readonly number[],
  rng: Rng | null,
  path: (string | number)[],
  fans: { fanIn: number; fanOut: number } = computeFans(shape),
): void {
  const s = typeof spec === "string" ? { type: spec } : spec;
  const a = s as Record<string, unknown> & { type: string };
  const n = value.length;
  switch (a.type) {
    case "glorotUniform": {
      const { fanIn, fanOut } = fans;
      const limit = Math.sqrt(6 / (fanIn + fanOut));
      if (rng) for (let i = 0; i < n; i++) value[i] = rng.uniform(-limit, limit);
      break;
    }
    case "zeros":
      if (rng) value.fill(0);
      break;
    case "ones":
      if (rng) value.fill(1);
      break;
    case "constant": {
      const v = numberOption(a, path, "value", Number.NaN);
      if (rng) value.fill(v);
      break;
    }
    case "randomUniform": {
      const lo = numberOption(a, path, "minval", -0.05);
      const hi = numberOption(a, path, "maxval", 0.05);
      if (hi < lo)
        throw new EngineError(`randomUniform: maxval ${hi} is below minval ${lo}`, [...path, "maxval"]);
      if (!Number.isFinite(hi - lo))
        throw new EngineError(`randomUniform: the range maxval − minval overflows`, [...path, "maxval"]);
      if (rng) for (let i = 0; i < n; i++) value[i] = rng.uniform(lo, hi);
      break;
    }
    case "randomNormal":
    case "truncatedNormal": {
      const mean = numberOption(a, path, "mean", 0);
      const stddev = numberOption(a, path, "stddev", 0.05, 0);
      // |z| ≤ √(−2 ln 2⁻⁵³) < 9 for Box–Muller on 53-bit uniforms, ≤ 2 truncated.
      if (!Number.isFinite(Math.abs(mean) + (a.type === "randomNormal" ? 9 : 2) * stddev))
        throw new EngineError(`${a.type}: mean and stddev this large can overflow`, [...path, "stddev"]);
      const draw = a.type === "randomNormal" ? standardNormal : truncatedStandardNormal;
      if (rng) for (let i = 0; i < n; i++) value[i] = mean + stddev * draw(rng);
      break;
    }
    case "orthogonal":
      orthogonal(value, shape, numberOption(a, path, "gain", 1), rng, path);
      break;
    case "glorotNormal":
    case "heNormal":
    case "heUniform":
    case "leCunNormal":
    case "leCunUniform":
    case "varianceScaling": {
      const d = SCALED[a.type]!;
      const scale = a.type === "varianceScaling" ? numberOption(a, path, "scale", 1, 0) : d.scale;
      const mode = a.type === "varianceScaling" ? (a.mode ?? d.mode) : d.mode;
      const distribution = a.type === "varianceScaling" ? (a.distribution ?? d.distribution) : d.distribution;
      varianceScaling(value, fans, scale, mode as FanMode, distribution as Distribution, rng, path);
      break;
    }
    default:
      throw new EngineError(
        `unknown initializer ${JSON.stringify(a.type)}`,
        typeof spec === "string" ? path : [...path, "type"],
      );
  }
  if (rng)
    for (let i = 0; i < n; i++)
      if (!Number.isFinite(value[i]!))
        throw new EngineError(
          `${a.type} gives a non-finite weight with these arguments; use smaller values`,
          path,
        );
}

/**
 * tfjs' `VarianceScaling`: σ² = scale / max(1, fan) with fan per `mode`; `uniform` draws from
 * U(−√(3σ²), √(3σ²)); `normal` from a normal of standard deviation σ truncated at ±2σ (as tfjs,
 * whose `heNormal` and `glorotNormal` are these); `truncatedNormal` the same with σ / 0.8796 so
 * the truncated draw has variance σ² (Keras' "truncated_normal"; tfjs draws uniform here).
 */
function varianceScaling(
  value: Floats,
  fans: { fanIn: number; fanOut: number },
  scale: number,
  mode: FanMode,
  distribution: Distribution,
  rng: Rng | null,
  path: (string | number)[],
): void {
  const { fanIn, fanOut } = fans;
  let fan: number;
  if (mode === "fanIn") fan = fanIn;
  else if (mode === "fanOut") fan = fanOut;
  else if (mode === "fanAvg") fan = (fanIn + fanOut) / 2;
  else
    throw new EngineError(`mode must be "fanIn", "fanOut" or "fanAvg", got ${JSON.stringify(mode)}`, [
      ...path,
      "mode",
    ]);
  const variance = scale / Math.max(1, fan);
  const n = value.length;
  if (distribution === "uniform") {
    const limit = Math.sqrt(3 * variance);
    if (rng) for (let i = 0; i < n; i++) value[i] = rng.uniform(-limit, limit);
  } else if (distribution === "normal" || distribution === "truncatedNormal") {
    const sigma = Math.sqrt(variance) / (distribution === "normal" ? 1 : TRUNCATION_CORRECTION);
    if (rng) for (let i = 0; i < n; i++) value[i] = sigma * truncatedStandardNormal(rng);
  } else
    throw new EngineError(
      `distribution must be "normal", "uniform" or "truncatedNormal", got ${JSON.stringify(distribution)}`,
      [...path, "distribution"],
    );
}

/**
 * Keras' `Orthogonal`: the tensor read as a matrix `[rows = product of all axes but the last,
 * cols = last axis]`; a standard normal matrix `[max, min]` of those is factored `A = QR` (ml-matrix's
 * Householder QR), Q's columns take the signs of R's diagonal, and `gain · Q` (transposed when
 * rows < cols) fills the tensor: orthonormal columns (or rows).
 */
function orthogonal(
  value: Floats,
  shape: readonly number[],
  gain: number,
  rng: Rng | null,
  path: (string | number)[],
): void {
  if (shape.length < 2)
    throw new EngineError(
      `orthogonal needs a weight of rank 2 or more, got shape [${shape.join(", ")}]`,
      path,
    );
  const cols = shape[shape.length - 1]!;
  const rows = shape.slice(0, -1).reduce((p, d) => p * d, 1);
  const tall = Math.max(rows, cols);
  const wide = Math.min(rows, cols);
  if (tall * wide * wide > MAX_QR_WORK)
    throw new EngineError(
      `orthogonal on a [${rows}, ${cols}] weight needs a QR of ${tall * wide * wide} operations; the limit is ${MAX_QR_WORK}`,
      path,
    );
  if (!rng) return;
  const a = new Matrix(tall, wide);
  for (let i = 0; i < tall; i++) for (let j = 0; j < wide; j++) a.set(i, j, standardNormal(rng));
  const qr = new QrDecomposition(a);
  const q = qr.orthogonalMatrix;
  const r = qr.upperTriangularMatrix;
  for (let i = 0; i < rows; i++)
    for (let j = 0; j < cols; j++) {
      // Q is [tall, wide]; the tensor is Q (rows ≥ cols) or Qᵀ (rows < cols).
      const [qi, qj] = rows >= cols ? [i, j] : [j, i];
      const sign = r.get(qj, qj) < 0 ? -1 : 1;
      value[i * cols + j] = gain * sign * q.get(qi, qj);
    }
}

/**
 * Checks an initialiser's arguments for a tensor of `shape` without drawing anything, so a model
 * refuses bad ones when it is built.
 * @throws EngineError at `path` (`[..., "stddev"]`) naming the field.
 */
export function checkInitializer(
  spec: InitializerSpec,
  shape: readonly number[],
  path: (string | number)[],
  fans?: { fanIn: number; fanOut: number },
): void {
  initializeParam(spec, new Float64Array(0), shape, null, path, fans ?? computeFans(shape));
}

/**
 * Initialises every parameter from one generator seeded with `seed`, in order: each parameter's
 * `initializer`, or Glorot-uniform for a kernel (a parameter with `fans`) and zeros otherwise, the
 * engine's defaults since its first version; then its `afterInit`, if any.
 * @throws EngineError at the parameter's `initializerPath` when an initialiser's arguments are invalid.
 */
export function initializeParams(params: readonly Param[], rng: Rng): void {
  for (const p of params) {
    initializeParam(
      p.initializer ?? (p.fans ? "glorotUniform" : "zeros"),
      p.value,
      p.shape,
      rng,
      p.initializerPath ?? [],
      p.fans,
    );
    p.afterInit?.(p.value);
  }
}
