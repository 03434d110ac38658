/**
 * The numerical check of `/gradients` (docs/backprop.md §10): finite differences of the mean loss
 * for every parameter element, against the back-propagated gradients.
 */
import { INFERENCE, type LayerMode } from "./layers/layer.js";
import type { Model } from "./model.js";
import type { Floats, NamedTensors } from "./tensor.js";
import type { GradientsWarning, NumericalCheckOptions, NumericalReport } from "./types.js";

/** The numerical check of a training-mode inspection: the same pass, the masks drawn once reused. */
export const INSPECT_CHECK: LayerMode = { training: true, updateStats: false, reuseMasks: true };

/** Ridders' method: the most central differences it takes, the step shrinking by RIDDERS_SHRINK. */
export const RIDDERS_STEPS = 8;
const RIDDERS_SHRINK = 1.4;

/**
 * Ridders' method (Ridders 1982; Press et al., Numerical Recipes §5.7; docs/backprop.md §10.4): central
 * differences `D(h), D(h/c), D(h/c²), …` extrapolated to h → 0 in a Neville tableau; each new entry
 * cancels the next even power of h, the estimate kept is the one whose change from its neighbours is
 * smallest, and the search stops once the error estimate grows (rounding has taken over).
 * @param central `D(s)`, the central difference with step s; @param h the first, largest step.
 */
function ridders(central: (s: number) => number, h: number): number {
  const c2 = RIDDERS_SHRINK * RIDDERS_SHRINK;
  let prev = [central(h)];
  let best = prev[0]!;
  let err = Number.POSITIVE_INFINITY;
  let s = h;
  for (let i = 1; i < RIDDERS_STEPS; i++) {
    s /= RIDDERS_SHRINK;
    const row = [central(s)];
    let fac = c2;
    for (let j = 1; j <= i; j++) {
      row[j] = (row[j - 1]! * fac - prev[j - 1]!) / (fac - 1);
      fac *= c2;
      const e = Math.max(Math.abs(row[j]! - row[j - 1]!), Math.abs(row[j]! - prev[j - 1]!));
      if (e <= err) {
        err = e;
        best = row[j]!;
      }
    }
    if (Math.abs(row[i]! - prev[i - 1]!) >= 2 * err) break;
    prev = row;
  }
  return best;
}

/**
 * Numerical gradient of the mean loss for every parameter element, by finite differences
 * (docs/backprop.md §10.1): central `(L(w+h) − L(w−h)) / 2h` (error O(h²)) or forward `(L(w+h) − L(w)) / h`
 * (error O(h)), or Ridders' repeated Richardson extrapolation of central differences over shrinking
 * steps (docs/backprop.md §10.4); two (one, up to 2·RIDDERS_STEPS) loss evaluations per parameter, so it costs
 * O(parameters × forward pass). Compared with `analytic`: the relative error of an element is
 * `|a − n| / max(|a|, |n|, 1e-8)` (docs/backprop.md §10.3).
 * The loss is evaluated in the mode of the model's last forward (`model.mode`): inference as it
 * is, a training mode with `reuseMasks` (`INSPECT_CHECK`), so every evaluation applies the dropout
 * masks the analytic gradient saw (docs/backprop.md §18.4). `n` ≤ `EVAL_CHUNK`.
 */
export function numericalCheck(
  model: Model,
  x: Floats,
  y: Floats,
  n: number,
  analytic: NamedTensors,
  options: NumericalCheckOptions,
): NumericalReport {
  const method = options.method ?? "central";
  const h = options.epsilon ?? 1e-5;
  model.setMode(model.mode.training ? INSPECT_CHECK : INFERENCE);
  // One pass over the n ≤ EVAL_CHUNK samples: the mean loss exactly as `evaluate` computes it.
  const lossAt = (): number => {
    model.forward(x, n);
    return (0 + model.loss(y, n, false, 1 / n)) / n;
  };
  const base = method === "forward" ? lossAt() : 0;
  const gradients: NamedTensors = {};
  let maxAbsError = 0;
  let maxRelError = 0;
  let worst: NumericalReport["worst"] = { key: "", index: [], analytic: 0, numerical: 0, relError: 0 };
  // Squared norms of a − n, a and n over every element, for `normRelError` (§10.3).
  let diff2 = 0;
  let a2 = 0;
  let n2 = 0;
  for (const p of model.params()) {
    const num = new Float64Array(p.value.length);
    const a = analytic[p.key]!.data;
    for (let i = 0; i < p.value.length; i++) {
      const w = p.value[i]!;
      /** The central difference with step `s` (§10.1). */
      const central = (s: number): number => {
        p.value[i] = w + s;
        const plus = lossAt();
        p.value[i] = w - s;
        return (plus - lossAt()) / (2 * s);
      };
      if (method === "central") num[i] = central(h);
      else if (method === "ridders") num[i] = ridders(central, h);
      else {
        p.value[i] = w + h;
        num[i] = (lossAt() - base) / h;
      }
      p.value[i] = w;
      const abs = Math.abs(a[i]! - num[i]!);
      const rel = abs / Math.max(Math.abs(a[i]!), Math.abs(num[i]!), 1e-8);
      diff2 += abs * abs;
      a2 += a[i]! * a[i]!;
      n2 += num[i]! * num[i]!;
      if (abs > maxAbsError) maxAbsError = abs;
      if (rel > maxRelError || worst.key === "") {
        if (rel > maxRelError) maxRelError = rel;
        worst = {
          key: p.key,
          index: unravel(i, p.shape),
          analytic: a[i]!,
          numerical: num[i]!,
          relError: rel,
        };
      }
    }
    gradients[p.key] = { shape: [...p.shape], data: num };
  }
  const normRelError = diff2 === 0 ? 0 : Math.sqrt(diff2) / Math.sqrt(Math.max(a2, n2));
  return { method, epsilon: h, gradients, maxAbsError, maxRelError, normRelError, worst };
}

/**
 * A `stepBelowResolution` warning when the numerical check's step `h` is lost against some weights
 * (`w + h == w` or `w − h == w` in float64): their numerical gradients are 0 whatever the loss does
 * (docs/backprop.md §10.2). Names the first parameter with such an element; `[]` when there is none.
 */
export function stepResolutionWarnings(model: Model, h: number): GradientsWarning[] {
  let count = 0;
  let total = 0;
  let first: string | undefined;
  for (const p of model.params()) {
    total += p.value.length;
    for (let i = 0; i < p.value.length; i++) {
      const w = p.value[i]!;
      if (w + h === w || w - h === w) {
        count++;
        first ??= p.key;
      }
    }
  }
  if (first === undefined) return [];
  return [
    {
      code: "stepBelowResolution",
      layer: first.slice(0, first.indexOf("/")),
      message:
        `numericalCheck.epsilon ${h} is below the resolution of ${count} of the ${total} weights ` +
        `(w + h == w in float64, first in ${first}): their numerical gradients are 0 and their relative ` +
        "errors 1 whatever the loss does. Use a step near 1e-5 times the weights' size (the default 1e-5 " +
        "suits weights of order 1), or 0.01 with method ridders.",
    },
  ];
}

function unravel(flat: number, shape: number[]): number[] {
  const index = new Array<number>(shape.length);
  for (let d = shape.length - 1; d >= 0; d--) {
    index[d] = flat % shape[d]!;
    flat = Math.floor(flat / shape[d]!);
  }
  return index;
}
