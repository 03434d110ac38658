/**
 * simpleRNN, lstm and gru trained by back-propagation through time (docs/backprop.md §22):
 * exact gradients (central differences, float64, relative error < 1e-7) for every cell and
 * option, equal to TensorFlow.js' own layers on the same weights, deterministic in float64 and
 * float32, and the per-step gradient norms they report.
 */
import { describe, expect, it } from "vitest";
import {
  computeGradients,
  describeModel,
  type Floats,
  initWeights,
  type LayerSpec,
  type ModelSpec,
  type NamedTensors,
  predict,
  train,
} from "../../src/engine/index.js";
import { buildRecurrent } from "../../src/engine/layers/recurrent-factory.js";
import { useWasmKernels } from "../../src/engine/matmul.js";
import { Model } from "../../src/engine/model.js";
import { Rng } from "../../src/engine/rng.js";
import { expectGradientsMatch, randomBatch } from "./helpers.js";
import { layerGradientErrors } from "./layer-gradients.js";
import { tfjsRecurrentReference } from "./tfjs-recurrent.js";
import { maxRelativeError } from "./tfjs-reference.js";

/** `[5 steps, 3 features]` → the recurrent layer → flatten → dense 2, mean squared error. */
const model = (layer: LayerSpec): ModelSpec => ({
  inputShape: [5, 3],
  layers: [layer, { type: "flatten" }, { type: "dense", units: 2 }],
  loss: "meanSquaredError",
});

/** Every weight times `factor`: larger pre-activations, so gradients are far from rounding noise. */
function scaled(weights: NamedTensors, factor: number): NamedTensors {
  return Object.fromEntries(
    Object.entries(weights).map(([k, t]) => [k, { shape: t.shape, data: t.data.map((v) => v * factor) }]),
  );
}

// sigmoid gates in the exactness checks: hardSigmoid's kinks are checked by one case on their own.
const cases: { name: string; layer: LayerSpec }[] = [
  { name: "simpleRNN", layer: { type: "simpleRNN", units: 4 } },
  { name: "simpleRNN returnSequences", layer: { type: "simpleRNN", units: 4, returnSequences: true } },
  {
    name: "simpleRNN goBackwards, softsign",
    layer: { type: "simpleRNN", units: 4, goBackwards: true, activation: "softsign" },
  },
  { name: "simpleRNN useBias false", layer: { type: "simpleRNN", units: 4, useBias: false } },
  { name: "lstm", layer: { type: "lstm", units: 4, recurrentActivation: "sigmoid" } },
  {
    name: "lstm returnSequences goBackwards",
    layer: {
      type: "lstm",
      units: 4,
      recurrentActivation: "sigmoid",
      returnSequences: true,
      goBackwards: true,
    },
  },
  {
    name: "lstm useBias false",
    layer: { type: "lstm", units: 4, recurrentActivation: "sigmoid", useBias: false },
  },
  {
    name: "lstm unitForgetBias",
    layer: { type: "lstm", units: 4, recurrentActivation: "sigmoid", unitForgetBias: true },
  },
  { name: "lstm hardSigmoid (default)", layer: { type: "lstm", units: 4 } },
  { name: "gru", layer: { type: "gru", units: 4, recurrentActivation: "sigmoid" } },
  {
    name: "gru returnSequences goBackwards",
    layer: {
      type: "gru",
      units: 4,
      recurrentActivation: "sigmoid",
      returnSequences: true,
      goBackwards: true,
    },
  },
  {
    name: "gru useBias false",
    layer: { type: "gru", units: 4, recurrentActivation: "sigmoid", useBias: false },
  },
  {
    name: "gru resetAfter",
    layer: { type: "gru", units: 4, recurrentActivation: "sigmoid", resetAfter: true },
  },
  {
    name: "gru resetAfter returnSequences goBackwards",
    layer: {
      type: "gru",
      units: 4,
      recurrentActivation: "sigmoid",
      resetAfter: true,
      returnSequences: true,
      goBackwards: true,
    },
  },
  {
    name: "gru resetAfter useBias false",
    layer: { type: "gru", units: 4, recurrentActivation: "sigmoid", resetAfter: true, useBias: false },
  },
  { name: "gru hardSigmoid (default)", layer: { type: "gru", units: 4 } },
];

describe("exact derivatives (central differences, float64, relative error < 1e-7)", () => {
  it.each(cases)("$name: every parameter, in a model (expectGradientsMatch)", ({ layer }) => {
    const spec = model(layer);
    const weights = scaled(initWeights(spec, 5), 1.5);
    // A random bias too, so the check sees biases that matter.
    for (const [k, t] of Object.entries(weights))
      if (k.endsWith("/bias")) for (let j = 0; j < t.data.length; j++) t.data[j] = Math.sin(3 * j + 1);
    const batch = randomBatch(spec, 3, 2, 11);
    // Ridders' extrapolation (§10.4): central differences alone cannot resolve gradients near 1e-6 to
    // 1e-7. Extrapolating assumes a smooth loss: softsign's second derivative jumps at 0, so there a
    // single small central step is the right check.
    const check =
      "activation" in layer && layer.activation === "softsign"
        ? ({ method: "central", epsilon: 1e-5 } as const)
        : ({ method: "ridders", epsilon: 1e-2 } as const);
    const r = expectGradientsMatch(spec, batch, { weights, tolerance: 1e-7, ...check });
    for (const t of Object.values(r.gradients)) expect(t.data.some((v) => v !== 0)).toBe(true);
  });

  it.each(cases)("$name: every parameter and the input, of the layer alone", ({ layer }) => {
    const l = buildRecurrent(layer as never, "r", [5, 3], 0);
    const rng = new Rng(5);
    for (const p of l.params()) for (let j = 0; j < p.value.length; j++) p.value[j] = rng.uniform(-0.8, 0.8);
    const x = Float64Array.from({ length: 2 * 15 }, () => rng.uniform(-1, 1));
    const e = layerGradientErrors(l, x, 2, rng);
    expect(e.params).toBeLessThan(1e-7);
    expect(e.input).toBeLessThan(1e-7);
  });

  it("a stacked model (lstm returnSequences → lstm → dense)", () => {
    const spec: ModelSpec = {
      inputShape: [6, 2],
      layers: [
        { type: "lstm", units: 3, returnSequences: true, recurrentActivation: "sigmoid" },
        { type: "lstm", units: 3, recurrentActivation: "sigmoid" },
        { type: "dense", units: 1 },
      ],
      loss: "meanSquaredError",
    };
    expect(describeModel(spec).outputShape).toEqual([1]);
    expectGradientsMatch(spec, randomBatch(spec, 2, 1, 4), {
      weights: scaled(initWeights(spec, 2), 2),
      tolerance: 1e-7,
      method: "ridders",
      epsilon: 1e-2,
    });
  });
});

describe("equal to TensorFlow.js on the same weights (cpu, float32; relative error < 1e-4)", () => {
  const tfCases = [
    ...cases,
    { name: "simpleRNN relu", layer: { type: "simpleRNN", units: 4, activation: "relu" } },
    {
      name: "lstm relu/sigmoid",
      layer: { type: "lstm", units: 3, activation: "relu", recurrentActivation: "sigmoid" },
    },
  ] as { name: string; layer: LayerSpec }[];
  it.each(tfCases)("$name: output, loss, every gradient and the input's", async ({ layer }) => {
    const spec = model(layer);
    const batch = randomBatch(spec, 4, 2, 12);
    const ours = computeGradients({ model: spec, seed: 9, data: batch });
    const ref = await tfjsRecurrentReference(spec, ours.weights, batch.x, batch.y, batch.n);
    expect(Math.abs(ours.loss - ref.loss) / Math.max(Math.abs(ref.loss), 1e-3)).toBeLessThan(1e-4);
    expect(maxRelativeError(ours.output.data, ref.output)).toBeLessThan(1e-4);
    expect(Object.keys(ours.gradients).sort()).toEqual(Object.keys(ref.gradients).sort());
    for (const [key, grad] of Object.entries(ours.gradients))
      expect(maxRelativeError(grad.data, ref.gradients[key]!), key).toBeLessThan(1e-4);
    // The input's gradient: the model's layers run backward by hand, down to the first.
    const m = new Model(spec);
    m.setWeights(ours.weights);
    m.forward(batch.x, batch.n);
    const dx = m.layers.reduceRight<Floats>(
      (dy, l) => l.backward(dy, batch.n),
      lossGrad(m, batch.y, batch.n),
    );
    expect(maxRelativeError(dx, ref.dx)).toBeLessThan(1e-4);
  });
});

/** ∂(mean MSE)/∂output of the last forward: 2(y − t)/(n·k). */
function lossGrad(m: Model, t: Float64Array, n: number): Float64Array {
  const out = m.layerOutput(m.layers.length - 1);
  const k = m.outputSize;
  return Float64Array.from(out, (v, i) => (2 * (v - t[i]!)) / (n * k));
}

describe("per-step gradient norms (stateGradNorms)", () => {
  it("a linear simpleRNN with U = c·I: ‖∂L/∂h_s‖ falls by c per step back", () => {
    const l = buildRecurrent({ type: "simpleRNN", units: 2, activation: "linear" }, "r", [4, 1], 0);
    l.kernel.value.set([1, 1]);
    l.recurrentKernel.value.set([0.5, 0, 0, 0.5]);
    l.stateGradNorms = new Float64Array(4);
    l.forward(Float64Array.from([1, 2, 3, 4, 0, 0, 0, 1]), 2);
    // dy rows (3, 4) and (0, 1): norms 5 and 1, summed over the batch = 6 at the last step.
    l.backward(Float64Array.from([3, 4, 0, 1]), 2);
    expect([...l.stateGradNorms]).toEqual([6 * 0.125, 6 * 0.25, 6 * 0.5, 6]);
  });

  it("returnSequences adds each step's output gradient", () => {
    const l = buildRecurrent(
      { type: "simpleRNN", units: 1, activation: "linear", returnSequences: true },
      "r",
      [3, 1],
      0,
    );
    l.kernel.value.set([1]);
    l.recurrentKernel.value.set([2]);
    l.stateGradNorms = new Float64Array(3);
    l.forward(Float64Array.from([1, 1, 1]), 1);
    // ∂L/∂h_2 = 1; ∂L/∂h_1 = 1 + 2·1 = 3; ∂L/∂h_0 = −1 + 2·3 = 5.
    l.backward(Float64Array.from([-1, 1, 1]), 1);
    expect([...l.stateGradNorms]).toEqual([5, 3, 1]);
  });
});

describe("runs", () => {
  const spec = model({ type: "lstm", units: 8, returnSequences: true });
  const data = randomBatch(spec, 24, 2, 8);
  const run = (dtype: "float32" | "float64") =>
    train({
      model: spec,
      data,
      optimizer: { type: "adam", learningRate: 0.01 },
      epochs: 3,
      batchSize: 8,
      seed: 4,
      dtype,
    });

  it.each(["float64", "float32"] as const)(
    "%s: the same seed gives the same bits, with WebAssembly on or off",
    (dtype) => {
      const a = run(dtype);
      const b = run(dtype);
      const was = useWasmKernels(false);
      let c: ReturnType<typeof train>;
      try {
        c = run(dtype);
      } finally {
        useWasmKernels(was);
      }
      expect(b.weightsSha256).toBe(a.weightsSha256);
      expect(c.weightsSha256).toBe(a.weightsSha256);
      expect(a.history.loss[2]!).toBeLessThan(a.history.loss[0]!);
    },
  );

  it("float32 stays within float32 rounding of float64", () => {
    const w = initWeights(spec, 3);
    const a = predict(spec, w, data.x, data.n, "float64");
    const b = predict(spec, w, data.x, data.n, "float32");
    expect(maxRelativeError(a.data, b.data)).toBeLessThan(1e-5);
  });

  it("tfjs' defaults: glorotNormal kernel, orthogonal recurrent kernel, zero bias (forget bias 1 with unitForgetBias)", () => {
    const w = initWeights(model({ type: "lstm", units: 3, unitForgetBias: true }), 1);
    const u = w["lstm_0/recurrent_kernel"]!;
    expect(u.shape).toEqual([3, 12]);
    // orthogonal [3, 12]: orthonormal rows.
    for (let i = 0; i < 3; i++)
      for (let j = 0; j < 3; j++) {
        let dot = 0;
        for (let k = 0; k < 12; k++) dot += u.data[i * 12 + k]! * u.data[j * 12 + k]!;
        expect(dot).toBeCloseTo(i === j ? 1 : 0, 12);
      }
    expect([...w["lstm_0/bias"]!.data]).toEqual([0, 0, 0, 1, 1, 1, 0, 0, 0, 0, 0, 0]);
    // glorotNormal: a normal truncated at 2σ, σ² = 2/(3 + 12).
    const k = w["lstm_0/kernel"]!.data;
    expect(Math.max(...k.map(Math.abs))).toBeLessThanOrEqual(2 * Math.sqrt(2 / 15));
  });

  it("refuses what it cannot do, naming the field", () => {
    const at = (layer: object) => {
      try {
        new Model(model(layer as LayerSpec));
      } catch (e) {
        return (e as { path: unknown }).path;
      }
      return undefined;
    };
    expect(at({ type: "lstm", units: 2, returnState: true })).toEqual(["layers", 0, "returnState"]);
    expect(at({ type: "gru", units: 2, dropout: 1 })).toEqual(["layers", 0, "dropout"]);
    expect(at({ type: "lstm", units: 2, recurrentDropout: -0.1 })).toEqual(["layers", 0, "recurrentDropout"]);
    expect(at({ type: "gru", units: 2, dropout: 0.2, recurrentDropout: 0.5 })).toBeUndefined();
    expect(at({ type: "simpleRNN", units: 2, activation: "softmax" })).toEqual(["layers", 0, "activation"]);
    expect(
      at({ type: "lstm", units: 2, recurrentInitializer: { type: "randomNormal", stddev: -1 } }),
    ).toEqual(["layers", 0, "recurrentInitializer", "stddev"]);
    expect(
      () => new Model({ inputShape: [4], layers: [{ type: "lstm", units: 2 }], loss: "meanSquaredError" }),
    ).toThrow(/needs a \[timesteps, features\] input, got \[4\]/);
  });
});
