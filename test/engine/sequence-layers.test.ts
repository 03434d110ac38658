/**
 * The sequence layers of docs/backprop.md §21 (embedding, conv1d, maxPooling1d, averagePooling1d,
 * globalAveragePooling1d, globalMaxPooling1d): hand-computed values, geometry, and exact derivatives against central differences (float64,
 * relative error < 1e-7) for every padding, stride, dilation and the mask.
 */
import { describe, expect, it } from "vitest";
import {
  computeGradients,
  describeModel,
  initWeights,
  type ModelSpec,
  train,
} from "../../src/engine/index.js";
import { Conv1d, geometry1d } from "../../src/engine/layers/conv1d.js";
import { Embedding } from "../../src/engine/layers/embedding.js";
import type { Layer } from "../../src/engine/layers/layer.js";
import { GlobalAveragePooling1d, GlobalMaxPooling1d, Pooling1d } from "../../src/engine/layers/pooling1d.js";
import { Rng } from "../../src/engine/rng.js";
import { expectGradientsMatch, inputGradientError } from "./helpers.js";
import { idBatch } from "./sequence-data.js";

const f64 = (xs: number[]) => Float64Array.from(xs);
const pass = (layer: Layer, x: number[], dy: number[], batch = 1) => {
  const y = [...layer.forward(f64(x), batch)];
  return { y, dx: [...layer.backward(f64(dy), batch)] };
};

describe("values (hand-computed)", () => {
  it("embedding: rows looked up, the gradient scatter-added per id, the mask 0 at id 0", () => {
    const e = new Embedding("e", [4], 3, 2, true);
    e.embeddings.value.set([0, 1, 10, 11, 20, 21]);
    expect(e.outputShape).toEqual([4, 2]);
    const y = [...e.forward(f64([2, 0, 1, 2]), 1)];
    expect(y).toEqual([20, 21, 0, 1, 10, 11, 20, 21]);
    expect([...e.outputMask()!]).toEqual([1, 0, 1, 1]);
    e.backward(f64([1, 2, 3, 4, 5, 6, 7, 8]), 1, false);
    // Row 2 appears twice: 1 + 7, 2 + 8.
    expect([...e.embeddings.grad]).toEqual([3, 4, 5, 6, 8, 10]);
    expect(new Embedding("e", [4], 3, 2, false).masking).toBeUndefined();
  });

  it("conv1d causal, dilation 2: step t sees t − 2 and t, zeros before the start", () => {
    const g = geometry1d(4, 1, 2, 1, 2, "causal");
    expect(g).toMatchObject({ outSteps: 4, padBefore: 2 });
    const conv = new Conv1d("c", [4, 1], 1, g, false);
    conv.kernel.value.set([10, 1]);
    const { y, dx } = pass(conv, [1, 2, 3, 4], [1, 1, 1, 1]);
    expect(y).toEqual([1, 2, 13, 24]);
    expect(dx).toEqual([11, 11, 1, 1]);
    // ∂L/∂K[0] = x0 + x1 (the steps two before outputs 2 and 3), ∂L/∂K[1] = Σ x.
    expect([...conv.kernel.grad]).toEqual([3, 10]);
  });

  it("conv1d same, stride 2, kernel 3 over 5 steps: 3 outputs, one zero before and after", () => {
    const g = geometry1d(5, 1, 3, 2, 1, "same");
    expect(g).toMatchObject({ outSteps: 3, padBefore: 1 });
    const conv = new Conv1d("c", [5, 1], 1, g, true);
    conv.kernel.value.set([1, 10, 100]);
    conv.bias!.value.set([0.5]);
    // Windows (pad, 1, 2), (2, 3, 4), (4, 5, pad).
    expect(pass(conv, [1, 2, 3, 4, 5], [0, 0, 0]).y).toEqual([210.5, 432.5, 54.5]);
  });

  it("geometry: valid shrinks by the span, causal and same keep ceil(steps / stride)", () => {
    expect(geometry1d(10, 1, 3, 1, 2, "valid").outSteps).toBe(6);
    expect(geometry1d(10, 1, 3, 3, 1, "valid").outSteps).toBe(3);
    expect(geometry1d(10, 1, 3, 3, 1, "causal")).toMatchObject({ outSteps: 4, padBefore: 2 });
    expect(geometry1d(7, 1, 4, 1, 3, "same")).toMatchObject({ outSteps: 7, padBefore: 4 });
  });

  it("globalAveragePooling1d: the mean over the real steps only; none real gives 0", () => {
    const g = new GlobalAveragePooling1d("g", [3, 2]);
    expect(pass(g, [1, 2, 3, 4, 5, 6], [3, 6])).toEqual({ y: [3, 4], dx: [1, 2, 1, 2, 1, 2] });
    g.setMask(f64([1, 0, 1, 0, 0, 0]));
    const two = pass(g, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12], [2, 4, 1, 1], 2);
    expect(two.y).toEqual([3, 4, 0, 0]);
    expect(two.dx).toEqual([1, 2, 0, 0, 1, 2, 0, 0, 0, 0, 0, 0]);
  });

  it("max and average pooling 1d, and globalMaxPooling1d with its first-maximum rule", () => {
    const max = new Pooling1d("maxPooling1d", "p", [5, 1], 2, 2, "same");
    expect(max.outputShape).toEqual([3, 1]);
    expect(pass(max, [1, 3, 2, 2, 5], [1, 2, 3])).toEqual({ y: [3, 2, 5], dx: [0, 1, 2, 0, 3] });
    const avg = new Pooling1d("averagePooling1d", "p", [5, 1], 2, 2, "same");
    // The last window holds one real step: it averages that one.
    expect(pass(avg, [1, 3, 2, 2, 5], [2, 4, 6])).toEqual({ y: [2, 2, 5], dx: [1, 1, 2, 2, 6] });
    const gmax = new GlobalMaxPooling1d("g", [3, 2]);
    expect(pass(gmax, [1, 9, 4, 9, 4, 0], [1, 2])).toEqual({ y: [4, 9], dx: [0, 2, 1, 0, 0, 0] });
  });
});

describe("exact derivatives (central differences, float64, relative error < 1e-7)", () => {
  const layers: { name: string; layer: () => Layer; shape: number[]; mask?: number[] }[] = [
    ...(["valid", "same", "causal"] as const).flatMap((padding) =>
      [
        [1, 1],
        [2, 1],
        [1, 2],
        [3, 1],
      ].map(([stride, dilation]) => ({
        name: `conv1d ${padding}, kernel 3, stride ${stride}, dilation ${dilation}`,
        layer: () => {
          const c = new Conv1d("c", [9, 2], 3, geometry1d(9, 2, 3, stride!, dilation!, padding), true);
          const rng = new Rng(4);
          c.kernel.value.set(Float64Array.from(c.kernel.value, () => rng.uniform(-1, 1)));
          return c;
        },
        shape: [9, 2],
      })),
    ),
    {
      name: "maxPooling1d 3/2 same",
      layer: () => new Pooling1d("maxPooling1d", "p", [8, 2], 3, 2, "same"),
      shape: [8, 2],
    },
    {
      name: "averagePooling1d 3/2 same",
      layer: () => new Pooling1d("averagePooling1d", "p", [8, 2], 3, 2, "same"),
      shape: [8, 2],
    },
    {
      name: "averagePooling1d 2 valid",
      layer: () => new Pooling1d("averagePooling1d", "p", [7, 2], 2, 2, "valid"),
      shape: [7, 2],
    },
    { name: "globalMaxPooling1d", layer: () => new GlobalMaxPooling1d("g", [5, 3]), shape: [5, 3] },
    { name: "globalAveragePooling1d", layer: () => new GlobalAveragePooling1d("g", [5, 3]), shape: [5, 3] },
    {
      name: "globalAveragePooling1d with a mask",
      layer: () => new GlobalAveragePooling1d("g", [5, 3]),
      shape: [5, 3],
      mask: [1, 0, 1, 1, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0],
    },
  ];
  it.each(layers)("$name: the input gradient", ({ layer, shape, mask }) => {
    const rng = new Rng(7);
    const l = layer();
    if (mask) (l as GlobalAveragePooling1d).setMask(f64(mask));
    const x = Float64Array.from({ length: 3 * shape[0]! * shape[1]! }, () => rng.uniform(-2, 2));
    expect(inputGradientError(l, x, 3, rng)).toBeLessThan(1e-7);
  });

  const conv = (extra: object) => ({
    type: "conv1d" as const,
    filters: 3,
    kernelSize: 3,
    activation: "tanh" as const,
    ...extra,
  });
  const models: { name: string; spec: ModelSpec }[] = [
    {
      name: "embedding (maskZero) → conv1d causal, dilation 2 → globalAveragePooling1d → dense",
      spec: {
        inputShape: [8],
        layers: [
          { type: "embedding", inputDim: 6, outputDim: 3, maskZero: true },
          conv({ padding: "causal", dilationRate: 2 }),
          { type: "globalAveragePooling1d" },
          { type: "dense", units: 2 },
        ],
        loss: "meanSquaredError",
      },
    },
    {
      name: "embedding (maskZero) → tanh → globalAveragePooling1d → dense (the mask reaches the pooling)",
      spec: {
        inputShape: [6],
        layers: [
          { type: "embedding", inputDim: 5, outputDim: 3, maskZero: true },
          { type: "activation", activation: "tanh" },
          { type: "globalAveragePooling1d" },
          { type: "dense", units: 2, activation: "sigmoid" },
        ],
        loss: "binaryCrossentropy",
      },
    },
    {
      name: "embedding → conv1d same, stride 2 → maxPooling1d → flatten → dense",
      spec: {
        inputShape: [9],
        layers: [
          { type: "embedding", inputDim: 7, outputDim: 2 },
          conv({ padding: "same", strides: 2 }),
          { type: "maxPooling1d", poolSize: 2, padding: "same" },
          { type: "flatten" },
          { type: "dense", units: 3, activation: "softmax" },
        ],
        loss: "sparseCategoricalCrossentropy",
      },
    },
    {
      name: "embedding → conv1d valid → averagePooling1d same → conv1d causal → globalMaxPooling1d → dense",
      spec: {
        inputShape: [10],
        layers: [
          { type: "embedding", inputDim: 6, outputDim: 2 },
          conv({}),
          { type: "averagePooling1d", poolSize: 3, strides: 2, padding: "same" },
          conv({ padding: "causal", kernelSize: 2 }),
          { type: "globalMaxPooling1d" },
          { type: "dense", units: 2 },
        ],
        loss: "meanSquaredError",
      },
    },
    {
      name: "[steps, channels] input → conv1d dilation 3 → conv1d same → globalAveragePooling1d → dense",
      spec: {
        inputShape: [11, 2],
        layers: [
          conv({ dilationRate: 3 }),
          conv({ padding: "same", kernelSize: 2 }),
          { type: "globalAveragePooling1d" },
          { type: "dense", units: 2 },
        ],
        loss: "meanSquaredError",
      },
    },
  ];
  it.each(models)("$name: every parameter", ({ spec }) => {
    const out = describeModel(spec).outputSize;
    const batch = idBatch(spec, 3, out, 11);
    // Larger weights than the initialisers': pre-activations well away from 0, maxima far apart.
    const weights = Object.fromEntries(
      Object.entries(initWeights(spec, 5)).map(([k, t]) => [
        k,
        { shape: t.shape, data: t.data.map((v) => v * 3) },
      ]),
    );
    expectGradientsMatch(spec, batch, { weights, tolerance: 1e-7 });
  });

  it("float32 runs the same models: gradients within float32 rounding of float64's", () => {
    const spec = models[0]!.spec;
    const batch = idBatch(spec, 4, 2, 12);
    const a = computeGradients({ model: spec, seed: 3, data: batch });
    const b = computeGradients({ model: spec, seed: 3, data: batch, dtype: "float32" });
    expect(Math.abs(a.loss - b.loss) / a.loss).toBeLessThan(1e-5);
    for (const [key, g] of Object.entries(a.gradients))
      for (let i = 0; i < g.data.length; i++) {
        const v = g.data[i]!;
        expect(Math.abs(v - b.gradients[key]!.data[i]!), key).toBeLessThan(1e-5 * (1 + Math.abs(v)) + 1e-6);
      }
  });
});

describe("a text-like model trains", () => {
  it("embedding → conv1d → globalMaxPooling1d → dense learns which token is present", () => {
    // Class 1 when token 3 appears anywhere in the sequence.
    const rng = new Rng(21);
    const n = 64;
    const T = 6;
    const x = new Float64Array(n * T);
    const y = new Float64Array(n);
    for (let s = 0; s < n; s++) {
      for (let t = 0; t < T; t++) x[s * T + t] = 1 + rng.int(2);
      if (s % 2 === 0) x[s * T + rng.int(T)] = 3;
      y[s] = s % 2 === 0 ? 1 : 0;
    }
    const result = train({
      model: {
        inputShape: [T],
        layers: [
          { type: "embedding", inputDim: 4, outputDim: 4 },
          { type: "conv1d", filters: 4, kernelSize: 2, padding: "causal", activation: "relu" },
          { type: "globalMaxPooling1d" },
          { type: "dense", units: 1, activation: "sigmoid" },
        ],
        loss: "binaryCrossentropy",
      },
      data: { n, x, y },
      optimizer: { type: "adam", learningRate: 0.05 },
      epochs: 30,
      batchSize: 16,
      seed: 2,
      metrics: ["accuracy"],
    });
    const { loss, accuracy } = result.history;
    expect(loss.at(-1)!).toBeLessThan(loss[0]! / 4);
    expect(accuracy!.at(-1)).toBe(1);
  });
});
