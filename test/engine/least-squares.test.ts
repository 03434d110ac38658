/**
 * The closed-form solution (docs/backprop.md §9): `normalEquation` training, rank-deficient data, the errors
 * for models that are not linear regression, and gradient descent measured against the optimum.
 * Accuracy on hard data is in nist.test.ts.
 */
import { Matrix, pseudoInverse } from "ml-matrix";
import { describe, expect, it } from "vitest";
import {
  EngineError,
  type ModelSpec,
  type NamedTensors,
  solveLeastSquares,
  type TrainOptions,
  train,
} from "../../src/engine/index.js";
import { Rng } from "../../src/engine/rng.js";

const linear = (inputs: number, units: number, useBias = true): ModelSpec => ({
  inputShape: [inputs],
  layers: [{ type: "dense", units, useBias }],
  loss: "meanSquaredError",
});

/** n samples of `inputs` features uniform in [-1, 1), targets x·W + b (+ uniform noise of size `noise`). */
function linearData(n: number, w: number[][], b: number[], noise: number, seed: number) {
  const rng = new Rng(seed);
  const p = w.length;
  const k = b.length;
  const x = Float64Array.from({ length: n * p }, () => rng.uniform(-1, 1));
  const y = new Float64Array(n * k);
  for (let i = 0; i < n; i++)
    for (let c = 0; c < k; c++) {
      let v = b[c]!;
      for (let j = 0; j < p; j++) v += x[i * p + j]! * w[j]![c]!;
      y[i * k + c] = v + noise * rng.uniform(-1, 1);
    }
  return { n, x, y };
}

const closedForm = (model: ModelSpec, data: TrainOptions["data"], extra: Partial<TrainOptions> = {}) =>
  train({ model, data, optimizer: { type: "normalEquation" }, epochs: 1, seed: 0, ...extra });

const maxAbs = (t: NamedTensors) =>
  Math.max(...Object.values(t).flatMap((v) => Array.from(v.data, Math.abs)));

const W3x2 = [
  [1.5, -2],
  [0.25, 3],
  [-4, 0.5],
];

describe("normalEquation", () => {
  it("recovers the weights of noiseless data exactly, for several outputs, as one epoch", () => {
    const data = linearData(20, W3x2, [0.7, -1.1], 0, 1);
    const epochs: number[] = [];
    const r = closedForm(linear(3, 2), data, { onEpochEnd: (l) => void epochs.push(l.epoch) });
    expect(Array.from(r.weights["dense_0/kernel"]!.data)).toEqual(
      W3x2.flat().map((v) => expect.closeTo(v, 13)),
    );
    expect(Array.from(r.weights["dense_0/bias"]!.data)).toEqual([
      expect.closeTo(0.7, 13),
      expect.closeTo(-1.1, 13),
    ]);
    expect(r.solution).toEqual({
      method: "qr",
      rank: 4,
      mse: expect.closeTo(0, 25),
      r2: expect.closeTo(1, 14),
    });
    expect(r.epochsRun).toBe(1);
    expect(r.history.loss).toEqual([r.metrics.loss]);
    expect(epochs).toEqual([0]);
    expect(r.optimum).toBeUndefined();
  });

  it("is the minimiser: the mean-loss gradient at the solution is zero, and MSE/R² are the model's", () => {
    const data = linearData(50, W3x2, [0.7, -1.1], 0.5, 2);
    const r = closedForm(linear(3, 2), data);
    // ∂L/∂W = 2/(n·k)·Xᵀ(XW + b − Y): of order 0.5 at a point 0.1 away, here rounding only.
    expect(maxAbs(r.gradients!)).toBeLessThan(1e-14);
    expect(r.solution!.mse).toBeCloseTo(r.metrics.loss!, 14);
    let ssTot = 0;
    for (let c = 0; c < 2; c++) {
      let mean = 0;
      for (let i = 0; i < 50; i++) mean += data.y[i * 2 + c]! / 50;
      for (let i = 0; i < 50; i++) ssTot += (data.y[i * 2 + c]! - mean) ** 2;
    }
    expect(r.solution!.r2).toBeCloseTo(1 - (r.metrics.loss! * 100) / ssTot, 13);
  });

  it("fits several outputs as it fits each alone", () => {
    const data = linearData(30, W3x2, [0.7, -1.1], 0.3, 3);
    const both = closedForm(linear(3, 2), data).weights["dense_0/kernel"]!.data;
    for (let c = 0; c < 2; c++) {
      const yc = Float64Array.from({ length: 30 }, (_, i) => data.y[i * 2 + c]!);
      const one = closedForm(linear(3, 1), { n: 30, x: data.x, y: yc }).weights["dense_0/kernel"]!.data;
      for (let j = 0; j < 3; j++) expect(both[j * 2 + c]).toBeCloseTo(one[j]!, 13);
    }
  });

  it("without a bias fits through the origin", () => {
    // y = 2x + 1 on x = 1, 2, 3: through the origin the slope is Σxy/Σx² = 34/14.
    const r = closedForm(linear(1, 1, false), {
      n: 3,
      x: Float64Array.of(1, 2, 3),
      y: Float64Array.of(3, 5, 7),
    });
    expect(Object.keys(r.weights)).toEqual(["dense_0/kernel"]);
    expect(r.weights["dense_0/kernel"]!.data[0]).toBeCloseTo(34 / 14, 14);
    expect(r.solution).toMatchObject({ method: "qr", rank: 1 });
  });

  it("solves on the training samples only and reports the held-out loss", () => {
    const data = linearData(40, W3x2, [0.7, -1.1], 0.2, 4);
    const r = closedForm(linear(3, 2), data, { validationSplit: 0.25 });
    const first30 = closedForm(linear(3, 2), { n: 30, x: data.x.subarray(0, 90), y: data.y.subarray(0, 60) });
    expect(r.weights).toEqual(first30.weights);
    expect(r.history.valLoss).toEqual([r.metrics.valLoss]);
    expect(r.metrics.valLoss).toBeGreaterThan(0);
  });

  it("is indifferent to the units of a column (a badly scaled design is not called rank-deficient)", () => {
    const data = linearData(25, W3x2, [0.7, -1.1], 0.2, 5);
    const scales = [1e9, 1, 1e-9];
    const x = data.x.map((v, i) => v * scales[i % 3]!);
    const plain = closedForm(linear(3, 2), data);
    const scaled = closedForm(linear(3, 2), { ...data, x });
    expect(scaled.solution).toMatchObject({ method: "qr", rank: 4 });
    const k0 = plain.weights["dense_0/kernel"]!.data;
    const k1 = scaled.weights["dense_0/kernel"]!.data;
    for (let i = 0; i < 6; i++) expect((k1[i]! * scales[Math.floor(i / 2)]!) / k0[i]!).toBeCloseTo(1, 9);
  });
});

describe("normalEquation on rank-deficient data: the minimum-norm solution, never NaN", () => {
  /** Reference: A⁺Y with A = [X 1], by ml-matrix's pseudo-inverse (plain SVD, no scaling). */
  function pinvSolution(x: Float64Array, y: Float64Array, n: number, p: number, bias: boolean): number[] {
    const a = new Matrix(n, p + (bias ? 1 : 0));
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < p; j++) a.set(i, j, x[i * p + j]!);
      if (bias) a.set(i, p, 1);
    }
    return pseudoInverse(a)
      .mmul(Matrix.columnVector(Array.from(y)))
      .to1DArray();
  }
  const flat = (r: ReturnType<typeof train>) => [
    ...r.weights["dense_0/kernel"]!.data,
    ...(r.weights["dense_0/bias"]?.data ?? []),
  ];

  it("a duplicated column: rank one less, the weight shared equally, the same predictions", () => {
    const base = linearData(20, [[2], [-1]], [0.5], 0.1, 6);
    const x = new Float64Array(20 * 3);
    for (let i = 0; i < 20; i++) x.set([base.x[2 * i]!, base.x[2 * i + 1]!, base.x[2 * i]!], 3 * i);
    const r = closedForm(linear(3, 1), { n: 20, x, y: base.y });
    const full = closedForm(linear(2, 1), base);
    expect(r.solution).toMatchObject({ method: "svd", rank: 3 });
    const w = r.weights["dense_0/kernel"]!.data;
    const wFull = full.weights["dense_0/kernel"]!.data;
    expect(w[0]).toBeCloseTo(wFull[0]! / 2, 12);
    expect(w[2]).toBeCloseTo(wFull[0]! / 2, 12);
    expect(w[1]).toBeCloseTo(wFull[1]!, 12);
    expect(r.metrics.loss).toBeCloseTo(full.metrics.loss!, 14);
    expect(maxAbs(r.gradients!)).toBeLessThan(1e-14);
    expect(flat(r)).toEqual(pinvSolution(x, base.y, 20, 3, true).map((v) => expect.closeTo(v, 12)));
  });

  it("a constant column beside the bias: the smallest ‖kernel‖² + ‖bias‖² among the minimisers", () => {
    // x2 ≡ 3 duplicates the intercept: any w2, b with 3·w2 + b = β0 fits; the shortest has
    // (w2, b) ∥ (3, 1), i.e. w2 = 3β0/10, b = β0/10.
    const base = linearData(15, [[2]], [0.5], 0.1, 7);
    const x = new Float64Array(30);
    for (let i = 0; i < 15; i++) x.set([base.x[i]!, 3], 2 * i);
    const r = closedForm(linear(2, 1), { n: 15, x, y: base.y });
    const full = closedForm(linear(1, 1), base);
    const b0 = full.weights["dense_0/bias"]!.data[0]!;
    expect(r.solution).toMatchObject({ method: "svd", rank: 2 });
    expect(r.weights["dense_0/kernel"]!.data[0]).toBeCloseTo(full.weights["dense_0/kernel"]!.data[0]!, 12);
    expect(r.weights["dense_0/kernel"]!.data[1]).toBeCloseTo((3 * b0) / 10, 12);
    expect(r.weights["dense_0/bias"]!.data[0]).toBeCloseTo(b0 / 10, 12);
    expect(r.metrics.loss).toBeCloseTo(full.metrics.loss!, 14);
  });

  it("fewer samples than columns: an exact fit of minimum norm", () => {
    const rng = new Rng(8);
    const x = Float64Array.from({ length: 3 * 5 }, () => rng.uniform(-1, 1));
    const y = Float64Array.of(1, -2, 0.5);
    const r = closedForm(linear(5, 1), { n: 3, x, y });
    expect(r.solution).toMatchObject({ method: "svd", rank: 3, mse: expect.closeTo(0, 25), r2: 1 });
    const ref = pinvSolution(x, y, 3, 5, true);
    expect(flat(r)).toEqual(ref.map((v) => expect.closeTo(v, 12)));
  });

  it("an all-zero input column, and all-zero inputs, give zero weights there", () => {
    const zeros = closedForm(linear(2, 1), { n: 4, x: new Float64Array(8), y: Float64Array.of(1, 2, 3, 4) });
    expect(zeros.solution).toMatchObject({ method: "svd", rank: 1, r2: 0 });
    expect(Array.from(zeros.weights["dense_0/kernel"]!.data)).toEqual([0, 0]);
    expect(zeros.weights["dense_0/bias"]!.data[0]).toBeCloseTo(2.5, 14);
    const none = closedForm(linear(2, 1, false), {
      n: 4,
      x: new Float64Array(8),
      y: Float64Array.of(1, 2, 3, 4),
    });
    expect(none.solution).toMatchObject({ method: "svd", rank: 0, mse: 7.5, r2: 0 });
    expect(Array.from(none.weights["dense_0/kernel"]!.data)).toEqual([0, 0]);
  });

  it("a constant target is fitted by the bias alone, with R² = 1", () => {
    const data = linearData(10, [[1], [2]], [0], 0, 9);
    const r = closedForm(linear(2, 1), { ...data, y: new Float64Array(10).fill(4.25) });
    expect(Array.from(r.weights["dense_0/kernel"]!.data)).toEqual([
      expect.closeTo(0, 14),
      expect.closeTo(0, 14),
    ]);
    expect(r.weights["dense_0/bias"]!.data[0]).toBeCloseTo(4.25, 14);
    expect(r.solution!.r2).toBe(1);
  });

  it("solveLeastSquares takes flat arrays and never returns NaN", () => {
    const fit = solveLeastSquares(Float64Array.of(1, 1, 1, 1), Float64Array.of(2, 2), 2, 2, 1, false);
    expect(fit).toMatchObject({ method: "svd", rank: 1 });
    expect(Array.from(fit.coefficients)).toEqual([expect.closeTo(1, 14), expect.closeTo(1, 14)]);
  });
});

describe("normalEquation rejects a model that is not linear regression", () => {
  const data = { n: 4, x: new Float64Array(8), y: new Float64Array(4) };
  const cases: { name: string; model: ModelSpec; path: (string | number)[]; message: RegExp }[] = [
    {
      name: "two layers",
      model: {
        ...linear(2, 1),
        layers: [
          { type: "dense", units: 3 },
          { type: "dense", units: 1 },
        ],
      },
      path: ["model", "layers"],
      message: /exactly one dense layer, it has 2 layers/,
    },
    {
      name: "a non-linear activation",
      model: { ...linear(2, 1), layers: [{ type: "dense", units: 1, activation: "tanh" }] },
      path: ["model", "layers", 0, "activation"],
      message: /activation must be linear, not tanh/,
    },
    {
      name: "another loss",
      model: { ...linear(2, 1), loss: "binaryCrossentropy" },
      path: ["model", "loss"],
      message: /binaryCrossentropy needs probabilities/,
    },
    {
      name: "another layer type",
      model: { inputShape: [2], layers: [{ type: "flatten" }], loss: "meanSquaredError" },
      path: ["model", "layers", 0, "type"],
      message: /exactly one dense layer, not flatten/,
    },
  ];
  it.each(cases)("$name: EngineError at $path", ({ model, path, message }) => {
    let error: unknown;
    try {
      closedForm(model, data);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(EngineError);
    expect((error as EngineError).path).toEqual(path);
    expect((error as EngineError).message).toMatch(message);
  });
});

describe("gradient descent against the closed form (docs/backprop.md §9.4)", () => {
  // Well-conditioned: x uniform in [-1, 1), so XᵀX/n ≈ I/3. The MSE Hessian is 2/(n·k)·AᵀA per
  // output (A = [X 1]): eigenvalues ≈ 1/3 and 1 here, so full-batch steps of 0.9 contract the
  // distance to the optimum by about 0.7 per epoch, monotonically.
  const data = linearData(64, W3x2, [0.7, -1.1], 0.3, 10);
  const gd = (optimizer: TrainOptions["optimizer"], epochs: number) =>
    train({ model: linear(3, 2), data, optimizer, epochs, batchSize: 64, shuffle: false, seed: 3 });

  it("sgd approaches the least-squares weights until the distance is below 1e-6", () => {
    const r = gd({ type: "sgd", learningRate: 0.9 }, 120);
    const solved = closedForm(linear(3, 2), data);
    const exact = solved.weights;
    expect(r.optimum).toEqual(exact);
    const d = r.history.distanceToOptimum!;
    expect(d).toHaveLength(r.epochsRun);
    expect(d[0]).toBeGreaterThan(0.5);
    expect(d[d.length - 1]).toBeLessThan(1e-6);
    for (let e = 1; e < d.length && d[e - 1]! > 1e-12; e++) expect(d[e]).toBeLessThan(d[e - 1]!);
    // ‖W − W*‖ is what it says: the Frobenius norm over kernel and bias together.
    let sq = 0;
    for (const key of Object.keys(exact))
      r.weights[key]!.data.forEach((v, i) => {
        sq += (v - exact[key]!.data[i]!) ** 2;
      });
    expect(d[d.length - 1]).toBe(Math.sqrt(sq));
    expect(r.metrics.loss).toBeCloseTo(solved.metrics.loss!, 12);
  });

  it("adam carries the optimum too, and onEpochEnd sees the distance", () => {
    const seen: number[] = [];
    const r = train({
      model: linear(3, 2),
      data,
      optimizer: { type: "adam", learningRate: 0.05 },
      epochs: 300,
      batchSize: 16,
      seed: 3,
      onEpochEnd: (l) => void seen.push(l.distanceToOptimum!),
    });
    expect(seen).toEqual(r.history.distanceToOptimum);
    expect(seen[seen.length - 1]).toBeLessThan(seen[0]! / 10);
  });

  it("a model that is not linear regression has no optimum", () => {
    const r = train({
      model: { ...linear(3, 2), layers: [{ type: "dense", units: 2, activation: "tanh" }] },
      data,
      optimizer: { type: "sgd", learningRate: 0.1 },
      epochs: 2,
      seed: 3,
    });
    expect(r.optimum).toBeUndefined();
    expect(r.history.distanceToOptimum).toBeUndefined();
  });
});
