/**
 * float32 runs (docs/precision.md): deterministic, independent of the WebAssembly switch, close to
 * TensorFlow.js (which computes in float32 too) and to the float64 run of the same options; float64
 * runs unchanged; the batch loop's accuracy and metrics read the float64 targets, as the final pass does.
 */
import * as tf from "@tensorflow/tfjs";
import { describe, expect, it } from "vitest";
import {
  computeGradients,
  initWeights,
  type ModelSpec,
  type NamedTensors,
  predict,
  type TrainOptions,
  train,
  weightsSha256,
} from "../../src/engine/index.js";
import { useWasmKernels } from "../../src/engine/matmul.js";
import { Rng } from "../../src/engine/rng.js";
import { useFusedDense } from "../../src/engine/training/dense-net.js";
import { RunState } from "../../src/engine/training/run-state.js";
import { tensor } from "./fused-dense-helpers.js";
import { randomBatch } from "./helpers.js";
import { maxRelativeError, tfjsSteps } from "./tfjs-reference.js";

const mlp: ModelSpec = {
  inputShape: [40],
  layers: [
    { type: "dense", units: 64, activation: "relu" },
    { type: "dense", units: 10, activation: "softmax" },
  ],
  loss: "sparseCategoricalCrossentropy",
};

const cnn: ModelSpec = {
  inputShape: [10, 10, 2],
  layers: [
    { type: "conv2d", filters: 4, kernelSize: 3, activation: "relu" },
    { type: "maxPooling2d", poolSize: 2 },
    { type: "flatten" },
    { type: "dense", units: 3, activation: "softmax" },
  ],
  loss: "categoricalCrossentropy",
};

const mlpBatch = randomBatch(mlp, 64, 10, 3);
const cnnBatch = randomBatch(cnn, 12, 3, 4);

const float32Run = (spec: ModelSpec, data: typeof mlpBatch) =>
  train({
    model: spec,
    data,
    optimizer: { type: "adam", learningRate: 0.01 },
    epochs: 3,
    batchSize: 32,
    seed: 9,
    dtype: "float32",
    telemetry: true,
    returnOptimizerState: true,
  });

describe("a float32 run", () => {
  it.each([
    ["dense", mlp, mlpBatch],
    ["conv", cnn, cnnBatch],
  ] as const)("%s: is bit-identical across runs and with WebAssembly on or off", (_, spec, data) => {
    const a = float32Run(spec, data);
    const b = float32Run(spec, data);
    const was = useWasmKernels(false);
    let c: ReturnType<typeof train>;
    try {
      c = float32Run(spec, data);
    } finally {
      useWasmKernels(was);
    }
    expect(a.engineVersion).toBe("0.3.0+float32");
    expect(b.weightsSha256).toBe(a.weightsSha256);
    expect(c.weightsSha256).toBe(a.weightsSha256);
    expect(c.history.loss).toEqual(a.history.loss);
    for (const [key, t] of Object.entries(a.weights)) {
      expect(t.data, key).toBeInstanceOf(Float32Array);
      expect(a.gradients![key]!.data, key).toBeInstanceOf(Float32Array);
      expect(a.optimizerState!.m![key]!.data, key).toBeInstanceOf(Float32Array);
    }
  });

  it("hashes its weights as float32 bytes", () => {
    const r = float32Run(mlp, mlpBatch);
    expect(r.weightsSha256).toBe(weightsSha256(r.weights));
    const as64: NamedTensors = Object.fromEntries(
      Object.entries(r.weights).map(([k, t]) => [k, { shape: t.shape, data: Float64Array.from(t.data) }]),
    );
    expect(weightsSha256(as64)).not.toBe(r.weightsSha256);
  });

  it("rounds float64 initial weights to float32 once: the same run as from their float32 values", () => {
    const start = initWeights(mlp, 5);
    const rounded: NamedTensors = Object.fromEntries(
      Object.entries(start).map(([k, t]) => [k, { shape: t.shape, data: Float32Array.from(t.data) }]),
    );
    const opts = {
      model: mlp,
      data: mlpBatch,
      optimizer: { type: "sgd" as const, learningRate: 0.1 },
      epochs: 1,
      seed: 1,
    };
    const a = train({ ...opts, dtype: "float32", initialWeights: start });
    const b = train({ ...opts, dtype: "float32", initialWeights: rounded });
    expect(a.weightsSha256).toBe(b.weightsSha256);
  });

  it("refuses an initial weight beyond float32's range, naming it", () => {
    const start = initWeights(mlp, 5);
    start["dense_1/bias"]!.data[0] = 1e39;
    expect(() =>
      train({
        model: mlp,
        data: mlpBatch,
        optimizer: { type: "sgd", learningRate: 0.1 },
        epochs: 1,
        seed: 1,
        dtype: "float32",
        initialWeights: start,
      }),
    ).toThrow(/dense_1\/bias.*float32/);
  });
});

describe("a float64 run", () => {
  it("has the weights it had before float32 existed (digest pinned from engine 0.2.0)", () => {
    const rng = new Rng(11);
    const n = 96;
    const x = Float64Array.from({ length: n * 6 }, () => rng.uniform(-1, 1));
    const y = Float64Array.from({ length: n }, (_, i) => (x[i * 6]! - x[i * 6 + 2]! > 0 ? 1 : 0));
    const r = train({
      model: {
        inputShape: [6],
        layers: [
          { type: "dense", units: 16, activation: "tanh" },
          { type: "dense", units: 2, activation: "softmax" },
        ],
        loss: "sparseCategoricalCrossentropy",
      },
      data: { n, x, y },
      optimizer: { type: "adam", learningRate: 0.01 },
      epochs: 4,
      batchSize: 16,
      seed: 5,
    });
    expect(r.engineVersion).toBe("0.3.0");
    expect(r.weightsSha256).toBe("158158c1415b5162b59b18c9bb11934892c105ca83d0c309a166ced2f76097fc");
  });
});

describe("float32 against TensorFlow.js (cpu backend, float32): 5 full-batch SGD steps", () => {
  it.each([
    ["dense", mlp, randomBatch(mlp, 16, 10, 7), 0.5],
    ["conv", cnn, cnnBatch, 0.5],
  ] as const)("%s: losses and weights agree to float32 precision", async (_, spec, data, lr) => {
    const start = initWeights(spec, 2);
    const opts = {
      model: spec,
      data,
      optimizer: { type: "sgd" as const, learningRate: lr },
      epochs: 5,
      batchSize: data.n,
      shuffle: false,
      seed: 0,
      initialWeights: start,
    };
    const ours32 = train({ ...opts, dtype: "float32" });
    const ref = await tfjsSteps(spec, start, data, tf.train.sgd(lr), 5);
    // 1e-5: ten times tighter than the float64 run's tolerance against tfjs (train.test.ts, 1e-4).
    expect(maxRelativeError(ours32.history.loss, ref.losses, 1e-3)).toBeLessThan(1e-5);
    for (const key of Object.keys(start)) {
      const e32 = maxRelativeError(ours32.weights[key]!.data, ref.weights[key]!, 1e-2);
      expect(e32, key).toBeLessThan(1e-5);
      // and the weights did move
      expect(maxRelativeError(ours32.weights[key]!.data, start[key]!.data)).toBeGreaterThan(1e-3);
    }
  });
});

describe("float32 against float64: the same run (docs/precision.md §6)", () => {
  it.each([
    ["dense", mlp, mlpBatch],
    ["conv", cnn, cnnBatch],
  ] as const)("%s: losses within 1e-5 relative, weights within 1e-5", (_, spec, data) => {
    const opts = {
      model: spec,
      data,
      optimizer: { type: "sgd" as const, learningRate: 0.1 },
      epochs: 3,
      seed: 4,
    };
    const a = train({ ...opts, dtype: "float32" });
    const b = train(opts);
    expect(maxRelativeError(a.history.loss, b.history.loss, 1e-3)).toBeLessThan(1e-5);
    expect(a.weightsSha256).not.toBe(b.weightsSha256);
    for (const key of Object.keys(b.weights)) {
      const x = a.weights[key]!.data;
      const y = b.weights[key]!.data;
      let worst = 0;
      for (let i = 0; i < y.length; i++) worst = Math.max(worst, Math.abs(x[i]! - y[i]!));
      expect(worst, key).toBeLessThan(1e-5);
      expect(worst, key).toBeGreaterThan(0);
    }
  });
});

describe("inspection in float32", () => {
  it("/gradients' engine call: float32 gradients, a float64 numerical check on the float32 weights", () => {
    const batch = randomBatch(mlp, 2, 10, 8);
    const g32 = computeGradients({ model: mlp, seed: 3, data: batch, dtype: "float32", numericalCheck: {} });
    const g64 = computeGradients({ model: mlp, seed: 3, data: batch, numericalCheck: {} });
    for (const [key, t] of Object.entries(g32.gradients)) {
      expect(t.data, key).toBeInstanceOf(Float32Array);
      expect(maxRelativeError(t.data, g64.gradients[key]!.data, 1e-3), key).toBeLessThan(1e-4);
    }
    // Finite differences taken in float32 would mostly measure rounding (a step of 1e-5 is below float32's
    // resolution); in float64 the check sees only the float32 rounding of the analytic gradients.
    expect(g32.numerical!.maxRelError).toBeLessThan(1e-4);
    expect(g64.numerical!.maxRelError).toBeLessThan(1e-4);
  });

  it("predict runs in the dtype asked for", () => {
    const w = initWeights(mlp, 1);
    const out32 = predict(mlp, w, mlpBatch.x, mlpBatch.n, "float32");
    const out64 = predict(mlp, w, mlpBatch.x, mlpBatch.n);
    expect(maxRelativeError(out32.data, out64.data, 1e-3)).toBeLessThan(1e-5);
    expect(Array.from(out32.data).every((v) => Math.fround(v) === v)).toBe(true);
    expect(Array.from(out64.data).every((v) => Math.fround(v) === v)).toBe(false);
  });
});

describe("float32: accuracy and metrics read the targets as sent", () => {
  it("an epoch whose batch is gathered (shuffled) scores as one read in place: the float64 targets", () => {
    // 1 → 1 identity (kernel 1, bias 0, learning rate 0): the outputs are the inputs rounded to float32.
    const x = [0.1, 0.3];
    const t = [0.2, 0.7];
    const opts: TrainOptions = {
      model: { inputShape: [1], layers: [{ type: "dense", units: 1 }], loss: "meanSquaredError" },
      data: { n: 2, x: Float64Array.from(x), y: Float64Array.from(t) },
      optimizer: { type: "sgd", learningRate: 0 },
      epochs: 6,
      batchSize: 2,
      seed: 5,
      dtype: "float32",
      metrics: ["meanAbsoluteError"],
      initialWeights: { "dense_0/kernel": tensor([1, 1], [1]), "dense_0/bias": tensor([1], [0]) },
    };
    // The premise: some epochs take the samples in order [1, 0] (gathered), some in order [0, 1] (in place).
    const state = new RunState(5, 2);
    const firsts = Array.from({ length: 6 }, () => {
      state.shuffle();
      return state.order[0];
    });
    expect(firsts).toContain(0);
    expect(firsts).toContain(1);
    // Two errors add up the same either way round.
    const mae = (Math.abs(Math.fround(x[0]!) - t[0]!) + Math.abs(Math.fround(x[1]!) - t[1]!)) / 2;
    const rounded =
      (Math.abs(Math.fround(x[0]!) - Math.fround(t[0]!)) +
        Math.abs(Math.fround(x[1]!) - Math.fround(t[1]!))) /
      2;
    expect(rounded).not.toBe(mae);
    // The fused dense path and the model's layers alike.
    for (const fused of [true, false]) {
      const was = useFusedDense(fused);
      try {
        const r = train(opts);
        expect(r.history.meanAbsoluteError).toEqual(Array(6).fill(mae));
        expect(r.metrics.meanAbsoluteError).toBe(mae);
      } finally {
        useFusedDense(was);
      }
    }
  });
});
