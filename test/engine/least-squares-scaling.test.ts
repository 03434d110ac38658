/**
 * The closed-form solution (docs/backprop.md §9.2) on columns of very different scales: a feature
 * of 1e-17 beside a constant column once came back with R² = −52. The expected answers are
 * worked out here independently: by simple-regression formulas on the unit-scale data, then
 * unscaled, and, for random data, by fitting the data rescaled to unit scale.
 */
import fc from "fast-check";
import { Matrix, pseudoInverse } from "ml-matrix";
import { describe, expect, it } from "vitest";
import { EngineError, type ModelSpec, solveLeastSquares, train } from "../../src/engine/index.js";

const linear = (inputs: number): ModelSpec => ({
  inputShape: [inputs],
  layers: [{ type: "dense", units: 1 }],
  loss: "meanSquaredError",
});

/** y = b0 + slope·t by simple regression on t = 1..n, with its mean squared residual and R². */
function simpleFit(y: number[]) {
  const n = y.length;
  const tMean = (n + 1) / 2;
  const yMean = y.reduce((a, v) => a + v, 0) / n;
  let sxy = 0;
  let sxx = 0;
  let ssTot = 0;
  for (let i = 0; i < n; i++) {
    sxy += (i + 1 - tMean) * (y[i]! - yMean);
    sxx += (i + 1 - tMean) ** 2;
    ssTot += (y[i]! - yMean) ** 2;
  }
  const slope = sxy / sxx;
  const b0 = yMean - slope * tMean;
  let ssRes = 0;
  for (let i = 0; i < n; i++) ssRes += (y[i]! - b0 - slope * (i + 1)) ** 2;
  return { slope, b0, mse: ssRes / n, r2: 1 - ssRes / ssTot };
}

describe("a tiny-scale feature, with and without a constant column beside the bias", () => {
  const cases: { scale: number; y: number[] }[] = [
    ...[1e-12, 1e-17, 1e-20, 1e-30, 1e-50].map((scale) => ({ scale, y: [1, 2, 3, 4.5] })),
    ...[1e-100, 1e-160, 1e-300].map((scale) => ({ scale, y: [1, 2, 3] })),
  ];
  it("the worked values: y = 1, 2, 3, 4.5 has mse 0.01875 and R² 0.98879", () => {
    const f = simpleFit([1, 2, 3, 4.5]);
    expect(f.slope).toBeCloseTo(1.15, 14);
    expect(f.b0).toBeCloseTo(-0.25, 14);
    expect(f.mse).toBeCloseTo(0.01875, 15);
    expect(f.r2).toBeCloseTo(0.98879, 5);
  });

  for (const { scale, y } of cases)
    for (const constant of [true, false])
      it(`x = ${scale}·(1..${y.length})${constant ? " beside x ≡ 1" : ""}: the best linear fit`, () => {
        const n = y.length;
        const p = constant ? 2 : 1;
        const x = new Float64Array(n * p);
        for (let i = 0; i < n; i++) {
          x[i * p] = (i + 1) * scale;
          if (constant) x[i * p + 1] = 1;
        }
        const want = simpleFit(y);
        const r = train({
          model: linear(p),
          data: { n, x, y: Float64Array.from(y) },
          optimizer: { type: "normalEquation" },
          epochs: 1,
          seed: 1,
        });
        expect(r.solution).toMatchObject({ method: constant ? "svd" : "qr", rank: 2 });
        expect(r.solution!.r2).toBeCloseTo(want.r2, 12);
        expect(r.solution!.mse).toBeCloseTo(want.mse, 14);
        const kernel = r.weights["dense_0/kernel"]!.data;
        const bias = r.weights["dense_0/bias"]!.data[0]!;
        expect(kernel[0]! / (want.slope / scale)).toBeCloseTo(1, 12);
        // x ≡ 1 duplicates the intercept: the shortest (w, b) with w + b = b0 is w = b = b0/2.
        if (constant) {
          expect(kernel[1]).toBeCloseTo(want.b0 / 2, 13);
          expect(bias).toBeCloseTo(want.b0 / 2, 13);
        } else expect(bias).toBeCloseTo(want.b0, 13);
      });
});

/** Predictions `x·W + b` of a fit, one output. */
function predict(x: Float64Array, n: number, p: number, w: Float64Array, b: number): number[] {
  return Array.from({ length: n }, (_, i) => {
    let s = b;
    for (let j = 0; j < p; j++) s += x[i * p + j]! * w[j]!;
    return s;
  });
}

describe("columns scaled by powers of ten (property)", () => {
  // values in [-1, 1] on a grid of 1/997: no subnormal targets, and sometimes exactly collinear columns
  const unitValue = fc.integer({ min: -997, max: 997 }).map((v) => v / 997);
  const problem = fc
    .record({
      n: fc.integer({ min: 1, max: 12 }),
      base: fc.array(unitValue, { minLength: 3 * 12, maxLength: 3 * 12 }),
      targets: fc.array(unitValue, { minLength: 12, maxLength: 12 }),
      // per column: 0 an independent feature, 1 a copy of column 0, 2 a constant
      kinds: fc.array(fc.constantFrom(0, 0, 1, 2), { minLength: 1, maxLength: 4 }),
      powers: fc.array(fc.integer({ min: -150, max: 150 }), { minLength: 4, maxLength: 4 }),
      yPower: fc.integer({ min: -100, max: 100 }),
      intercept: fc.boolean(),
    })
    .map(({ n, base, targets, kinds, powers, yPower, intercept }) => {
      const p = kinds.length;
      const unit = new Float64Array(n * p);
      for (let i = 0; i < n; i++)
        kinds.forEach((kind, j) => {
          unit[i * p + j] = kind === 2 ? 1 : kind === 1 || j === 0 ? base[i * 3]! : base[i * 3 + (j % 3)]!;
        });
      const scales = kinds.map((_, j) => 10 ** powers[j]!);
      const x = unit.map((v, idx) => v * scales[idx % p]!);
      // the unit-scale design the fit is compared with: x divided back (not the exact `unit`)
      const rescaled = x.map((v, idx) => v / scales[idx % p]!);
      const y = Float64Array.from(targets.slice(0, n), (v) => v * 10 ** yPower);
      return { n, p, x, rescaled, scales, y, intercept };
    });

  it("is never worse than the mean, and predicts as the fit of the rescaled data does", () => {
    fc.assert(
      fc.property(problem, ({ n, p, x, rescaled, scales, y, intercept }) => {
        const fit = solveLeastSquares(x, y, n, p, 1, intercept);
        const ref = solveLeastSquares(rescaled, y, n, p, 1, intercept);
        expect(fit.rank).toBe(ref.rank);
        expect([...fit.coefficients, fit.intercept[0]!].every(Number.isFinite)).toBe(true);
        const yMax = Math.max(...Array.from(y, Math.abs));
        const pred = predict(x, n, p, fit.coefficients, fit.intercept[0]!);
        const want = predict(rescaled, n, p, ref.coefficients, ref.intercept[0]!);
        for (let i = 0; i < n; i++) expect(Math.abs(pred[i]! - want[i]!)).toBeLessThanOrEqual(1e-9 * yMax);
        // the unscaled reference weights predict the same: the fits agree, not just the formula
        const unscaled = ref.coefficients.map((w, j) => w / scales[j]!);
        const again = predict(x, n, p, unscaled, ref.intercept[0]!);
        for (let i = 0; i < n; i++) expect(Math.abs(pred[i]! - again[i]!)).toBeLessThanOrEqual(1e-9 * yMax);
        if (intercept) expect(fit.r2).toBeGreaterThanOrEqual(-1e-9);
        expect(fit.mse).toBeLessThanOrEqual(ref.mse * (1 + 1e-9) + 1e-18 * yMax * yMax);
      }),
      { numRuns: 400, seed: 14 },
    );
  });

  it("splits a duplicated column by minimum norm: the weights are in the ratio of the scales", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: -150, max: 150 }),
        fc.integer({ min: -100, max: 100 }),
        fc.integer({ min: 3, max: 12 }),
        (a, gap, n) => {
          // within ±150, and at most 100 orders apart so that the smaller weight stays a normal double
          const b = Math.max(-150, Math.min(150, a + gap));
          const x = new Float64Array(2 * n);
          const y = new Float64Array(n);
          for (let i = 0; i < n; i++) {
            const t = Math.sin(i + 1);
            x.set([t * 10 ** a, t * 10 ** b], 2 * i);
            y[i] = 2 * t + 0.25 * Math.cos(3 * i);
          }
          const fit = solveLeastSquares(x, y, n, 2, 1, true);
          expect(fit).toMatchObject({ method: "svd", rank: 2 });
          // w₀·10^a + w₁·10^b = β (the simple-regression slope); the shortest has (w₀, w₁) ∥ (10^a, 10^b)
          const [w0, w1] = fit.coefficients;
          expect(w0! / 10 ** a / (w1! / 10 ** b)).toBeCloseTo(1, 9);
          const ref = solveLeastSquares(
            Float64Array.from({ length: n }, (_, i) => Math.sin(i + 1)),
            y,
            n,
            1,
            1,
            true,
          );
          expect(w0! * 10 ** a + w1! * 10 ** b).toBeCloseTo(ref.coefficients[0]!, 9);
          expect(fit.intercept[0]).toBeCloseTo(ref.intercept[0]!, 9);
        },
      ),
      { numRuns: 200, seed: 14 },
    );
  });

  it("two cases the property once found: rounding in the null direction must not pass for a share", () => {
    // x₀ = x₃ beside columns of 1e-31 and 1e-14; and x₁ = 10⁻¹⁶·x₀ at 1e94, three samples.
    const cases = [
      {
        n: 4,
        p: 4,
        unit: [
          [0.9789368104312939, -0.1584754262788365, -0.6720160481444333, 0.9789368104312939],
          [-0.0010030090270812437, 0.16349047141424272, 0.15546639919759278, -0.0010030090270812437],
          [0.003009027081243731, -0.8144433299899699, -0.7853560682046138, 0.003009027081243731],
          [0, 0.8324974924774323, 0.6609829488465396, 0],
        ],
        scales: [1, 1e-31, 1e-14, 1],
        y: [0, 0, 0, -0.0010030090270812437],
      },
      {
        n: 3,
        p: 3,
        unit: [
          [0.8816449348044132, 0.8816449348044132, -0.07923771313941826],
          [0.9989969909729187, 0.9989969909729187, 0],
          [-0.6479438314944834, -0.6479438314944834, 0.37011033099297896],
        ],
        scales: [1e94, 1e78, 1],
        y: [0, 0, 0.0010030090270812437],
      },
    ];
    for (const { n, p, unit, scales, y } of cases) {
      const x = Float64Array.from(unit.flat(), (v, idx) => v * scales[idx % p]!);
      const fit = solveLeastSquares(x, Float64Array.from(y), n, p, 1, true);
      // rank n: the fit is exact
      expect(fit).toMatchObject({ method: "svd", rank: n, r2: 1 });
      const pred = predict(x, n, p, fit.coefficients, fit.intercept[0]!);
      for (let i = 0; i < n; i++) expect(Math.abs(pred[i]! - y[i]!)).toBeLessThan(1e-15);
      // the duplicated columns share by their scales (minimum norm)
      const [a, b] = p === 4 ? [0, 3] : [0, 1];
      expect(fit.coefficients[a]! / scales[a]! / (fit.coefficients[b]! / scales[b]!)).toBeCloseTo(1, 9);
    }
  });
});

describe("a weight beyond the largest double", () => {
  it("names the column that is too small, not large values", () => {
    const run = () =>
      train({
        model: linear(1),
        data: { n: 3, x: Float64Array.of(1e-300, 2e-300, 3e-300), y: Float64Array.of(1e10, 2e10, 3.5e10) },
        optimizer: { type: "normalEquation" },
        epochs: 1,
        seed: 1,
      });
    expect(run).toThrow(EngineError);
    expect(run).toThrow(
      "the least-squares solution overflows: input column 0 of x (values up to 3.00e-300) is too small beside y " +
        "(up to 3.50e+10): its weight would exceed the largest double; rescale that column",
    );
  });
});

describe("many more columns than samples (the path that does not form the null space)", () => {
  it("150 inputs, 3 samples: the exact fit of minimum norm, as ml-matrix's pseudo-inverse gives", () => {
    const n = 3;
    const p = 150;
    const x = Float64Array.from({ length: n * p }, (_, i) => Math.sin(1 + i * 0.37));
    const y = Float64Array.of(1, -2, 0.5);
    const fit = solveLeastSquares(x, y, n, p, 1, true);
    expect(fit).toMatchObject({ method: "svd", rank: 3, r2: 1 });
    const a = new Matrix(n, p + 1);
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < p; j++) a.set(i, j, x[i * p + j]!);
      a.set(i, p, 1);
    }
    const want = pseudoInverse(a)
      .mmul(Matrix.columnVector(Array.from(y)))
      .to1DArray();
    expect([...fit.coefficients, fit.intercept[0]!]).toEqual(want.map((v) => expect.closeTo(v, 12)));
  });
});
