/** Initialisers (docs/backprop.md §16.1): exact values, statistics, orthogonality, determinism. */
import { describe, expect, it } from "vitest";
import { EngineError, initWeights, type ModelSpec } from "../../src/engine/index.js";
import { type InitializerSpec, initializeParam, MAX_QR_WORK } from "../../src/engine/initializers.js";
import { Model } from "../../src/engine/model.js";
import { Rng } from "../../src/engine/rng.js";

const dense = (
  inputs: number,
  units: number,
  kernelInitializer?: InitializerSpec,
  biasInitializer?: InitializerSpec,
): ModelSpec => ({
  inputShape: [inputs],
  layers: [
    {
      type: "dense",
      units,
      ...(kernelInitializer ? { kernelInitializer } : {}),
      ...(biasInitializer ? { biasInitializer } : {}),
    },
  ],
  loss: "meanSquaredError",
});

const kernelOf = (spec: ModelSpec, seed = 1) => initWeights(spec, seed)["dense_0/kernel"]!.data;

/** Sample mean and variance, and the largest distance from `centre`. */
function moments(
  a: Iterable<number> & ArrayLike<number>,
  centre = 0,
): { mean: number; variance: number; maxAbs: number } {
  let s = 0;
  for (const v of a) s += v;
  const mean = s / a.length;
  let q = 0;
  let m = 0;
  for (const v of a) {
    q += (v - mean) ** 2;
    m = Math.max(m, Math.abs(v - centre));
  }
  return { mean, variance: q / a.length, maxAbs: m };
}

/** Variance of a standard normal truncated at ±2: 1 − 4φ(2) / (Φ(2) − Φ(−2)). */
const TRUNCATED_VARIANCE = 0.7737413;

describe("initialisers", () => {
  it("the defaults and an explicit glorotUniform / zeros give bit-identical weights", () => {
    const spec: ModelSpec = {
      inputShape: [4, 4, 2],
      layers: [
        { type: "conv2d", filters: 3, kernelSize: 3, activation: "relu" },
        { type: "flatten" },
        { type: "dense", units: 5 },
      ],
      loss: "meanSquaredError",
    };
    const explicit: ModelSpec = {
      ...spec,
      layers: [
        {
          type: "conv2d",
          filters: 3,
          kernelSize: 3,
          activation: "relu",
          kernelInitializer: "glorotUniform",
          biasInitializer: { type: "zeros" },
        },
        { type: "flatten" },
        { type: "dense", units: 5, kernelInitializer: { type: "glorotUniform" }, biasInitializer: "zeros" },
      ],
    };
    const a = initWeights(spec, 11);
    const b = initWeights(explicit, 11);
    for (const key of Object.keys(a)) expect(b[key]!.data, key).toEqual(a[key]!.data);
    // And the default is Glorot-uniform drawn in order from the seed, as it always was.
    const rng = new Rng(11);
    const limit = Math.sqrt(6 / (3 * 3 * 2 + 3 * 3 * 3));
    expect(a["conv2d_0/kernel"]!.data[0]).toBe(rng.uniform(-limit, limit));
  });

  it("zeros, ones and constant are exact, and biases take their own initialiser", () => {
    expect([...kernelOf(dense(3, 2, "zeros"))]).toEqual([0, 0, 0, 0, 0, 0]);
    expect([...kernelOf(dense(3, 2, "ones"))]).toEqual([1, 1, 1, 1, 1, 1]);
    expect([...kernelOf(dense(2, 2, { type: "constant", value: -0.25 }))]).toEqual([
      -0.25, -0.25, -0.25, -0.25,
    ]);
    const w = initWeights(dense(2, 3, "zeros", { type: "constant", value: 0.1 }), 1);
    expect([...w["dense_0/bias"]!.data]).toEqual([0.1, 0.1, 0.1]);
  });

  it("the same seed gives the same weights, another seed other weights, for every random initialiser", () => {
    const kinds: InitializerSpec[] = [
      "glorotNormal",
      "heNormal",
      "heUniform",
      "leCunNormal",
      "leCunUniform",
      "randomNormal",
      "randomUniform",
      "truncatedNormal",
      "orthogonal",
      "varianceScaling",
      { type: "varianceScaling", scale: 3, mode: "fanOut", distribution: "truncatedNormal" },
    ];
    for (const k of kinds) {
      const a = kernelOf(dense(6, 4, k), 5);
      expect(kernelOf(dense(6, 4, k), 5), JSON.stringify(k)).toEqual(a);
      expect(kernelOf(dense(6, 4, k), 6), JSON.stringify(k)).not.toEqual(a);
    }
  });

  // 400 × 1000 = 400 000 draws: the sample variance is within ~0.5 % (4 standard errors) of its value.
  const fanIn = 400;
  const fanOut = 1000;
  const cases: { k: InitializerSpec; variance: number; bound: number; mean?: number }[] = [
    // tfjs' "normal": σ² = scale / fan, truncated at 2σ (so the variance is 0.7737 σ²).
    { k: "heNormal", variance: (2 / fanIn) * TRUNCATED_VARIANCE, bound: 2 * Math.sqrt(2 / fanIn) },
    { k: "leCunNormal", variance: (1 / fanIn) * TRUNCATED_VARIANCE, bound: 2 * Math.sqrt(1 / fanIn) },
    {
      k: "glorotNormal",
      variance: (2 / (fanIn + fanOut)) * TRUNCATED_VARIANCE,
      bound: 2 * Math.sqrt(2 / (fanIn + fanOut)),
    },
    // uniform: U(−√(3σ²), √(3σ²)) has variance σ².
    { k: "heUniform", variance: 2 / fanIn, bound: Math.sqrt(6 / fanIn) },
    { k: "leCunUniform", variance: 1 / fanIn, bound: Math.sqrt(3 / fanIn) },
    { k: "glorotUniform", variance: 2 / (fanIn + fanOut), bound: Math.sqrt(6 / (fanIn + fanOut)) },
    // truncatedNormal distribution: σ / 0.8796 before truncation, so the variance is σ² itself.
    {
      k: { type: "varianceScaling", scale: 3, mode: "fanOut", distribution: "truncatedNormal" },
      variance: 3 / fanOut,
      bound: (2 * Math.sqrt(3 / fanOut)) / 0.8796256610342398,
    },
    {
      k: { type: "varianceScaling", scale: 0.5, mode: "fanAvg", distribution: "uniform" },
      variance: 0.5 / ((fanIn + fanOut) / 2),
      bound: Math.sqrt(1.5 / ((fanIn + fanOut) / 2)),
    },
    { k: { type: "randomNormal", mean: 0.3, stddev: 0.2 }, variance: 0.04, bound: Infinity, mean: 0.3 },
    {
      k: { type: "truncatedNormal", mean: -1, stddev: 0.5 },
      variance: 0.25 * TRUNCATED_VARIANCE,
      bound: 1,
      mean: -1,
    },
    { k: { type: "randomUniform", minval: 1, maxval: 3 }, variance: 1 / 3, bound: 1, mean: 2 },
  ];
  it.each(cases)(
    "$k: mean, variance and bounds over a [400, 1000] kernel",
    ({ k, variance, bound, mean = 0 }) => {
      const w = kernelOf(dense(fanIn, fanOut, k), 3);
      const m = moments(w, mean);
      expect(Math.abs(m.mean - mean)).toBeLessThan(4 * Math.sqrt(variance / w.length));
      expect(Math.abs(m.variance / variance - 1)).toBeLessThan(0.01);
      expect(m.maxAbs).toBeLessThanOrEqual(bound);
      if (Number.isFinite(bound)) expect(m.maxAbs).toBeGreaterThan(0.97 * bound);
    },
  );

  it("conv kernels use Keras' fans (receptive field × channels)", () => {
    const spec: ModelSpec = {
      inputShape: [8, 8, 20],
      layers: [{ type: "conv2d", filters: 40, kernelSize: 5, kernelInitializer: "heUniform" }],
      loss: "meanSquaredError",
    };
    const w = initWeights(spec, 2)["conv2d_0/kernel"]!.data;
    const fan = 5 * 5 * 20;
    expect(Math.abs(moments(w).variance / (2 / fan) - 1)).toBeLessThan(0.03);
    expect(moments(w).maxAbs).toBeLessThanOrEqual(Math.sqrt(6 / fan));
  });

  it.each([
    [30, 12, 1],
    [12, 30, 1],
    [25, 25, 2.5],
  ])("orthogonal [%i, %i] with gain %f has orthonormal columns (or rows) to 1e-12", (rows, cols, gain) => {
    const w = kernelOf(dense(rows, cols, { type: "orthogonal", gain }), 9);
    const short = Math.min(rows, cols);
    // rows ≥ cols: WᵀW = gain²·I; rows < cols: WWᵀ = gain²·I.
    for (let a = 0; a < short; a++)
      for (let b = 0; b < short; b++) {
        let dot = 0;
        for (let k = 0; k < Math.max(rows, cols); k++)
          dot += rows >= cols ? w[k * cols + a]! * w[k * cols + b]! : w[a * cols + k]! * w[b * cols + k]!;
        expect(Math.abs(dot / gain ** 2 - (a === b ? 1 : 0))).toBeLessThan(1e-12);
      }
  });

  it("orthogonal on a conv kernel reads it as [kH·kW·inC, filters]", () => {
    const spec: ModelSpec = {
      inputShape: [5, 5, 3],
      layers: [{ type: "conv2d", filters: 4, kernelSize: 2, kernelInitializer: "orthogonal" }],
      loss: "meanSquaredError",
    };
    const w = initWeights(spec, 1)["conv2d_0/kernel"]!.data;
    const rows = 12;
    for (let a = 0; a < 4; a++) {
      let dot = 0;
      for (let k = 0; k < rows; k++) dot += w[k * 4 + a]! * w[k * 4 + a]!;
      expect(dot).toBeCloseTo(1, 12);
    }
  });

  it("invalid arguments are EngineErrors naming the field", () => {
    const at = (k: InitializerSpec) => {
      try {
        new Model(dense(30, 20, k)).initialise(1);
      } catch (e) {
        expect(e).toBeInstanceOf(EngineError);
        return (e as EngineError).path;
      }
      return null;
    };
    expect(at({ type: "randomNormal", stddev: -1 })).toEqual(["layers", 0, "kernelInitializer", "stddev"]);
    expect(at({ type: "randomUniform", minval: 1, maxval: 0 })).toEqual([
      "layers",
      0,
      "kernelInitializer",
      "maxval",
    ]);
    expect(at({ type: "varianceScaling", mode: "fanMax" as "fanIn" })).toEqual([
      "layers",
      0,
      "kernelInitializer",
      "mode",
    ]);
    // Arguments whose draws could overflow are refused when the model is built, not returned as Infinity.
    expect(at({ type: "randomNormal", mean: 1e308, stddev: 1e308 })).toEqual([
      "layers",
      0,
      "kernelInitializer",
      "stddev",
    ]);
    expect(at({ type: "randomUniform", minval: -1e308, maxval: 1e308 })).toEqual([
      "layers",
      0,
      "kernelInitializer",
      "maxval",
    ]);
    // A bias has rank 1: orthogonal needs a matrix.
    expect(() => new Model(dense(3, 2, undefined, "orthogonal"))).toThrow(
      expect.objectContaining({ path: ["layers", 0, "biasInitializer"] }),
    );
    expect(at("bogus" as InitializerSpec)).toEqual(["layers", 0, "kernelInitializer"]);
    const v = new Float64Array(4);
    expect(() => initializeParam("orthogonal", v, [4], new Rng(1), ["b"])).toThrow(/rank 2/);
    const side = Math.ceil(Math.cbrt(MAX_QR_WORK)) + 1;
    expect(() =>
      initializeParam("orthogonal", new Float64Array(side * side), [side, side], new Rng(1), ["k"]),
    ).toThrow(/QR/);
  });
});
