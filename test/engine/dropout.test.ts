/**
 * The dropout layer (docs/backprop.md §18): inference is exactly the identity; training keeps a
 * binomial fraction of the units, scaled by 1/(1 − rate); the noise shape broadcasts; gradients
 * pass a central-difference check with the mask reused (runs and seeds: dropout-training.test.ts).
 */
import { describe, expect, it } from "vitest";
import { computeGradients, EngineError, type ModelSpec, predict, train } from "../../src/engine/index.js";
import { buildDropout, type Dropout } from "../../src/engine/layers/dropout.js";
import { INFERENCE, type LayerMode, TRAINING_STEP } from "../../src/engine/layers/layer.js";
import { Rng } from "../../src/engine/rng.js";
import { expectGradientsMatch, inputGradientError, randomBatch } from "./helpers.js";

const REUSE: LayerMode = { training: true, updateStats: false, reuseMasks: true };

const uniform = (n: number, seed: number): Float64Array => {
  const rng = new Rng(seed);
  return Float64Array.from({ length: n }, () => rng.uniform(-1, 1));
};

/** |kept − n(1 − p)| ≤ 5σ for a binomial(n, 1 − p) count. */
function expectBinomial(kept: number, n: number, rate: number): void {
  const sigma = Math.sqrt(n * rate * (1 - rate));
  expect(Math.abs(kept - n * (1 - rate))).toBeLessThanOrEqual(5 * sigma);
}

const layer = (rate: number, shape: number[], extra: object = {}): Dropout =>
  buildDropout({ type: "dropout", rate, ...extra }, "dropout_0", shape, 0);

const hiddenSpec = (dropout: object): ModelSpec => ({
  inputShape: [4],
  layers: [
    { type: "dense", units: 6, activation: "tanh", name: "hidden" },
    { type: "dropout", rate: 0.5, name: "drop", ...dropout },
    { type: "dense", units: 3, activation: "softmax", name: "out" },
  ],
  loss: "sparseCategoricalCrossentropy",
});

describe("dropout: inference", () => {
  it("is exactly the identity, forward and backward, in inference mode", () => {
    const d = layer(0.6, [3, 4]);
    d.setMode(INFERENCE);
    const x = uniform(5 * 12, 1);
    const y = d.forward(x, 5);
    expect(y).toBe(x);
    const dy = uniform(5 * 12, 2);
    expect(d.backward(dy, 5)).toBe(dy);
  });

  it("a model with dropout predicts bit for bit what the model without it predicts", () => {
    const spec = hiddenSpec({});
    const without: ModelSpec = { ...spec, layers: [spec.layers[0]!, spec.layers[2]!] };
    const trained = train({
      model: spec,
      data: { ...randomBatch(spec, 12, 3, 4) },
      optimizer: { type: "sgd", learningRate: 0.1 },
      epochs: 3,
      seed: 5,
    });
    const x = uniform(7 * 4, 9);
    expect(predict(spec, trained.weights, x, 7).data).toEqual(predict(without, trained.weights, x, 7).data);
    // The final metrics are taken in inference too: the loss of the dropout-free model at those weights.
    const again = train({
      model: without,
      data: { ...randomBatch(spec, 12, 3, 4) },
      optimizer: { type: "sgd", learningRate: 0 },
      epochs: 1,
      seed: 5,
      initialWeights: trained.weights,
      shuffle: false,
    });
    expect(trained.metrics.loss).toBe(again.metrics.loss);
  });
});

describe("dropout: training", () => {
  it.each([0.3, 0.75, 0.05])(
    "rate %f keeps a binomial fraction, each kept value x · 1/(1 − rate)",
    (rate) => {
      const d = layer(rate, [1000]);
      d.setMode(TRAINING_STEP);
      const n = 200;
      const x = uniform(n * 1000, 3);
      for (let i = 0; i < x.length; i++) if (x[i] === 0) x[i] = 0.5;
      const y = d.forward(x, n);
      let kept = 0;
      let wrong = 0;
      let notQuotient = 0;
      const scale = 1 / (1 - rate);
      for (let i = 0; i < y.length; i++) {
        if (y[i] === 0) continue;
        kept++;
        if (y[i] !== x[i]! * scale) wrong++;
        if (y[i] !== x[i]! / (1 - rate)) notQuotient++;
      }
      expect(wrong).toBe(0);
      expectBinomial(kept, x.length, rate);
      // rate 0.75: 1/(1 − rate) = 4 is exact, so every kept value is exactly x/(1 − rate).
      if (rate === 0.75) expect(notQuotient).toBe(0);
      // The mask is what was applied, and the gradient is dy times it.
      const mask = d.lastMask()!;
      for (let i = 0; i < y.length; i += 997) expect(y[i]).toBe(x[i]! * mask[i]!);
      const dy = uniform(n * 1000, 4);
      const dx = d.backward(dy, n);
      for (let i = 0; i < dx.length; i += 991) expect(dx[i]).toBe(dy[i]! * mask[i]!);
    },
  );

  it("draws a new mask each forward, and reuses the last with reuseMasks", () => {
    const d = layer(0.5, [64]);
    d.setMode(TRAINING_STEP);
    const x = new Float64Array(64).fill(1);
    const a = Float64Array.from(d.forward(x, 1));
    const b = Float64Array.from(d.forward(x, 1));
    expect(b).not.toEqual(a);
    d.setMode(REUSE);
    expect(Float64Array.from(d.forward(x, 1))).toEqual(b);
    expect(Float64Array.from(d.forward(x, 1))).toEqual(b);
  });

  it("rate 0 is the identity in training too, and draws nothing", () => {
    const d = layer(0, [10]);
    d.setMode(TRAINING_STEP);
    const before = d.rng.getState();
    const x = uniform(30, 5);
    expect(d.forward(x, 3)).toBe(x);
    expect(d.rng.getState()).toEqual(before);
    expect([...d.lastMask()!]).toEqual(new Array(30).fill(1));
  });
});

describe("dropout: noiseShape", () => {
  const shape = [4, 5, 6];
  const x = new Float64Array(3 * 120).fill(1);

  /** The mask of a training forward of `x` (3 samples). */
  const maskOf = (noiseShape: (number | null)[]) => {
    const d = layer(0.5, shape, { noiseShape });
    d.setMode(TRAINING_STEP);
    return Float64Array.from(d.forward(x, 3));
  };

  it.each([[[1, 1, 6]], [[null, 1, 1, 6]], [[-1, 1, 1, null]]])(
    "%j: one draw per channel, the same over height and width",
    (noise) => {
      const m = maskOf(noise);
      for (let s = 0; s < 3; s++)
        for (let i = 0; i < 20; i++)
          for (let c = 0; c < 6; c++) expect(m[s * 120 + i * 6 + c]).toBe(m[s * 120 + c]);
      // Different samples get their own masks (18 draws: equal by chance with probability 2⁻¹²).
      expect(m.subarray(0, 6)).not.toEqual(m.subarray(120, 126));
    },
  );

  it("[null, 4, 1, 1] broadcasts over the last two axes", () => {
    const m = maskOf([null, 4, 1, 1]);
    for (let s = 0; s < 3; s++)
      for (let h = 0; h < 4; h++)
        for (let j = 0; j < 30; j++) expect(m[s * 120 + h * 30 + j]).toBe(m[s * 120 + h * 30]);
  });

  it("a batch entry of 1 shares one mask over the batch", () => {
    const m = maskOf([1, 4, 5, 6]);
    expect(m.subarray(120, 240)).toEqual(m.subarray(0, 120));
    expect(m.subarray(240, 360)).toEqual(m.subarray(0, 120));
    expect(new Set(m).size).toBe(2);
  });

  it.each([
    [
      [2, 1, 6],
      ["layers", 0, "noiseShape", 0],
    ],
    [
      [null, 4, 3, 6],
      ["layers", 0, "noiseShape", 2],
    ],
    [
      [4, 5],
      ["layers", 0, "noiseShape"],
    ],
    [
      [1, 1, 1, 1, 1],
      ["layers", 0, "noiseShape"],
    ],
    [
      [3, 4, 5, 6],
      ["layers", 0, "noiseShape", 0],
    ],
    [
      [0, 5, 6],
      ["layers", 0, "noiseShape", 0],
    ],
  ])("%j does not broadcast to [4, 5, 6]: an error at %j", (noiseShape, path) => {
    let error: unknown;
    try {
      layer(0.5, shape, { noiseShape });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(EngineError);
    expect((error as EngineError).path).toEqual(path);
  });

  it.each([[1], [-0.1], [1.5], [Number.NaN]])("rate %f is an error at rate", (rate) => {
    expect(() => layer(rate, [3])).toThrow(expect.objectContaining({ path: ["layers", 0, "rate"] }));
  });

  it.each([[-1], [2 ** 32], [0.5]])("seed %f is an error at seed", (seed) => {
    expect(() => layer(0.5, [3], { seed })).toThrow(expect.objectContaining({ path: ["layers", 0, "seed"] }));
  });
});

describe("dropout: gradients (float64, central differences, mask reused)", () => {
  it("parameters: max relative error < 1e-7 through a dropout layer", () => {
    const spec = hiddenSpec({ rate: 0.4 });
    const batch = randomBatch(spec, 3, 3, 11);
    const result = expectGradientsMatch(spec, batch, { tolerance: 1e-7, seed: 3 });
    const mask = [...result.dropoutMasks!.drop!.data];
    expect(result.dropoutMasks!.drop!.shape).toEqual([3, 6]);
    // The check is not trivial: some units dropped, some kept.
    expect(mask).toContain(0);
    expect(mask).toContain(1 / 0.6);
    expect(new Set(mask).size).toBe(2);
    // The hidden layer's gradient is zero exactly in the dropped units' columns when one sample.
    const one = computeGradients({ model: spec, seed: 3, data: randomBatch(spec, 1, 3, 12) });
    const m1 = one.dropoutMasks!.drop!.data;
    const gb = one.gradients["hidden/bias"]!.data;
    for (let j = 0; j < 6; j++) if (m1[j] === 0) expect(gb[j]).toBe(0);
  });

  it("noiseShape and a conv input: max relative error < 1e-7", () => {
    const spec: ModelSpec = {
      inputShape: [4, 4, 2],
      layers: [
        { type: "conv2d", filters: 3, kernelSize: 2, activation: "tanh" },
        { type: "dropout", rate: 0.5, noiseShape: [null, 1, 1, 3] },
        { type: "flatten" },
        { type: "dense", units: 2 },
      ],
      loss: "meanSquaredError",
    };
    expectGradientsMatch(spec, randomBatch(spec, 2, 2, 13), { tolerance: 1e-7, seed: 8 });
  });

  it("input: max relative error < 1e-7 with the mask reused", () => {
    const d = layer(0.5, [3, 5], { noiseShape: [null, 1, 5] });
    d.setMode(REUSE);
    const err = inputGradientError(d, uniform(4 * 15, 6), 4, new Rng(7));
    expect(err).toBeLessThan(1e-7);
    expect([...d.lastMask()!]).toContain(0);
  });

  it("training: false inspects in inference: no masks, the dropout-free model's gradients", () => {
    const spec = hiddenSpec({});
    const without: ModelSpec = { ...spec, layers: [spec.layers[0]!, spec.layers[2]!] };
    const batch = randomBatch(spec, 2, 3, 14);
    const a = computeGradients({ model: spec, seed: 4, data: batch, training: false, numericalCheck: {} });
    const b = computeGradients({ model: without, seed: 4, data: batch, numericalCheck: {} });
    expect(a.dropoutMasks).toBeUndefined();
    expect(a.loss).toBe(b.loss);
    expect(a.gradients).toEqual(b.gradients);
    expect(a.numerical!.maxRelError).toBeLessThan(1e-7);
  });
});
