/**
 * batchNormalization and layerNormalization (docs/backprop.md §19): weights and initialisers, the
 * moving statistics in both modes, memory and work accounting, and the checks of the options.
 */
import { describe, expect, it } from "vitest";
import { EngineError, type LayerSpec, type ModelSpec } from "../../src/engine/index.js";
import { BatchNormalization } from "../../src/engine/layers/batch-normalization.js";
import { INFERENCE, TRAINING_STEP } from "../../src/engine/layers/layer.js";
import type { LayerNormalization } from "../../src/engine/layers/layer-normalization.js";
import { Model } from "../../src/engine/model.js";
import { layerOf, seededModel, TRAINING_CHECK, uniformBatch } from "./normalization-helpers.js";

describe("moving statistics, modes and weights", () => {
  const spec: ModelSpec = {
    inputShape: [2, 2, 3],
    layers: [{ type: "batchNormalization", name: "bn" }, { type: "flatten" }, { type: "dense", units: 1 }],
    loss: "meanSquaredError",
  };

  it("weights: gamma, beta, then moving_mean and moving_variance (not trainable); ones/zeros/zeros/ones", () => {
    const m = new Model(spec);
    m.initialise(1);
    expect(m.weights().map((p) => p.key)).toEqual([
      "bn/gamma",
      "bn/beta",
      "bn/moving_mean",
      "bn/moving_variance",
      "dense_2/kernel",
      "dense_2/bias",
    ]);
    expect(m.params().map((p) => p.key)).toEqual(["bn/gamma", "bn/beta", "dense_2/kernel", "dense_2/bias"]);
    const w = m.getWeights();
    expect(Array.from(w["bn/gamma"]!.data)).toEqual([1, 1, 1]);
    expect(Array.from(w["bn/moving_variance"]!.data)).toEqual([1, 1, 1]);
    expect(Array.from(w["bn/moving_mean"]!.data)).toEqual([0, 0, 0]);
    expect(m.summary().layers[0]!.state).toEqual([
      { key: "bn/moving_mean", shape: [3] },
      { key: "bn/moving_variance", shape: [3] },
    ]);
    expect(m.summary().paramCount).toBe(6 + 12 + 1);
  });

  it("initialisers: constant gamma, a random moving mean from the seed", () => {
    const s: ModelSpec = {
      ...spec,
      layers: [
        {
          type: "batchNormalization",
          name: "bn",
          gammaInitializer: { type: "constant", value: 3 },
          movingMeanInitializer: { type: "randomUniform", minval: 5, maxval: 6 },
        },
        ...spec.layers.slice(1),
      ],
    };
    const m = new Model(s);
    m.initialise(4);
    const w = m.getWeights();
    expect(Array.from(w["bn/gamma"]!.data)).toEqual([3, 3, 3]);
    for (const v of w["bn/moving_mean"]!.data) expect(v >= 5 && v < 6).toBe(true);
  });

  it("per channel over batch and spatial axes; momentum 0 takes the batch's, 1 keeps the old", () => {
    const x = uniformBatch(3, 12, 7, -3, 5);
    for (const momentum of [0, 1]) {
      const m = new Model({
        ...spec,
        layers: [{ type: "batchNormalization", momentum }, ...spec.layers.slice(1)],
      });
      m.initialise(1);
      m.setMode(TRAINING_STEP);
      m.forward(x, 3);
      const layer = layerOf(m, BatchNormalization);
      for (let c = 0; c < 3; c++) {
        const vals = Array.from(x).filter((_, i) => i % 3 === c);
        const mean = vals.reduce((s, v) => s + v, 0) / vals.length;
        const variance = vals.reduce((s, v) => s + (v - mean) ** 2, 0) / vals.length;
        expect(layer.movingMean.value[c]).toBeCloseTo(momentum === 0 ? mean : 0, 13);
        expect(layer.movingVariance.value[c]).toBeCloseTo(momentum === 0 ? variance : 1, 13);
      }
    }
  });

  it("inference after training uses the moving statistics: output equals the formula", () => {
    const m = new Model(spec);
    m.initialise(1);
    const x = uniformBatch(4, 12, 9);
    m.setMode(TRAINING_STEP);
    for (let k = 0; k < 3; k++) m.forward(x, 4);
    const layer = layerOf(m, BatchNormalization);
    m.setMode(INFERENCE);
    const out = Array.from(m.forward(x, 4));
    const y = layer.forward(x, 4);
    for (let i = 0; i < 12; i++) {
      const c = i % 3;
      expect(y[i]).toBeCloseTo(
        (x[i]! - layer.movingMean.value[c]!) / Math.sqrt(layer.movingVariance.value[c]! + 1e-3),
        13,
      );
    }
    expect(out.every(Number.isFinite)).toBe(true);
  });

  it("a negative moving variance (loaded weights) counts as 0, so the output stays finite", () => {
    const m = new Model({
      inputShape: [1],
      layers: [{ type: "batchNormalization" }],
      loss: "meanSquaredError",
    });
    const w = m.getWeights();
    w["batchNormalization_0/moving_variance"]!.data[0] = -5;
    w["batchNormalization_0/gamma"]!.data[0] = 1;
    m.setWeights(w);
    expect(Array.from(m.forward(Float64Array.from([0.5]), 1))).toEqual([0.5 / Math.sqrt(1e-3)]);
  });

  it("overflowing batch statistics give NaN outputs (named by the divergence watch) and keep the moving ones", () => {
    const m = new Model({
      inputShape: [1],
      layers: [{ type: "batchNormalization" }],
      loss: "meanSquaredError",
    });
    m.initialise(1);
    m.setMode(TRAINING_STEP);
    const y = m.forward(Float64Array.from([1e300, -1e300]), 2);
    expect(Number.isNaN(y[0])).toBe(true);
    const layer = layerOf(m, BatchNormalization);
    expect(Array.from(layer.movingVariance.value)).toEqual([1]);
  });
});

describe("memory and work accounting", () => {
  it("sampleValues: output and x̂ forward (LN adds its per-sample statistics), ∂L/∂X backward; forwardCost", () => {
    const m = new Model({
      inputShape: [2, 3, 4],
      layers: [{ type: "batchNormalization" }, { type: "layerNormalization", axis: [2, 3] }],
      loss: "meanSquaredError",
    });
    const [bn, ln] = m.layers as [BatchNormalization, LayerNormalization];
    expect(bn.sampleValues).toEqual({ forward: 48, backward: 24 });
    expect(ln.sampleValues).toEqual({ forward: 48 + 2 * 2, backward: 24 });
    expect(bn.forwardCost).toBe(96);
    expect(ln.groups).toBe(2);
    expect(ln.groupSize).toBe(12);
  });

  it("backward without the input gradient allocates nothing and still accumulates gamma and beta", () => {
    const m = seededModel(
      { inputShape: [3], layers: [{ type: "batchNormalization" }], loss: "meanSquaredError" },
      1,
    );
    m.setMode(TRAINING_CHECK);
    const layer = layerOf(m, BatchNormalization);
    layer.forward(uniformBatch(4, 3, 1), 4);
    m.zeroGrads();
    expect(layer.backward(uniformBatch(4, 3, 2), 4, false)).toHaveLength(0);
    expect(Array.from(layer.beta!.grad).every((v) => v !== 0)).toBe(true);
  });
});

describe("options are checked where the request wrote them", () => {
  const at = (layer: LayerSpec, inputShape = [2, 3]) => {
    try {
      new Model({ inputShape, layers: [layer], loss: "meanSquaredError" });
    } catch (e) {
      expect(e).toBeInstanceOf(EngineError);
      return { path: (e as EngineError).path, message: (e as Error).message };
    }
    return undefined;
  };

  it("axis 0 (the batch) and axes outside the input", () => {
    for (const axis of [0, 3, -3, 7, 1.5]) {
      const e = at({ type: "batchNormalization", axis });
      expect(e?.path, String(axis)).toEqual(["layers", 0, "axis"]);
      expect(e?.message).toContain("[1, 2]");
    }
    expect(at({ type: "batchNormalization", axis: 2 })).toBeUndefined();
    expect(at({ type: "batchNormalization", axis: -2 })).toBeUndefined();
    for (const axis of [0, [1, 1], [], [1, 3], -3])
      expect(at({ type: "layerNormalization", axis })?.path, JSON.stringify(axis)).toEqual([
        "layers",
        0,
        "axis",
      ]);
    expect(at({ type: "layerNormalization", axis: [2, 1] })).toBeUndefined();
  });

  it("epsilon and momentum", () => {
    expect(at({ type: "batchNormalization", epsilon: 0 })?.path).toEqual(["layers", 0, "epsilon"]);
    expect(at({ type: "batchNormalization", momentum: 1.5 })?.path).toEqual(["layers", 0, "momentum"]);
    expect(at({ type: "layerNormalization", epsilon: -1 })?.path).toEqual(["layers", 0, "epsilon"]);
  });

  it("an initialiser's arguments", () => {
    expect(
      at({ type: "batchNormalization", movingVarianceInitializer: { type: "orthogonal" } })?.path,
    ).toEqual(["layers", 0, "movingVarianceInitializer"]);
  });

  it("LN's gamma is shaped as the axes were listed (Keras), its values row-major over the sorted axes", () => {
    const m = new Model({
      inputShape: [2, 3],
      layers: [{ type: "layerNormalization", axis: [2, 1] }],
      loss: "meanSquaredError",
    });
    expect(m.summary().layers[0]!.params).toEqual([
      { key: "layerNormalization_0/gamma", shape: [3, 2] },
      { key: "layerNormalization_0/beta", shape: [3, 2] },
    ]);
  });
});
