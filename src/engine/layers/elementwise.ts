import type { Floats } from "../tensor.js";
/**
 * The element-wise activations beyond the textbook five, as tfjs-layers defines them
 * (docs/backprop.md §13.1): forward `y = f(x)` and backward `dx = dy · f'(x)`, plain loops over
 * the arrays. Every derivative here is taken from the INPUT `x`.
 */

/** The activations of this file (tfjs-layers' names), in the order `ActivationName` lists them. */
export const ELEMENTWISE_NAMES = [
  "elu",
  "selu",
  "softplus",
  "softsign",
  "relu6",
  "hardSigmoid",
  "swish",
  "mish",
  "gelu",
] as const;

/** One of `ELEMENTWISE_NAMES`. */
export type ElementwiseName = (typeof ELEMENTWISE_NAMES)[number];

/** SELU's constants (Klambauer et al. 2017), λ and λ·α as tfjs-core's `selu_util` (to double precision). */
export const SELU_SCALE = 1.0507009873554805;
export const SELU_SCALE_ALPHA = 1.758099340847377;

const SQRT1_2 = Math.SQRT1_2;
/** 1 / √(2π), the standard normal density at 0. */
const INV_SQRT_2PI = 1 / Math.sqrt(2 * Math.PI);
const TWO_OVER_SQRT_PI = 2 / Math.sqrt(Math.PI);

/** Logistic sigmoid without overflow. */
function sigmoidOf(x: number): number {
  if (x >= 0) return 1 / (1 + Math.exp(-x));
  const e = Math.exp(x);
  return e / (1 + e);
}

/** `log(1 + eˣ)` without overflow or loss of digits: `max(x, 0) + log1p(e^−|x|)`. */
export function softplus(x: number): number {
  return Math.max(x, 0) + Math.log1p(Math.exp(-Math.abs(x)));
}

/** `erf(z)` for 0 ≤ z < 2 from the series `2/√π · e^−z² · Σ_n 2ⁿ z^(2n+1) / (1·3·…·(2n+1))` (A&S 7.1.6; positive terms). */
function erfSeries(z: number): number {
  const z2 = z * z;
  let term = z;
  let sum = z;
  for (let n = 1; n < 200; n++) {
    term *= (2 * z2) / (2 * n + 1);
    sum += term;
    if (term < sum * 1e-17) break;
  }
  return TWO_OVER_SQRT_PI * Math.exp(-z2) * sum;
}

/**
 * `erfc(z)` for z ≥ 2 from the continued fraction `e^−z²/√π · 1/(z + ½/(z + 1/(z + 3/2/(z + …))))`
 * (A&S 7.1.14), evaluated from the tail: 64 levels reach double precision from z = 2.
 */
function erfcFraction(z: number): number {
  if (z > 27) return 0;
  let f = z;
  for (let n = 64; n >= 1; n--) f = z + n / 2 / f;
  return Math.exp(-z * z) / (Math.sqrt(Math.PI) * f);
}

/** The error function `erf(x) = 2/√π ∫₀ˣ e^−t² dt`, to about 1e-15 relative. */
export function erf(x: number): number {
  const a = Math.abs(x);
  const r = a < 2 ? erfSeries(a) : 1 - erfcFraction(a);
  return x < 0 ? -r : r;
}

/** Complementary error function for z ≥ 0, to about 1e-14 relative (also deep in the tail). */
function erfcNonNegative(z: number): number {
  return z < 2 ? 1 - erfSeries(z) : erfcFraction(z);
}

/** Standard normal CDF `Φ(x) = ½(1 + erf(x/√2))`, accurate in relative terms in the lower tail. */
export function normalCdf(x: number): number {
  if (Number.isNaN(x)) return x;
  return x >= 0 ? 1 - 0.5 * erfcNonNegative(x * SQRT1_2) : 0.5 * erfcNonNegative(-x * SQRT1_2);
}

/**
 * `y = f(x)` element-wise (docs/backprop.md §13.1). `alpha` is elu's (tfjs' activation uses 1).
 * NaN stays NaN.
 */
export function elementwiseForward(name: ElementwiseName, x: Floats, y: Floats, alpha = 1): void {
  const n = x.length;
  switch (name) {
    case "elu":
      for (let i = 0; i < n; i++) {
        const v = x[i]!;
        y[i] = v > 0 ? v : alpha * Math.expm1(v);
      }
      return;
    case "selu":
      for (let i = 0; i < n; i++) {
        const v = x[i]!;
        y[i] = v > 0 ? SELU_SCALE * v : SELU_SCALE_ALPHA * Math.expm1(v);
      }
      return;
    case "softplus":
      for (let i = 0; i < n; i++) y[i] = softplus(x[i]!);
      return;
    case "softsign":
      for (let i = 0; i < n; i++) {
        const v = x[i]!;
        y[i] = v / (Math.abs(v) + 1);
      }
      return;
    case "relu6":
      for (let i = 0; i < n; i++) {
        const v = x[i]!;
        y[i] = v > 6 ? 6 : v > 0 ? v : Number.isNaN(v) ? v : 0;
      }
      return;
    case "hardSigmoid":
      for (let i = 0; i < n; i++) {
        const p = 0.2 * x[i]! + 0.5;
        y[i] = Math.min(1, Math.max(0, p));
      }
      return;
    case "swish":
      for (let i = 0; i < n; i++) {
        const v = x[i]!;
        y[i] = v * sigmoidOf(v);
      }
      return;
    case "mish":
      for (let i = 0; i < n; i++) {
        const v = x[i]!;
        y[i] = v * Math.tanh(softplus(v));
      }
      return;
    case "gelu":
      for (let i = 0; i < n; i++) {
        const v = x[i]!;
        y[i] = v * normalCdf(v);
      }
      return;
  }
}

/**
 * `dx = dy · f'(x)` element-wise, from the input `x` (docs/backprop.md §13.1). At the kinks the
 * one-sided derivative tfjs' gradients take: relu6 1 only on the open interval (0, 6),
 * hardSigmoid 0.2 on the closed interval [−2.5, 2.5], elu and selu the left-hand one at 0.
 */
export function elementwiseBackward(
  name: ElementwiseName,
  x: Floats,
  dy: Floats,
  dx: Floats,
  alpha = 1,
): void {
  const n = x.length;
  switch (name) {
    case "elu":
      for (let i = 0; i < n; i++) {
        const v = x[i]!;
        dx[i] = v > 0 ? dy[i]! : dy[i]! * alpha * Math.exp(v);
      }
      return;
    case "selu":
      for (let i = 0; i < n; i++) {
        const v = x[i]!;
        dx[i] = v > 0 ? dy[i]! * SELU_SCALE : dy[i]! * SELU_SCALE_ALPHA * Math.exp(v);
      }
      return;
    case "softplus":
      for (let i = 0; i < n; i++) dx[i] = dy[i]! * sigmoidOf(x[i]!);
      return;
    case "softsign":
      for (let i = 0; i < n; i++) {
        const d = Math.abs(x[i]!) + 1;
        dx[i] = dy[i]! / (d * d);
      }
      return;
    case "relu6":
      for (let i = 0; i < n; i++) {
        const v = x[i]!;
        dx[i] = v > 0 && v < 6 ? dy[i]! : 0;
      }
      return;
    case "hardSigmoid":
      for (let i = 0; i < n; i++) {
        const p = 0.2 * x[i]! + 0.5;
        dx[i] = p >= 0 && p <= 1 ? 0.2 * dy[i]! : 0;
      }
      return;
    case "swish":
      for (let i = 0; i < n; i++) {
        const v = x[i]!;
        const s = sigmoidOf(v);
        dx[i] = dy[i]! * (s + v * s * (1 - s));
      }
      return;
    case "mish":
      for (let i = 0; i < n; i++) {
        const v = x[i]!;
        const t = Math.tanh(softplus(v));
        dx[i] = dy[i]! * (t + v * (1 - t * t) * sigmoidOf(v));
      }
      return;
    case "gelu":
      for (let i = 0; i < n; i++) {
        const v = x[i]!;
        dx[i] = dy[i]! * (normalCdf(v) + v * INV_SQRT_2PI * Math.exp(-0.5 * v * v));
      }
      return;
  }
}
