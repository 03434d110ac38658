/**
 * `computeGradients`' warnings (docs/backprop.md §19.2): in training mode a batch normalisation
 * layer whose statistics cover one value per channel outputs its beta and passes no gradient
 * down; the inspection names it. Several positions of a convolution, several samples, inference
 * or no batch normalisation: no warning.
 */
import { describe, expect, it } from "vitest";
import { computeGradients, type ModelSpec, type NamedTensors } from "../../src/engine/index.js";
import { expectGradientsMatch, randomBatch } from "./helpers.js";

/** The model of the report: dense → dropout → batchNormalization → softmax, one iris sample. */
const dense: ModelSpec = {
  inputShape: [4],
  layers: [
    { type: "dense", units: 6, activation: "relu" },
    { type: "dropout", rate: 0.5 },
    { type: "batchNormalization" },
    { type: "dense", units: 3, activation: "softmax" },
  ],
  loss: "sparseCategoricalCrossentropy",
};
const iris = { n: 1, x: Float64Array.from([5.1, 3.5, 1.4, 0.2]), y: Float64Array.from([0]) };

/** The seeded weights with gamma 2 and a beta of distinct values, so "the output is beta" can fail. */
function weightsWithBeta(): NamedTensors {
  const w = computeGradients({ model: dense, seed: 7, data: iris, training: false }).weights;
  w["batchNormalization_2/gamma"] = { shape: [6], data: new Float64Array(6).fill(2) };
  w["batchNormalization_2/beta"] = { shape: [6], data: Float64Array.from([0.1, -0.2, 0.3, -0.4, 0.5, -0.6]) };
  return w;
}

describe("a batch normalisation over one value per channel", () => {
  it("training (the default) on one sample of a dense layer: named, output beta, nothing flows below", () => {
    const weights = weightsWithBeta();
    const r = computeGradients({ model: dense, seed: 7, data: iris, weights, numericalCheck: {} });
    expect(r.warnings).toHaveLength(1);
    const w = r.warnings![0]!;
    expect(w.code).toBe("batchStatisticsOfOneValue");
    expect(w.layer).toBe("batchNormalization_2");
    expect(w.message).toMatch(/^batchNormalization_2 \(batchNormalization\) .*single value per channel/);
    expect(w.message).toContain("its output is its beta");
    expect(w.message).toContain("training: false");
    // What it warns about, exactly: the output is beta, gamma and everything below get 0.
    const beta = [...weights["batchNormalization_2/beta"]!.data];
    expect([...r.activations[2]!.output.data]).toEqual(beta);
    for (const key of ["dense_0/kernel", "dense_0/bias", "batchNormalization_2/gamma"])
      expect(r.gradients[key]!.data.every((g) => g === 0)).toBe(true);
    // ∂L/∂β_j = Σ_k W[j][k]·(p_k − t_k): the softmax's error through the output kernel.
    const p = r.output.data;
    const kernel = weights["dense_3/kernel"]!.data;
    const expected = beta.map((_, j) =>
      [0, 1, 2].reduce((s, k) => s + kernel[j * 3 + k]! * (p[k]! - (k === 0 ? 1 : 0)), 0),
    );
    const got = r.gradients["batchNormalization_2/beta"]!.data;
    for (const [j, e] of expected.entries()) expect(got[j]).toBeCloseTo(e, 14);
    expect(got.some((g) => g !== 0)).toBe(true);
    // Finite differences see the same flat loss below the layer.
    expect(r.numerical!.maxAbsError).toBeLessThan(1e-9);
  });

  it("training: false (the moving statistics) warns of nothing, and the gradient reaches the first layer", () => {
    const r = computeGradients({
      model: dense,
      seed: 7,
      data: iris,
      weights: weightsWithBeta(),
      training: false,
    });
    expect(r.warnings).toBeUndefined();
    expect(r.gradients["dense_0/kernel"]!.data.some((g) => g !== 0)).toBe(true);
  });

  it("a model without batch normalisation warns of nothing in training mode", () => {
    const plain = { ...dense, layers: [dense.layers[0]!, dense.layers[1]!, dense.layers[3]!] };
    const r = computeGradients({ model: plain, seed: 7, data: iris });
    expect(r.warnings).toBeUndefined();
    expect(r.dropoutMasks).toBeDefined();
  });

  it("several samples give each channel several values: no warning, gradients checked", () => {
    const spec = { ...dense, layers: dense.layers.filter((l) => l.type !== "dropout") };
    const r = expectGradientsMatch(spec, randomBatch(spec, 4, 3, 5), { tolerance: 1e-6, seed: 3 });
    expect(r.warnings).toBeUndefined();
    expect(r.gradients["dense_0/kernel"]!.data.some((g) => g !== 0)).toBe(true);
  });

  it("a convolution's channels over 2×2 positions: no warning for one sample, gamma and the kernel get gradients", () => {
    const conv: ModelSpec = {
      inputShape: [4, 4, 1],
      layers: [
        // No bias: batch normalisation removes it, its gradient is 0 and round-off (§19.2).
        { type: "conv2d", filters: 2, kernelSize: 3, useBias: false, name: "conv" },
        { type: "batchNormalization", name: "bn" },
        { type: "dropout", rate: 0.3, name: "drop" },
        { type: "flatten" },
        { type: "dense", units: 3, activation: "softmax" },
      ],
      loss: "sparseCategoricalCrossentropy",
    };
    const r = expectGradientsMatch(conv, randomBatch(conv, 1, 3, 11), { tolerance: 1e-6, seed: 4 });
    expect(r.warnings).toBeUndefined();
    expect(r.gradients["bn/gamma"]!.data.every((g) => g !== 0)).toBe(true);
    expect(r.gradients["conv/kernel"]!.data.some((g) => g !== 0)).toBe(true);
  });

  it("a convolution down to 1×1 has one value per channel again: warned", () => {
    const conv: ModelSpec = {
      inputShape: [3, 3, 1],
      layers: [
        { type: "conv2d", filters: 2, kernelSize: 3, name: "conv" },
        { type: "batchNormalization", name: "bn" },
        { type: "flatten" },
        { type: "dense", units: 2, activation: "softmax" },
      ],
      loss: "sparseCategoricalCrossentropy",
    };
    const r = computeGradients({ model: conv, seed: 4, data: randomBatch(conv, 1, 2, 11) });
    expect(r.warnings?.map((w) => w.layer)).toEqual(["bn"]);
    expect(r.gradients["conv/kernel"]!.data.every((g) => g === 0)).toBe(true);
  });

  it("the channel axis decides: [3, 2] over axis 1 has 2 values per channel, a second layer over 1 is warned", () => {
    const spec: ModelSpec = {
      inputShape: [3, 2],
      layers: [
        { type: "batchNormalization", axis: 1, name: "rows" },
        { type: "flatten" },
        { type: "batchNormalization", name: "features" },
        { type: "dense", units: 1 },
      ],
      loss: "meanSquaredError",
    };
    const r = computeGradients({ model: spec, seed: 2, data: randomBatch(spec, 1, 1, 3) });
    expect(r.warnings?.map((w) => w.layer)).toEqual(["features"]);
  });
});
