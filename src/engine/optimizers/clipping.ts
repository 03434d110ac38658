import type { GradientClipping } from "../spec.js";
import type { Floats } from "../tensor.js";

/** The one clipping a spec asks for (docs/backprop.md §15.1). */
export type Clipping =
  | { kind: "clipnorm"; c: number }
  | { kind: "clipvalue"; c: number }
  | { kind: "globalClipnorm"; c: number };

/** The clipping of a checked spec (`checkClipping`), or undefined when none is set. */
export function makeClipping(spec: GradientClipping): Clipping | undefined {
  if (spec.clipnorm !== undefined) return { kind: "clipnorm", c: spec.clipnorm };
  if (spec.clipvalue !== undefined) return { kind: "clipvalue", c: spec.clipvalue };
  if (spec.globalClipnorm !== undefined) return { kind: "globalClipnorm", c: spec.globalClipnorm };
  return undefined;
}

/**
 * The L2 norm of `arrays[from … to − 1]` together, as Keras computes it, `√Σ g²`, except that a
 * sum overflowed by finite values is recomputed scaled by the largest |g| (so |g| up to 1.8e308
 * has a finite norm instead of ∞, which would clip the gradient to 0). NaN or ±∞ give a
 * non-finite norm.
 */
function normOf(arrays: Floats[], from: number, to: number): number {
  let s = 0;
  for (let k = from; k < to; k++) {
    const g = arrays[k]!;
    for (let i = 0; i < g.length; i++) s += g[i]! * g[i]!;
  }
  if (s !== Number.POSITIVE_INFINITY) return Math.sqrt(s);
  let big = 0;
  for (let k = from; k < to; k++) {
    const g = arrays[k]!;
    for (let i = 0; i < g.length; i++) big = Math.max(big, Math.abs(g[i]!));
  }
  if (!Number.isFinite(big)) return big;
  let r = 0;
  for (let k = from; k < to; k++) {
    const g = arrays[k]!;
    for (let i = 0; i < g.length; i++) {
      const q = g[i]! / big;
      r += q * q;
    }
  }
  return big * Math.sqrt(r);
}

/**
 * Writes the clipped gradients `raw` (one array per parameter) into `out`, as Keras 3's
 * `_clip_gradients`: `clipnorm` c gives `g·c / max(‖g‖, c)` per parameter, `globalClipnorm` c
 * gives `g·(c·min(1/N, 1/c))` with N the norm of all gradients together, `clipvalue` c gives
 * `min(max(g, −c), c)` per element.
 * @returns the last parameter whose raw gradient is not finite (−1: none), checked before
 *   clipping, since clipping by value would turn ±∞ into ±c.
 */
export function clipGradients(clip: Clipping, raw: Floats[], out: Floats[]): number {
  let bad = -1;
  for (let k = 0; k < raw.length; k++) {
    const g = raw[k]!;
    let check = 0;
    for (let i = 0; i < g.length; i++) check += g[i]! * 0;
    if (check !== 0) bad = k;
  }
  const { c } = clip;
  if (clip.kind === "clipvalue") {
    for (let k = 0; k < raw.length; k++) {
      const g = raw[k]!;
      const o = out[k]!;
      for (let i = 0; i < g.length; i++) o[i] = Math.min(Math.max(g[i]!, -c), c);
    }
  } else if (clip.kind === "clipnorm") {
    for (let k = 0; k < raw.length; k++) {
      const g = raw[k]!;
      const o = out[k]!;
      const denominator = Math.max(normOf(raw, k, k + 1), c);
      for (let i = 0; i < g.length; i++) o[i] = (g[i]! * c) / denominator;
    }
  } else {
    const n = normOf(raw, 0, raw.length);
    // Keras: `c·min(1/N, 1/c)` is 1 for N ≤ c (and for N = 0), c/N above.
    const scale = c * Math.min(1 / n, 1 / c);
    for (let k = 0; k < raw.length; k++) {
      const g = raw[k]!;
      const o = out[k]!;
      for (let i = 0; i < g.length; i++) o[i] = g[i]! * scale;
    }
  }
  return bad;
}
