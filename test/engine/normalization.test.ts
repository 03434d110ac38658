/**
 * batchNormalization and layerNormalization (docs/backprop.md §19): central-difference gradient
 * checks in float64 for the parameters and the input in both modes (relative error < 1e-7),
 * and hand-computed values of a tiny case (the moving statistics and the options:
 * normalization-state.test.ts).
 */
import { describe, expect, it } from "vitest";
import type { LayerSpec, ModelSpec } from "../../src/engine/index.js";
import { BatchNormalization } from "../../src/engine/layers/batch-normalization.js";
import { INFERENCE, TRAINING_STEP } from "../../src/engine/layers/layer.js";
import { LayerNormalization } from "../../src/engine/layers/layer-normalization.js";
import { Model } from "../../src/engine/model.js";
import {
  layerInputError,
  layerOf,
  paramGradientError,
  seededModel,
  TRAINING_CHECK,
  uniformBatch,
} from "./normalization-helpers.js";

const TOLERANCE = 1e-7;

interface Case {
  title: string;
  inputShape: number[];
  norm: LayerSpec;
  /** Layers before the normalisation (so its input gradient reaches a parameter). */
  before?: LayerSpec[];
}

const cases: Case[] = [
  {
    title: "BN on dense features [b, f], axis -1",
    inputShape: [3],
    before: [{ type: "dense", units: 4, activation: "tanh" }],
    norm: { type: "batchNormalization" },
  },
  {
    title: "BN on conv features [b, h, w, c], axis -1",
    inputShape: [4, 4, 1],
    before: [{ type: "conv2d", filters: 3, kernelSize: 2, activation: "tanh" }],
    norm: { type: "batchNormalization", momentum: 0.5 },
  },
  {
    title: "BN on [b, h, w, c] over axis 1 (rows as channels)",
    inputShape: [3, 3, 2],
    before: [{ type: "conv2d", filters: 2, kernelSize: 1, useBias: false }],
    norm: { type: "batchNormalization", axis: 1, epsilon: 0.01 },
  },
  {
    title: "BN on [b, s, f] over axis 2 of 3 (written -2)",
    inputShape: [3, 4],
    norm: { type: "batchNormalization", axis: -2 },
  },
  {
    title: "BN without center and scale",
    inputShape: [3],
    before: [{ type: "dense", units: 3, useBias: false }],
    norm: { type: "batchNormalization", center: false, scale: false },
  },
  {
    title: "BN with scale only",
    inputShape: [2, 2, 2],
    before: [{ type: "conv2d", filters: 2, kernelSize: 1, useBias: false }],
    norm: { type: "batchNormalization", center: false },
  },
  {
    title: "LN over the last axis",
    inputShape: [4],
    before: [{ type: "dense", units: 5, activation: "tanh" }],
    norm: { type: "layerNormalization" },
  },
  {
    title: "LN over [h, w] of [h, w, c] (axis [1, 2])",
    inputShape: [3, 3, 2],
    // Each channel is one group: a conv bias would be cancelled (its gradient 0), so none.
    before: [{ type: "conv2d", filters: 2, kernelSize: 1, useBias: false }],
    norm: { type: "layerNormalization", axis: [1, 2] },
  },
  {
    title: "LN over axes listed out of order, [3, 1]",
    inputShape: [2, 3, 2],
    norm: { type: "layerNormalization", axis: [3, 1], epsilon: 0.1 },
  },
  {
    title: "LN without center",
    inputShape: [2, 3],
    norm: { type: "layerNormalization", axis: [1, 2], center: false },
  },
];

function specOf(c: Case): ModelSpec {
  return {
    inputShape: c.inputShape,
    layers: [
      ...(c.before ?? []),
      c.norm,
      ...(c.inputShape.length > 1 ? [{ type: "flatten" } as LayerSpec] : []),
      { type: "dense", units: 2 },
    ],
    loss: "meanSquaredError",
  };
}

describe("central differences in float64 (relative error < 1e-7)", () => {
  for (const c of cases)
    for (const [modeName, mode] of [
      ["training", TRAINING_CHECK],
      ["inference", INFERENCE],
    ] as const) {
      it(`${c.title}, ${modeName} mode: parameters and input`, () => {
        const spec = specOf(c);
        const model = seededModel(spec, 5);
        const n = 5;
        const x = uniformBatch(n, model.inputSize, 11, -2, 2);
        const y = uniformBatch(n, model.outputSize, 12);
        const { worst, at, analytic } = paramGradientError(model, x, y, n, mode);
        expect(worst, at).toBeLessThan(TOLERANCE);
        // Something real was checked: the normalisation's own gradients are not zero.
        const own = Object.entries(analytic).filter(([k]) => k.startsWith(`${c.norm.type}_`));
        const norm = own.reduce((s, [, t]) => s + (t.data as Float64Array).reduce((a, v) => a + v * v, 0), 0);
        if (own.length > 0) expect(norm).toBeGreaterThan(1e-6);
        // The layer's input gradient, directly: L = Σ dy·y.
        const layer = model.layers.find(
          (l) => l instanceof BatchNormalization || l instanceof LayerNormalization,
        )!;
        const layerIndex = model.layers.indexOf(layer);
        let xin = x;
        if (layerIndex > 0) {
          model.setMode(mode);
          model.forward(x, n);
          xin = Float64Array.from(model.layerOutput(layerIndex - 1));
        }
        expect(layerInputError(layer, mode, xin, n, 21)).toBeLessThan(TOLERANCE);
      });
    }

  it("in training a bias right before BN has no effect: its gradient is 0 (to rounding)", () => {
    const spec: ModelSpec = {
      inputShape: [3],
      layers: [{ type: "dense", units: 3 }, { type: "batchNormalization" }, { type: "dense", units: 1 }],
      loss: "meanSquaredError",
    };
    const model = seededModel(spec, 2);
    const { analytic } = paramGradientError(
      model,
      uniformBatch(4, 3, 1),
      uniformBatch(4, 1, 2),
      4,
      TRAINING_CHECK,
    );
    for (const v of analytic["dense_0/bias"]!.data) expect(Math.abs(v)).toBeLessThan(1e-14);
    const infer = paramGradientError(
      model,
      uniformBatch(4, 3, 1),
      uniformBatch(4, 1, 2),
      4,
      INFERENCE,
    ).analytic;
    expect(Math.max(...Array.from(infer["dense_0/bias"]!.data, Math.abs))).toBeGreaterThan(1e-3);
  });

  it("training differs from inference (the batch statistics are differentiated)", () => {
    const spec = specOf(cases[0]!);
    const model = seededModel(spec, 5);
    const x = uniformBatch(4, 3, 1);
    const y = uniformBatch(4, 2, 2);
    const train = paramGradientError(model, x, y, 4, TRAINING_CHECK).analytic;
    const infer = paramGradientError(model, x, y, 4, INFERENCE).analytic;
    expect(Array.from(train["dense_0/kernel"]!.data)).not.toEqual(Array.from(infer["dense_0/kernel"]!.data));
  });
});

describe("hand-computed: 2 samples, 2 features", () => {
  // x = [[1, 2], [3, 6]]: feature 0 has mean 2, variance 1; feature 1 mean 4, variance 4.
  const x = Float64Array.from([1, 2, 3, 6]);
  const build = () => {
    const bn = new Model({
      inputShape: [2],
      layers: [{ type: "batchNormalization", momentum: 0.9 }],
      loss: "meanSquaredError",
    });
    bn.initialise(1);
    const layer = layerOf(bn, BatchNormalization);
    layer.gamma!.value.set([2, 0.5]);
    layer.beta!.value.set([0.1, -0.2]);
    return { bn, layer };
  };
  const a = 1 / Math.sqrt(1.001);
  const b = 2 / Math.sqrt(4.001);

  it("training: batch statistics, the moving ones updated with momentum 0.9", () => {
    const { bn, layer } = build();
    bn.setMode(TRAINING_STEP);
    const y = Array.from(bn.forward(x, 2));
    const want = [2 * -a + 0.1, 0.5 * -b - 0.2, 2 * a + 0.1, 0.5 * b - 0.2];
    for (const [i, v] of y.entries()) expect(v).toBeCloseTo(want[i]!, 14);
    // moving_mean = 0.9·0 + 0.1·[2, 4]; moving_variance = 0.9·1 + 0.1·[1, 4] (biased).
    expect(layer.movingMean.value[0]).toBeCloseTo(0.2, 15);
    expect(layer.movingMean.value[1]).toBeCloseTo(0.4, 15);
    expect(layer.movingVariance.value[0]).toBeCloseTo(1, 15);
    expect(layer.movingVariance.value[1]).toBeCloseTo(1.3, 15);
  });

  it("training backward: dy = [[1, 0], [0, 0]]", () => {
    const { bn, layer } = build();
    bn.setMode(TRAINING_CHECK);
    bn.forward(x, 2);
    bn.zeroGrads();
    const dx = Array.from(layer.backward(Float64Array.from([1, 0, 0, 0]), 2));
    // dx_0 = (γ/√(σ²+ε))·(1 − 1/2 − x̂_0·Σdy·x̂/2) = (2a)·(1 − a²)/2, dx_2 = −dx_0; feature 1 gets 0.
    const d0 = 2 * a * ((1 - a * a) / 2);
    expect(dx[0]).toBeCloseTo(d0, 15);
    expect(dx[2]).toBeCloseTo(-d0, 15);
    expect(dx[1]).toBe(0);
    expect(dx[3]).toBe(0);
    expect(layer.gamma!.grad[0]).toBeCloseTo(-a, 15);
    expect(Array.from(layer.beta!.grad)).toEqual([1, 0]);
    // Nothing moved: updateStats is off.
    expect(Array.from(layer.movingMean.value)).toEqual([0, 0]);
  });

  it("inference: the moving statistics, dx = γ·dy/√(moving_variance + ε)", () => {
    const { bn, layer } = build();
    layer.movingMean.value.set([1, -1]);
    layer.movingVariance.value.set([4, 0.25]);
    bn.setMode(INFERENCE);
    const y = Array.from(bn.forward(x, 2));
    const s0 = 1 / Math.sqrt(4.001);
    const s1 = 1 / Math.sqrt(0.251);
    const want = [2 * 0 * s0 + 0.1, 0.5 * 3 * s1 - 0.2, 2 * 2 * s0 + 0.1, 0.5 * 7 * s1 - 0.2];
    for (const [i, v] of y.entries()) expect(v).toBeCloseTo(want[i]!, 14);
    const dx = Array.from(layer.backward(Float64Array.from([1, 1, 1, 1]), 2));
    expect(dx[0]).toBeCloseTo(2 * s0, 15);
    expect(dx[1]).toBeCloseTo(0.5 * s1, 15);
    expect(Array.from(layer.movingMean.value)).toEqual([1, -1]);
  });

  it("layer normalisation of the same rows: each sample over its 2 features", () => {
    const ln = new Model({
      inputShape: [2],
      layers: [{ type: "layerNormalization" }],
      loss: "meanSquaredError",
    });
    ln.initialise(1);
    // Row [1, 2]: mean 1.5, variance 0.25; row [3, 6]: mean 4.5, variance 2.25.
    const y = Array.from(ln.forward(x, 2));
    const r0 = 0.5 / Math.sqrt(0.251);
    const r1 = 1.5 / Math.sqrt(2.251);
    for (const [i, v] of [-r0, r0, -r1, r1].entries()) expect(y[i]).toBeCloseTo(v, 14);
  });
});
