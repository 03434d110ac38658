/**
 * Numerical gradients as a feature (docs/backprop.md §10): the error of a finite difference against
 * back-propagation depends on the step h. Taylor: forward `(f(w+h) − f(w))/h = f' + h·f''/2 + …`
 * is O(h); central `(f(w+h) − f(w−h))/2h = f' + h²·f'''/6 + …` is O(h²). Rounding adds about
 * ε·|f|/h, which wins for small h, so each method has a best step: ≈ √ε for forward and ≈ ∛ε for
 * central (times a scale of f) — Nocedal & Wright, Numerical Optimization, 2nd ed., §8.1.
 */
import { describe, expect, it } from "vitest";
import { computeGradients, type ModelSpec } from "../../src/engine/index.js";
import { randomBatch } from "./helpers.js";

/** Smooth everywhere (no relu kink), so the Taylor series holds. */
const spec: ModelSpec = {
  inputShape: [3],
  layers: [
    { type: "dense", units: 4, activation: "tanh" },
    { type: "dense", units: 2, activation: "sigmoid" },
  ],
  loss: "meanSquaredError",
};
const batch = randomBatch(spec, 5, 2, 11);

/** max |analytic − numerical| over all 31 parameters, for step h. */
function maxError(method: "central" | "forward", h: number): number {
  const r = computeGradients({ model: spec, seed: 4, data: batch, numericalCheck: { method, epsilon: h } });
  return r.numerical!.maxAbsError;
}

/** Least-squares slope of log10(error) against log10(h). */
function logLogSlope(hs: number[], errors: number[]): number {
  const lx = hs.map(Math.log10);
  const ly = errors.map(Math.log10);
  const mx = lx.reduce((a, b) => a + b) / lx.length;
  const my = ly.reduce((a, b) => a + b) / ly.length;
  let sxy = 0;
  let sxx = 0;
  lx.forEach((x, i) => {
    sxy += (x - mx) * (ly[i]! - my);
    sxx += (x - mx) ** 2;
  });
  return sxy / sxx;
}

/** h = 10^-from … 10^-to in half decades. */
const steps = (from: number, to: number) =>
  Array.from({ length: 2 * (to - from) + 1 }, (_, i) => 10 ** -(from + i / 2));

describe("finite-difference error against the step h", () => {
  const truncation = steps(1, 4); // 1e-1 … 1e-4: truncation error dominates
  const rounding = steps(9, 13); // 1e-9 … 1e-13: rounding error dominates
  const all = steps(1, 13);
  const errors = {
    forward: all.map((h) => maxError("forward", h)),
    central: all.map((h) => maxError("central", h)),
  };
  const at = (method: "forward" | "central", hs: number[]) => hs.map((h) => errors[method][all.indexOf(h)]!);

  it("forward differences: error O(h), slope 1 on log-log", () => {
    expect(logLogSlope(truncation, at("forward", truncation))).toBeCloseTo(1, 1);
  });

  it("central differences: error O(h²), slope 2 on log-log", () => {
    expect(logLogSlope(truncation, at("central", truncation))).toBeCloseTo(2, 1);
  });

  it("for tiny h rounding takes over: the error grows again, like ε/h", () => {
    for (const method of ["forward", "central"] as const) {
      const best = Math.min(...errors[method]);
      expect(errors[method][all.length - 3], `${method} at h = 1e-12`).toBeGreaterThan(1000 * best);
      expect(logLogSlope(rounding, at(method, rounding))).toBeCloseTo(-1, 0);
    }
  });

  it("each method has its best step (≈ √ε forward, ≈ ∛ε central); central is far more accurate there", () => {
    const argmin = (e: number[]) => all[e.indexOf(Math.min(...e))]!;
    const hForward = argmin(errors.forward);
    const hCentral = argmin(errors.central);
    expect(hForward).toBeGreaterThanOrEqual(1e-9);
    expect(hForward).toBeLessThanOrEqual(1e-6);
    expect(hCentral).toBeGreaterThanOrEqual(1e-7);
    expect(hCentral).toBeLessThanOrEqual(1e-4);
    expect(Math.min(...errors.central)).toBeLessThan(Math.min(...errors.forward) / 10);
  });

  it("reports per-parameter numerical gradients and the worst element", () => {
    const r = computeGradients({
      model: spec,
      seed: 4,
      data: batch,
      numericalCheck: { method: "forward", epsilon: 1e-3 },
    });
    const report = r.numerical!;
    expect(report).toMatchObject({ method: "forward", epsilon: 1e-3 });
    expect(Object.keys(report.gradients)).toEqual(Object.keys(r.gradients));
    for (const [key, t] of Object.entries(report.gradients)) expect(t.shape).toEqual(r.gradients[key]!.shape);
    const { key, index, analytic, numerical } = report.worst;
    expect(Math.abs(analytic - numerical)).toBeLessThanOrEqual(report.maxAbsError);
    expect(r.gradients[key]!.shape).toHaveLength(index.length);
  });
});

describe("the report's norm-wise error and the step's resolution (docs/backprop.md §10.2, §10.3)", () => {
  it("normRelError is ‖a − n‖₂ / max(‖a‖₂, ‖n‖₂) over every element, computed by hand from the report", () => {
    const r = computeGradients({ model: spec, seed: 4, data: batch, numericalCheck: { epsilon: 1e-3 } });
    let d = 0;
    let a = 0;
    let n = 0;
    for (const [key, t] of Object.entries(r.gradients)) {
      const num = r.numerical!.gradients[key]!.data;
      t.data.forEach((v, i) => {
        d += (v - num[i]!) ** 2;
        a += v * v;
        n += num[i]! ** 2;
      });
    }
    expect(r.numerical!.normRelError).toBeCloseTo(Math.sqrt(d) / Math.sqrt(Math.max(a, n)), 15);
    // h = 1e-3 leaves a truncation error of order h² in every element: far from 0, far below 1.
    expect(r.numerical!.normRelError).toBeGreaterThan(1e-9);
    expect(r.numerical!.normRelError).toBeLessThan(1e-4);
    expect(r.warnings).toBeUndefined();
  });

  it("a step lost against the weights (w + h == w) gives zero numerical gradients and a warning", () => {
    const r = computeGradients({ model: spec, seed: 4, data: batch, numericalCheck: { epsilon: 1e-300 } });
    expect(r.numerical!.maxRelError).toBe(1);
    expect(r.numerical!.normRelError).toBe(1);
    expect(r.warnings).toHaveLength(1);
    const w = r.warnings![0]!;
    expect(w).toMatchObject({ code: "stepBelowResolution", layer: "dense_0" });
    // Every weight but exact zeros (biases start at 0) loses the step.
    const nonzero = Object.values(r.weights).reduce((c, t) => c + t.data.filter((v) => v !== 0).length, 0);
    expect(w.message).toContain(`${nonzero} of the 26 weights`);
    expect(w.message).toContain("dense_0/kernel");
  });
});
