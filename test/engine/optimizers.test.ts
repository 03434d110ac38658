/**
 * The optimisers of docs/backprop.md §15 on given weights and gradients: against TensorFlow.js'
 * optimisers where tfjs has them, against transcriptions of Keras' update rules where it does not
 * (nadam, adadelta), and the clipping rules by hand.
 */
import * as tf from "@tensorflow/tfjs";
import { describe, expect, it } from "vitest";
import type { GradientOptimizerSpec } from "../../src/engine/index.js";
import type { Param } from "../../src/engine/layers/layer.js";
import { makeOptimizer } from "../../src/engine/optimizers.js";
import { Rng } from "../../src/engine/rng.js";
import { maxRelativeError, tfReady } from "./tfjs-reference.js";

const SHAPES = [[3, 4], [4], [2, 2, 3]];

/** Float32-representable values in [-1, 1), so both engines start from the same numbers. */
function draw(rng: Rng, n: number, scale = 1): Float64Array {
  return Float64Array.from({ length: n }, () => Math.fround(rng.uniform(-1, 1) * scale));
}

function makeParams(seed: number): Param[] {
  const rng = new Rng(seed);
  return SHAPES.map((shape, k) => {
    const n = shape.reduce((a, b) => a * b, 1);
    return { key: `p${k}`, shape, value: draw(rng, n), grad: new Float64Array(n) };
  });
}

/** `steps` gradients per parameter, each step's drawn from the seed. */
function gradientSequence(seed: number, steps: number): Float64Array[][] {
  const rng = new Rng(seed);
  return Array.from({ length: steps }, () =>
    SHAPES.map((shape) =>
      draw(
        rng,
        shape.reduce((a, b) => a * b, 1),
      ),
    ),
  );
}

/** Our optimiser over the parameters of `seed`, stepped along `grads`; the weights after. */
function ours(spec: GradientOptimizerSpec, seed: number, grads: Float64Array[][]): Float64Array[] {
  const params = makeParams(seed);
  const optimizer = makeOptimizer(spec, params);
  const before = params.map((p) => new Float64Array(p.value.length));
  for (const step of grads) {
    for (const [k, p] of params.entries()) p.grad.set(step[k]!);
    expect(optimizer.step(before)).toBeNull();
  }
  return params.map((p) => p.value as Float64Array);
}

let counter = 0;

/** A tfjs optimiser over the same start, stepped along the same gradients (`beforeStep` may change the variables first). */
async function theirs(
  make: () => tf.Optimizer,
  seed: number,
  grads: Float64Array[][],
  beforeStep?: (vars: tf.Variable[]) => void,
): Promise<Float32Array[]> {
  await tfReady();
  const params = makeParams(seed);
  const vars = params.map((p) =>
    tf.variable(tf.tensor(Float32Array.from(p.value), p.shape), true, `opt${counter++}`),
  );
  const optimizer = make();
  for (const step of grads) {
    beforeStep?.(vars);
    optimizer.applyGradients(
      Object.fromEntries(
        vars.map((v, k) => [v.name, tf.tensor(Float32Array.from(step[k]!), params[k]!.shape)]),
      ),
    );
  }
  const out = vars.map((v) => v.dataSync() as Float32Array);
  for (const v of vars) v.dispose();
  optimizer.dispose();
  return out;
}

const cases: {
  name: string;
  spec: GradientOptimizerSpec;
  tfjs: () => tf.Optimizer;
  decay?: number;
}[] = [
  {
    name: "sgd with Nesterov momentum",
    spec: { type: "sgd", learningRate: 0.1, momentum: 0.9, nesterov: true },
    tfjs: () => tf.train.momentum(0.1, 0.9, true),
  },
  {
    name: "rmsprop",
    spec: { type: "rmsprop", learningRate: 0.01 },
    tfjs: () => tf.train.rmsprop(0.01, 0.9, 0, 1e-7),
  },
  {
    name: "rmsprop with momentum and rho",
    spec: { type: "rmsprop", learningRate: 0.01, rho: 0.8, momentum: 0.5, epsilon: 1e-6 },
    tfjs: () => tf.train.rmsprop(0.01, 0.8, 0.5, 1e-6),
  },
  {
    // tfjs subtracts ε inside the centered root, Keras adds it: equal at a tiny ε.
    name: "rmsprop centered (ε = 1e-12)",
    spec: { type: "rmsprop", learningRate: 0.01, momentum: 0.3, centered: true, epsilon: 1e-12 },
    tfjs: () => tf.train.rmsprop(0.01, 0.9, 0.3, 1e-12, true),
  },
  {
    name: "adagrad",
    spec: { type: "adagrad", learningRate: 0.1 },
    tfjs: () => tf.train.adagrad(0.1),
  },
  {
    name: "adagrad with initialAccumulatorValue 0.5",
    spec: { type: "adagrad", learningRate: 0.1, initialAccumulatorValue: 0.5 },
    tfjs: () => tf.train.adagrad(0.1, 0.5),
  },
  {
    name: "adamax",
    spec: { type: "adamax", learningRate: 0.02 },
    tfjs: () => tf.train.adamax(0.02, 0.9, 0.999, 1e-7),
  },
  {
    name: "adamax with custom betas",
    spec: { type: "adamax", learningRate: 0.02, beta1: 0.8, beta2: 0.95, epsilon: 1e-5 },
    tfjs: () => tf.train.adamax(0.02, 0.8, 0.95, 1e-5),
  },
  {
    name: "adamw (tfjs adam after the decay)",
    spec: { type: "adamw", learningRate: 0.01 },
    tfjs: () => tf.train.adam(0.01, 0.9, 0.999, 1e-7),
    decay: 0.004 * 0.01,
  },
  {
    name: "adamw with weightDecay 0.1",
    spec: { type: "adamw", learningRate: 0.02, weightDecay: 0.1, beta1: 0.8 },
    tfjs: () => tf.train.adam(0.02, 0.8, 0.999, 1e-7),
    decay: 0.1 * 0.02,
  },
];

describe("optimisers step as TensorFlow.js does, on the same weights and gradients", () => {
  it.each(cases)("$name: one step and five steps", async ({ spec, tfjs, decay }) => {
    const decayFirst = decay
      ? (vars: tf.Variable[]) => {
          for (const v of vars) v.assign(tf.sub(v, tf.mul(v, decay)));
        }
      : undefined;
    for (const steps of [1, 5]) {
      const grads = gradientSequence(11 + steps, steps);
      const a = ours(spec, 3, grads);
      const b = await theirs(tfjs, 3, grads, decayFirst);
      const start = makeParams(3);
      a.forEach((w, k) => {
        // Steps are ~1e-2 on weights ~1: relative error to a floor of 1e-2.
        expect(maxRelativeError(w, b[k]!, 1e-2), `${steps} steps, p${k}`).toBeLessThan(2e-5);
        expect(maxRelativeError(w, start[k]!.value), "the weights moved").toBeGreaterThan(1e-3);
      });
    }
  });
});

/** Keras 3's Nadam.update_step, transcribed in float64 (its m, v update forms included). */
function kerasNadam(
  w: Float64Array[],
  grads: Float64Array[][],
  lr: number,
  b1 = 0.9,
  b2 = 0.999,
  eps = 1e-7,
) {
  const m = w.map((x) => new Float64Array(x.length));
  const v = w.map((x) => new Float64Array(x.length));
  let uProduct = 1;
  grads.forEach((step, it) => {
    const localStep = it + 1;
    const uT = b1 * (1 - 0.5 * 0.96 ** localStep);
    const uT1 = b1 * (1 - 0.5 * 0.96 ** (localStep + 1));
    uProduct *= uT;
    const uProduct1 = uProduct * uT1;
    const b2Power = b2 ** localStep;
    w.forEach((x, k) => {
      const g = step[k]!;
      for (let i = 0; i < x.length; i++) {
        m[k]![i]! += (g[i]! - m[k]![i]!) * (1 - b1);
        v[k]![i]! += (g[i]! * g[i]! - v[k]![i]!) * (1 - b2);
        const mHat = (uT1 * m[k]![i]!) / (1 - uProduct1) + ((1 - uT) * g[i]!) / (1 - uProduct);
        const vHat = v[k]![i]! / (1 - b2Power);
        x[i]! -= (mHat * lr) / (Math.sqrt(vHat) + eps);
      }
    });
  });
  return w;
}

/** Keras 3's Adadelta.update_step, transcribed in float64. */
function kerasAdadelta(w: Float64Array[], grads: Float64Array[][], lr: number, rho = 0.95, eps = 1e-7) {
  const eg = w.map((x) => new Float64Array(x.length));
  const eu = w.map((x) => new Float64Array(x.length));
  for (const step of grads)
    w.forEach((x, k) => {
      const g = step[k]!;
      for (let i = 0; i < x.length; i++) {
        eg[k]![i] = rho * eg[k]![i]! + (1 - rho) * g[i]! ** 2;
        const delta = (-Math.sqrt(eu[k]![i]! + eps) / Math.sqrt(eg[k]![i]! + eps)) * g[i]!;
        eu[k]![i] = rho * eu[k]![i]! + (1 - rho) * delta ** 2;
        x[i]! += lr * delta;
      }
    });
  return w;
}

/** Agreement to float64 rounding, weight by weight. */
function expectSame(a: Float64Array[], b: Float64Array[]): void {
  for (const [k, w] of a.entries()) expect(maxRelativeError(w, b[k]!, 1e-2), `p${k}`).toBeLessThan(1e-12);
}

describe("optimisers tfjs does not have as Keras computes them", () => {
  const start = () => makeParams(5).map((p) => Float64Array.from(p.value));
  it.each([1, 5, 40])("nadam, %i steps, equals Keras' formula", (steps) => {
    const grads = gradientSequence(9, steps);
    const a = ours({ type: "nadam", learningRate: 0.01 }, 5, grads);
    const b = kerasNadam(start(), grads, 0.01);
    expectSame(a, b);
    const c = ours({ type: "nadam", learningRate: 0.03, beta1: 0.7, beta2: 0.9, epsilon: 1e-4 }, 5, grads);
    const d = kerasNadam(start(), grads, 0.03, 0.7, 0.9, 1e-4);
    expectSame(c, d);
  });
  it("nadam's first step by hand: m̂ = g·(μ2·0.1/(1 − μ1μ2) + (1 − μ1)/(1 − μ1)), v̂ = g²", () => {
    const params: Param[] = [{ key: "w", shape: [1], value: Float64Array.of(1), grad: Float64Array.of(0.5) }];
    makeOptimizer({ type: "nadam", learningRate: 0.1, epsilon: 1e-7 }, params).step([new Float64Array(1)]);
    const mu1 = 0.9 * (1 - 0.5 * 0.96);
    const mu2 = 0.9 * (1 - 0.5 * 0.96 ** 2);
    const mHat = (mu2 * 0.05) / (1 - mu1 * mu2) + 0.5;
    expect(params[0]!.value[0]).toBeCloseTo(1 - (0.1 * mHat) / (0.5 + 1e-7), 14);
  });
  it.each([1, 5, 40])("adadelta, %i steps, equals Keras' formula", (steps) => {
    const grads = gradientSequence(10, steps);
    const a = ours({ type: "adadelta", learningRate: 1 }, 5, grads);
    const b = kerasAdadelta(start(), grads, 1);
    expectSame(a, b);
    const c = ours({ type: "adadelta", rho: 0.5, epsilon: 1e-3 }, 5, grads);
    const d = kerasAdadelta(start(), grads, 0.001, 0.5, 1e-3);
    expectSame(c, d);
  });
  it("tfjs' adadelta divides by the E_g of the step before: its first step is w − η·g, the paper's is not", async () => {
    await tfReady();
    const v = tf.variable(tf.tensor1d([0]), true, `opt${counter++}`);
    const optimizer = tf.train.adadelta(1, 0.95, 1e-7);
    optimizer.applyGradients([{ name: v.name, tensor: tf.tensor1d([2]) }]);
    expect(v.dataSync()[0]).toBeCloseTo(-2, 5);
    v.dispose();
    optimizer.dispose();
    const params: Param[] = [{ key: "w", shape: [1], value: Float64Array.of(0), grad: Float64Array.of(2) }];
    makeOptimizer({ type: "adadelta", learningRate: 1 }, params).step([new Float64Array(1)]);
    expect(Math.abs(params[0]!.value[0]!)).toBeLessThan(2e-3); // √ε/√(0.05·4 + ε)·2 ≈ 1.4e-3
  });
  it("adadelta's first step by hand: Δ = −√ε/√(0.05·g² + ε)·g", () => {
    const params: Param[] = [{ key: "w", shape: [1], value: Float64Array.of(0), grad: Float64Array.of(2) }];
    makeOptimizer({ type: "adadelta", learningRate: 1 }, params).step([new Float64Array(1)]);
    expect(params[0]!.value[0]).toBeCloseTo((-Math.sqrt(1e-7) / Math.sqrt(0.05 * 4 + 1e-7)) * 2, 15);
  });
});

describe("gradient clipping (docs/backprop.md §15.1): a = [3, 4], b = [12], one sgd step of rate 1 from 0", () => {
  const clipped = (clip: Partial<Record<"clipnorm" | "clipvalue" | "globalClipnorm", number>>) => {
    const params: Param[] = [
      { key: "a", shape: [2], value: new Float64Array(2), grad: Float64Array.of(3, 4) },
      { key: "b", shape: [1], value: new Float64Array(1), grad: Float64Array.of(12) },
    ];
    const fault = makeOptimizer({ type: "sgd", learningRate: 1, ...clip }, params).step(
      params.map((p) => new Float64Array(p.value.length)),
    );
    expect(fault).toBeNull();
    // The raw gradients are left as they were (telemetry reads them).
    expect(Array.from(params[0]!.grad)).toEqual([3, 4]);
    return params.map((p) => Array.from(p.value, (w) => -w));
  };
  it("clipnorm 1 rescales each tensor to norm 1", () => {
    const [a, b] = clipped({ clipnorm: 1 });
    expect(a![0]).toBeCloseTo(0.6, 15);
    expect(a![1]).toBeCloseTo(0.8, 15);
    expect(b).toEqual([1]);
  });
  it("clipnorm 100 leaves both (g·c/c)", () => {
    expect(clipped({ clipnorm: 100 })).toEqual([[3, 4], [12]]);
  });
  it("globalClipnorm 6.5 halves everything (N = 13)", () => {
    expect(clipped({ globalClipnorm: 6.5 })).toEqual([[1.5, 2], [6]]);
  });
  it("globalClipnorm 13 leaves them", () => {
    expect(clipped({ globalClipnorm: 13 })).toEqual([[3, 4], [12]]);
  });
  it("clipvalue 3.5 clips element-wise", () => {
    expect(clipped({ clipvalue: 3.5 })).toEqual([[3, 3.5], [3.5]]);
  });
  it("a norm whose square overflows is still finite: clipnorm rescales instead of zeroing", () => {
    const params: Param[] = [
      { key: "a", shape: [2], value: new Float64Array(2), grad: Float64Array.of(3e200, 4e200) },
    ];
    makeOptimizer({ type: "sgd", learningRate: 1, clipnorm: 1 }, params).step([new Float64Array(2)]);
    expect(params[0]!.value[0]).toBeCloseTo(-0.6, 12);
    expect(params[0]!.value[1]).toBeCloseTo(-0.8, 12);
  });
  it("an infinite gradient is a fault even though clipvalue would make it finite", () => {
    const params: Param[] = [
      { key: "a", shape: [1], value: new Float64Array(1), grad: Float64Array.of(Number.POSITIVE_INFINITY) },
      { key: "b", shape: [1], value: new Float64Array(1), grad: Float64Array.of(1) },
    ];
    const fault = makeOptimizer({ type: "rmsprop", learningRate: 1, clipvalue: 1 }, params).step([
      new Float64Array(1),
      new Float64Array(1),
    ]);
    expect(fault).toEqual({ stage: "gradient", param: 0 });
  });
  it("two clips at once are refused, as Keras does, naming the second", () => {
    expect(() =>
      makeOptimizer({ type: "adam", learningRate: 1, clipnorm: 1, globalClipnorm: 2 }, makeParams(1)),
    ).toThrow(expect.objectContaining({ path: ["optimizer", "globalClipnorm"] }));
  });
  it.each([
    [{ type: "rmsprop", learningRate: 0.1, rho: 1 }, "rho"],
    [{ type: "adagrad", learningRate: 0.1, initialAccumulatorValue: -1 }, "initialAccumulatorValue"],
    [{ type: "adamw", learningRate: 0.1, weightDecay: Number.NaN }, "weightDecay"],
    [{ type: "sgd", learningRate: 0.1, clipvalue: 0 }, "clipvalue"],
    [{ type: "nadam", learningRate: 0.1, epsilon: 0 }, "epsilon"],
  ] as [GradientOptimizerSpec, string][])("a bad field is an error naming it: %o", (spec, field) => {
    expect(() => makeOptimizer(spec, makeParams(1))).toThrow(
      expect.objectContaining({ path: ["optimizer", field] }),
    );
  });
});

describe("a finite gradient that overflows a sum of squares is a moment fault, not a frozen weight", () => {
  it.each([
    { type: "rmsprop", learningRate: 0.1 },
    { type: "adagrad", learningRate: 0.1 },
    { type: "adadelta" },
    { type: "nadam", learningRate: 0.1 },
    { type: "adamw", learningRate: 0.1 },
  ] as GradientOptimizerSpec[])("$type", (spec) => {
    const params: Param[] = [
      { key: "a", shape: [1], value: Float64Array.of(1), grad: Float64Array.of(0.5) },
      { key: "b", shape: [2], value: Float64Array.of(1, 2), grad: Float64Array.of(1, 1e200) },
    ];
    const before = params.map((p) => new Float64Array(p.value.length));
    expect(makeOptimizer(spec, params).step(before)).toEqual({ stage: "moment", param: 1 });
    expect(Array.from(before[1]!)).toEqual([1, 2]);
  });
});
