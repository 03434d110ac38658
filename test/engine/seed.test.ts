/**
 * The worked values of docs/backprop.md §3–§6 and §12 (the seed network, §1.2), as tests.
 */
import { describe, expect, it } from "vitest";
import { computeGradients, type ModelSpec, train } from "../../src/engine/index.js";
import { activate, activateBackward, sigmoid } from "../../src/engine/layers/activation.js";
import { Dense } from "../../src/engine/layers/dense.js";
import { lossAndGrad } from "../../src/engine/losses.js";

const t = (shape: number[], values: number[]) => ({ shape, data: Float64Array.from(values) });

describe("docs/backprop.md §3, §5, §6: chain rule and the derivatives to remember", () => {
  it("f(x) = (x+1)² has f'(2) = 6, through y = x + 1 and f = y²", () => {
    // y = x·w + b with w = 1, b = 1 is the inner function; MSE against 0 is the outer y².
    const model: ModelSpec = {
      inputShape: [1],
      layers: [{ type: "dense", units: 1 }],
      loss: "meanSquaredError",
    };
    const r = computeGradients({
      model,
      seed: 0,
      weights: { "dense_0/kernel": t([1, 1], [1]), "dense_0/bias": t([1], [1]) },
      data: { n: 1, x: Float64Array.from([2]), y: Float64Array.from([0]) },
      numericalCheck: {},
    });
    expect(r.loss).toBe(9); // f(2) = 3²
    // ∂f/∂b = f'(y)·∂y/∂b = 2y·1 = 6, the same as f'(x) since ∂y/∂x = ∂y/∂b = 1.
    expect(r.gradients["dense_0/bias"]!.data[0]).toBe(6);
    expect(r.gradients["dense_0/kernel"]!.data[0]).toBe(12); // 2y·x
    expect(r.numerical!.gradients["dense_0/bias"]!.data[0]).toBeCloseTo(6, 8);
  });

  it("sigmoid: S'(x) = S(x)(1 − S(x))", () => {
    const xs = Float64Array.from([-1000, -2, 0, 2, 1000]);
    const y = new Float64Array(5);
    activate("sigmoid", xs, y, 5);
    expect(y[2]).toBe(0.5);
    expect(y[3]).toBeCloseTo(0.8807970779778823, 15);
    expect(y[0]).toBe(0);
    expect(y[4]).toBe(1);
    const dx = new Float64Array(5);
    activateBackward("sigmoid", y, new Float64Array(5).fill(1), dx, 5);
    expect(dx[2]).toBe(0.25);
    expect(dx[3]).toBeCloseTo(0.10499358540350662, 15);
    const h = 1e-6;
    expect(dx[1]).toBeCloseTo((sigmoid(-2 + h) - sigmoid(-2 - h)) / (2 * h), 9);
  });

  it("softmax: ∂P_j/∂x_u = P_j(δ_uj − P_u), every output depends on every input", () => {
    const x = Float64Array.from([1, 2, 3]);
    const p = new Float64Array(3);
    activate("softmax", x, p, 3);
    expect(Array.from(p)).toEqual([
      expect.closeTo(0.09003057317038046, 15),
      expect.closeTo(0.24472847105479764, 15),
      expect.closeTo(0.6652409557748219, 15),
    ]);
    // Row j of the Jacobian is dx for dy = e_j.
    for (let j = 0; j < 3; j++) {
      const dy = new Float64Array(3);
      dy[j] = 1;
      const dx = new Float64Array(3);
      activateBackward("softmax", p, dy, dx, 3);
      for (let u = 0; u < 3; u++) expect(dx[u]).toBeCloseTo(p[j]! * ((u === j ? 1 : 0) - p[u]!), 15);
    }
  });

  it("softmax is finite for logits of ±1000", () => {
    const p = new Float64Array(3);
    activate("softmax", Float64Array.from([1000, -1000, 0]), p, 3);
    expect(Array.from(p)).toEqual([1, 0, expect.closeTo(0, 300)]);
  });

  it("cross-entropy: ∂/∂y_j (−Σ t_i log y_i) = −t_j / y_j", () => {
    const y = Float64Array.from([0.2, 0.5, 0.3]);
    const tt = Float64Array.from([0, 1, 0]);
    const g = new Float64Array(3);
    const loss = lossAndGrad({ loss: "categoricalCrossentropy", fused: false }, y, tt, 1, 3, g, 1);
    expect(loss).toBeCloseTo(-Math.log(0.5), 15);
    // y sums to 1, so the renormalisation adds nothing: (−t/y − Σ_l(−t_l/y_l)·y_l)/Σy = −t/y + 1.
    // The "+1" is the same for every j and cancels through the softmax Jacobian.
    expect(g[1]! - g[0]!).toBeCloseTo(-1 / 0.5, 14);
  });

  it("softmax + cross-entropy: ∂L/∂x = y − t, and the diagonal-only shortcut is wrong", () => {
    const x = Float64Array.from([0.3, -1.2, 2.0]);
    const tt = Float64Array.from([0, 1, 0]);
    const y = new Float64Array(3);
    activate("softmax", x, y, 3);
    const fused = new Float64Array(3);
    lossAndGrad({ loss: "categoricalCrossentropy", fused: "softmax" }, x, tt, 1, 3, fused, 1);
    for (let j = 0; j < 3; j++) expect(fused[j]).toBeCloseTo(y[j]! - tt[j]!, 15);
    // The same through the full chain Σ_l ∂L/∂P_l·∂P_l/∂x_j, with ∂L/∂P = −t/P:
    const dP = Float64Array.from([0, -1 / y[1]!, 0]);
    const chained = new Float64Array(3);
    activateBackward("softmax", y, dP, chained, 3);
    for (let j = 0; j < 3; j++) expect(chained[j]).toBeCloseTo(y[j]! - tt[j]!, 14);
    // The shortcut ∂L/∂P_j·∂P_j/∂x_j gives 0 for j = 0, where the true gradient is y_0 ≠ 0.
    const shortcut0 = dP[0]! * y[0]! * (1 - y[0]!);
    expect(shortcut0).toBe(0);
    expect(fused[0]).toBeGreaterThan(0.1);
  });

  it("softmax + cross-entropy stays finite for logits of ±1000 (log-sum-exp)", () => {
    const x = Float64Array.from([1000, -1000, 0]);
    const g = new Float64Array(3);
    const loss = lossAndGrad(
      { loss: "categoricalCrossentropy", fused: "softmax" },
      x,
      Float64Array.from([0, 1, 0]),
      1,
      3,
      g,
      1,
    );
    expect(loss).toBe(2000);
    expect(Array.from(g)).toEqual([1, -1, expect.closeTo(0, 300)]);
    const sig = new Float64Array(2);
    const bce = lossAndGrad(
      { loss: "binaryCrossentropy", fused: "sigmoid" },
      Float64Array.from([1000, -1000]),
      Float64Array.from([0, 0]),
      1,
      2,
      sig,
      1,
    );
    expect(bce).toBe(500); // (1000 + 0) / 2
    expect(Array.from(sig)).toEqual([0.5, 0]);
  });
});

describe("docs/backprop.md §4.2: backward through an affine layer", () => {
  it("∂L/∂W = Xᵀ·∂L/∂Y, ∂L/∂b = Σrows ∂L/∂Y, ∂L/∂X = ∂L/∂Y·Wᵀ", () => {
    const d = new Dense("d", [2], 3, true);
    d.kernel.value.set([1, 0, -1, 2, 1, 0]); // W = [[1, 0, -1], [2, 1, 0]]
    d.bias!.value.set([0.5, -0.5, 1]);
    const X = Float64Array.from([1, 2, 3, 4]); // [[1, 2], [3, 4]]
    const Y = d.forward(X, 2);
    expect(Array.from(Y)).toEqual([5.5, 1.5, 0, 11.5, 3.5, -2]);
    const dY = Float64Array.from([1, 0, 2, -1, 1, 0]); // [[1, 0, 2], [-1, 1, 0]]
    const dX = d.backward(dY, 2);
    // Xᵀ·dY = [[1·1 + 3·(−1), 1·0 + 3·1, 1·2 + 3·0], [2·1 + 4·(−1), 2·0 + 4·1, 2·2 + 4·0]]
    expect(Array.from(d.kernel.grad)).toEqual([-2, 3, 2, -2, 4, 4]);
    expect(Array.from(d.bias!.grad)).toEqual([0, 1, 2]);
    // dY·Wᵀ = [[1 − 2, 2 + 0], [−1 + 0, −2 + 1]]
    expect(Array.from(dX)).toEqual([-1, 2, -1, -1]);
  });

  it("the seed network's ∂L/∂w⁽¹⁾₁₁ equals the closed formula Σ_i (y_i − t_i)·h_i(1−h_i)·w⁽²⁾_i1·s_1(1−s_1)·x_1", () => {
    const model: ModelSpec = {
      inputShape: [2],
      layers: [
        { type: "dense", units: 3, activation: "sigmoid" },
        { type: "dense", units: 3, activation: "sigmoid" },
        { type: "activation", activation: "softmax" },
      ],
      loss: "categoricalCrossentropy",
    };
    const x = [0.5, -1.2];
    const target = [0, 1, 0];
    const r = computeGradients({
      model,
      seed: 7,
      data: { n: 1, x: Float64Array.from(x), y: Float64Array.from(target) },
    });
    const W1 = r.weights["dense_0/kernel"]!.data; // [2, 3]: scalar w⁽¹⁾_ij = W1[j][i]
    const b1 = r.weights["dense_0/bias"]!.data;
    const W2 = r.weights["dense_1/kernel"]!.data; // [3, 3]
    const b2 = r.weights["dense_1/bias"]!.data;
    const s = [0, 1, 2].map((i) => sigmoid(x[0]! * W1[0 * 3 + i]! + x[1]! * W1[1 * 3 + i]! + b1[i]!));
    const h = [0, 1, 2].map((i) =>
      sigmoid(s[0]! * W2[i]! + s[1]! * W2[3 + i]! + s[2]! * W2[6 + i]! + b2[i]!),
    );
    const e = h.map(Math.exp);
    const y = e.map((v) => v / (e[0]! + e[1]! + e[2]!));
    let formula = 0;
    for (let i = 0; i < 3; i++)
      formula += (y[i]! - target[i]!) * h[i]! * (1 - h[i]!) * W2[0 * 3 + i]! * s[0]! * (1 - s[0]!) * x[0]!;
    expect(r.gradients["dense_0/kernel"]!.data[0]).toBeCloseTo(formula, 15);
    expect(Array.from(r.output.data)).toEqual(y.map((v) => expect.closeTo(v, 15)));
    expect(r.loss).toBeCloseTo(-Math.log(y[1]!), 15);
  });
});

describe("docs/backprop.md §9.4: gradient descent minimises the loss", () => {
  it("sgd on y = 3x − 1 converges to w = 3, b = −1", () => {
    const xs = [-1, -0.5, 0, 0.5, 1];
    const r = train({
      model: { inputShape: [1], layers: [{ type: "dense", units: 1 }], loss: "meanSquaredError" },
      data: { n: 5, x: Float64Array.from(xs), y: Float64Array.from(xs.map((v) => 3 * v - 1)) },
      optimizer: { type: "sgd", learningRate: 0.3 },
      epochs: 300,
      batchSize: 5,
      seed: 3,
    });
    expect(r.weights["dense_0/kernel"]!.data[0]).toBeCloseTo(3, 10);
    expect(r.weights["dense_0/bias"]!.data[0]).toBeCloseTo(-1, 10);
    expect(r.metrics.loss).toBeLessThan(1e-20);
    expect(r.history.loss[0]!).toBeGreaterThan(r.history.loss[299]!);
  });
});
