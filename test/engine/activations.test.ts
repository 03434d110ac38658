/**
 * The activations and activation layers of docs/backprop.md §13: hand-computed values, exact
 * derivatives against central differences (float64), and tfjs-layers' own definitions.
 */
import * as tf from "@tensorflow/tfjs";
import { describe, expect, it } from "vitest";
import {
  type ActivationName,
  computeGradients,
  describeModel,
  EngineError,
  initWeights,
  type LayerSpec,
  type ModelSpec,
  type NamedTensors,
  train,
} from "../../src/engine/index.js";
import { Activation, activate } from "../../src/engine/layers/activation.js";
import { EluLayer, LeakyRelu, Prelu } from "../../src/engine/layers/advanced-activations.js";
import { erf, normalCdf } from "../../src/engine/layers/elementwise.js";
import type { Layer } from "../../src/engine/layers/layer.js";
import { Model } from "../../src/engine/model.js";
import { Rng } from "../../src/engine/rng.js";
import { expectGradientsMatch, inputGradientError, randomBatch } from "./helpers.js";
import { tfActivation, tfjsActivationReference, tfjsPreluLayer } from "./tfjs-activations.js";
import { maxRelativeError, tfReady } from "./tfjs-reference.js";

const NEW_ACTIVATIONS: ActivationName[] = [
  "elu",
  "selu",
  "softplus",
  "softsign",
  "relu6",
  "hardSigmoid",
  "swish",
  "mish",
  "gelu",
];

function apply(name: ActivationName, xs: number[]): number[] {
  const y = new Float64Array(xs.length);
  activate(name, Float64Array.from(xs), y, xs.length);
  return [...y];
}

/**
 * Inputs in [−4, 7] kept 1e-3 away from every kink (0, ±2.5, 6). Further out the saturating
 * functions are flat enough that rounding, not the derivative, dominates a finite difference.
 */
function awayFromKinks(n: number, rng: Rng): Float64Array {
  const kinks = [0, 2.5, -2.5, 6];
  return Float64Array.from({ length: n }, () => {
    let v = rng.uniform(-4, 7);
    while (kinks.some((k) => Math.abs(v - k) < 1e-3)) v = rng.uniform(-4, 7);
    return v;
  });
}

describe("activation values (hand-computed)", () => {
  it("each function at a few points", () => {
    const s = 1.0507009873554805;
    const sa = 1.758099340847377;
    expect(apply("elu", [-1, 0, 2])).toEqual([Math.expm1(-1), 0, 2]);
    expect(apply("elu", [-1])[0]).toBeCloseTo(-0.6321205588285577, 15);
    expect(apply("selu", [1, -1])).toEqual([s, sa * Math.expm1(-1)]);
    expect(apply("selu", [-1])[0]).toBeCloseTo(-1.1113307378125625, 14);
    expect(apply("softplus", [0, 800, -800])).toEqual([Math.LN2, 800, 0]);
    expect(apply("softsign", [1, -3, 0])).toEqual([0.5, -0.75, 0]);
    expect(apply("relu6", [-1, 3, 6, 7])).toEqual([0, 3, 6, 6]);
    expect(apply("hardSigmoid", [-3, -2.5, 0, 1, 2.5, 3])).toEqual([0, 0, 0.5, 0.7, 1, 1]);
    expect(apply("swish", [1])[0]).toBeCloseTo(0.7310585786300049, 15);
    expect(apply("mish", [1])[0]).toBeCloseTo(0.8650983882673103, 15);
    // gelu is the exact x·Φ(x) (tfjs-layers' "gelu"), not the tanh approximation ("gelu_new").
    const [g1, gm1, g2] = apply("gelu", [1, -1, 2]);
    expect(g1).toBeCloseTo(0.8413447460685429, 15);
    expect(gm1).toBeCloseTo(-0.15865525393145707, 15);
    expect(g2).toBeCloseTo(1.9544997361036416, 15);
    expect(apply("gelu", [-40])[0]).toBeCloseTo(0, 15);
  });

  it("erf and Φ are accurate in the tails (reference values from a table of erfc)", () => {
    expect(erf(0.5)).toBeCloseTo(0.5204998778130465, 15);
    expect(erf(-3)).toBeCloseTo(-0.9999779095030014, 15);
    expect(normalCdf(-6) / 9.865876450376981e-10).toBeCloseTo(1, 12);
    expect(normalCdf(-10) / 7.61985302416047e-24).toBeCloseTo(1, 10);
    expect(normalCdf(0)).toBe(0.5);
  });

  it("NaN stays NaN", () => {
    for (const a of NEW_ACTIVATIONS) expect(Number.isNaN(apply(a, [Number.NaN])[0]), a).toBe(true);
  });
});

describe("exact derivatives (central differences, float64, relative error < 1e-7)", () => {
  it.each(NEW_ACTIVATIONS)("%s: the input gradient", (name) => {
    const rng = new Rng(5);
    const layer = new Activation("a", [8], name);
    expect(inputGradientError(layer, awayFromKinks(4 * 8, rng), 4, rng)).toBeLessThan(1e-7);
  });

  it("the derivative tfjs takes at the kinks", () => {
    const back = (name: ActivationName, xs: number[]) => {
      const layer = new Activation("a", [xs.length], name);
      layer.forward(Float64Array.from(xs), 1);
      return [...layer.backward(new Float64Array(xs.length).fill(1), 1)];
    };
    expect(back("relu6", [0, 6, 3])).toEqual([0, 0, 1]);
    expect(back("hardSigmoid", [-2.5, 2.5, 3])).toEqual([0.2, 0.2, 0]);
    expect(back("elu", [0])).toEqual([1]);
    expect(back("softsign", [0])).toEqual([1]);
    expect(back("gelu", [0])).toEqual([0.5]);
  });

  it.each(NEW_ACTIVATIONS)("%s: dense parameters through it (expectGradientsMatch)", (activation) => {
    const spec: ModelSpec = {
      inputShape: [4],
      layers: [
        { type: "dense", units: 5, activation },
        { type: "dense", units: 2 },
      ],
      loss: "meanSquaredError",
    };
    // Scaled-up weights spread the pre-activations over several units, across the kinks' sides.
    const weights = scaled(initWeights(spec, 3), 3);
    expectGradientsMatch(spec, randomBatch(spec, 4, 2, 8), { weights, tolerance: 1e-7 });
  });

  const layerCases: { name: string; layer: () => Layer; shape: number[] }[] = [
    { name: "leakyReLU", layer: () => new LeakyRelu("l", [6], 0.3), shape: [6] },
    { name: "elu alpha 0.5", layer: () => new EluLayer("e", [6], 0.5), shape: [6] },
    { name: "prelu", layer: () => withAlpha(new Prelu("p", [2, 3])), shape: [2, 3] },
    { name: "prelu sharedAxes [1]", layer: () => withAlpha(new Prelu("p", [2, 3], [1])), shape: [2, 3] },
  ];
  it.each(layerCases)("$name layer: the input gradient", ({ layer, shape }) => {
    const rng = new Rng(2);
    const size = shape.reduce((a, b) => a * b, 1);
    expect(inputGradientError(layer(), awayFromKinks(3 * size, rng), 3, rng)).toBeLessThan(1e-7);
  });

  const modelCases: { name: string; spec: ModelSpec; alpha?: boolean }[] = [
    { name: "leakyReLU", spec: mlp({ type: "leakyReLU" }) },
    { name: "leakyReLU alpha -0.5", spec: mlp({ type: "leakyReLU", alpha: -0.5 }) },
    { name: "elu", spec: mlp({ type: "elu" }) },
    { name: "elu alpha 2.5", spec: mlp({ type: "elu", alpha: 2.5 }) },
    { name: "prelu", spec: mlp({ type: "prelu" }), alpha: true },
    { name: "softmax", spec: mlp({ type: "softmax" }) },
    {
      name: "softmax with categorical cross-entropy (fused)",
      spec: { ...mlp({ type: "softmax", axis: 1 }, 3), loss: "categoricalCrossentropy" },
    },
    {
      name: "prelu sharedAxes [1, 2] after conv2d",
      spec: {
        inputShape: [4, 4, 2],
        layers: [
          { type: "conv2d", filters: 3, kernelSize: 2 },
          { type: "prelu", sharedAxes: [1, 2] },
          { type: "flatten" },
          { type: "dense", units: 2 },
        ],
        loss: "meanSquaredError",
      },
      alpha: true,
    },
  ];
  it.each(modelCases)("$name: every parameter (expectGradientsMatch)", ({ spec, alpha }) => {
    let weights = scaled(initWeights(spec, 4), 2);
    if (alpha) weights = randomAlphas(weights, 6);
    const out = describeModel(spec).outputSize;
    const result = expectGradientsMatch(spec, randomBatch(spec, 4, out, 9), { weights, tolerance: 1e-7 });
    if (alpha) {
      const key = Object.keys(result.gradients).find((k) => k.endsWith("/alpha"))!;
      expect(result.gradients[key]!.data.some((g) => g !== 0)).toBe(true);
    }
  });
});

describe("activation layers", () => {
  it("prelu's alpha: shape, zeros at first, key <layer>/alpha; shared axes shrink it", () => {
    const spec: ModelSpec = {
      inputShape: [3, 3, 2],
      layers: [{ type: "prelu" }, { type: "prelu", sharedAxes: [1, 2], name: "pc" }, { type: "flatten" }],
      loss: "meanSquaredError",
    };
    const summary = describeModel(spec);
    expect(summary.layers[0]!.params).toEqual([{ key: "prelu_0/alpha", shape: [3, 3, 2] }]);
    expect(summary.layers[1]!.params).toEqual([{ key: "pc/alpha", shape: [1, 1, 2] }]);
    expect(summary.paramCount).toBe(18 + 2);
    const w = initWeights(spec, 7);
    expect([...w["prelu_0/alpha"]!.data]).toEqual(new Array(18).fill(0));
  });

  it("prelu values: x for x > 0, alpha·x otherwise, broadcast along shared axes", () => {
    const p = new Prelu("p", [2, 2], [1]);
    p.alpha.value.set([0.5, -2]);
    expect([...p.forward(Float64Array.from([1, -1, -3, 4]), 1)]).toEqual([1, 2, -1.5, 4]);
    p.alpha.grad.fill(0);
    p.backward(Float64Array.from([1, 1, 1, 1]), 1);
    expect([...p.alpha.grad]).toEqual([-3, -1]);
  });

  it("leakyReLU and elu defaults (0.3 and 1), softmax over the last axis", () => {
    const m = new Model({
      inputShape: [3],
      layers: [{ type: "leakyReLU" }, { type: "elu" }, { type: "softmax" }],
      loss: "meanSquaredError",
    });
    const x = Float64Array.from([-2, 0.5, 1]);
    const leaky = [-0.6, 0.5, 1];
    const elu = leaky.map((v) => (v > 0 ? v : Math.expm1(v)));
    const e = elu.map(Math.exp);
    const sum = e.reduce((a, b) => a + b, 0);
    const out = [...m.forward(x, 1)];
    for (let i = 0; i < 3; i++) expect(out[i]).toBeCloseTo(e[i]! / sum, 15);
  });

  it("bad values are errors naming the field", () => {
    const build =
      (layer: LayerSpec, inputShape = [2, 3]) =>
      () =>
        new Model({ inputShape, layers: [layer, { type: "flatten" }], loss: "meanSquaredError" });
    expect(build({ type: "softmax", axis: 1 })).toThrow(/only the last axis: axis -1 or 2/);
    expect(build({ type: "prelu", sharedAxes: [3] })).toThrow(/integers in \[1, 2\]/);
    expect(build({ type: "prelu", sharedAxes: 0 })).toThrow(EngineError);
    expect(build({ type: "leakyReLU", alpha: Number.NaN })).toThrow(/alpha/);
    try {
      build({ type: "softmax", axis: 0 })();
    } catch (e) {
      expect((e as EngineError).path).toEqual(["layers", 0, "axis"]);
    }
    expect(build({ type: "softmax", axis: 2 })).not.toThrow();
  });
});

describe("training with them", () => {
  const spec: ModelSpec = {
    inputShape: [4],
    layers: [
      { type: "dense", units: 5, activation: "gelu" },
      { type: "prelu", sharedAxes: 1 },
      { type: "dense", units: 4, activation: "mish" },
      { type: "leakyReLU" },
      { type: "dense", units: 3 },
      { type: "elu", alpha: 0.7 },
      { type: "softmax" },
    ],
    loss: "categoricalCrossentropy",
  };
  const data = randomBatch(spec, 24, 3, 31);
  const base = {
    model: spec,
    data,
    optimizer: { type: "adam", learningRate: 0.02 } as const,
    batchSize: 5,
    seed: 4,
  };

  it("resumes exactly: 3 epochs then 3 more equal 6 at once (alpha in the optimiser state)", () => {
    const whole = train({ ...base, epochs: 6 });
    const first = train({ ...base, epochs: 3, returnOptimizerState: true });
    expect(Object.keys(first.optimizerState!.m!)).toContain("prelu_1/alpha");
    const rest = train({
      ...base,
      epochs: 3,
      initialWeights: first.weights,
      optimizerState: first.optimizerState!,
    });
    expect(rest.weightsSha256).toBe(whole.weightsSha256);
    expect(whole.weights["prelu_1/alpha"]!.shape).toEqual([1]);
    expect(whole.weights["prelu_1/alpha"]!.data[0]).not.toBe(0);
    expect(whole.history.loss[5]).toBeLessThan(whole.history.loss[0]!);
  });

  it("telemetry reports alpha's gradient norm and update ratio like a kernel's", () => {
    const run = train({ ...base, epochs: 2, telemetry: true });
    expect(run.telemetry!.gradientNorm["prelu_1/alpha"]).toHaveLength(2);
    expect(run.telemetry!.gradientNorm["prelu_1/alpha"]![0]).toBeGreaterThan(0);
    // Zeros at first: no ratio for the first epoch, a number for the second.
    expect(run.telemetry!.updateRatio["prelu_1/alpha"]).toEqual([null, expect.any(Number)]);
  });
});

describe("equal TensorFlow.js (tfjs-layers' definitions, cpu, float32; relative error < 1e-4)", () => {
  const cases: { name: string; spec: ModelSpec; alpha?: boolean }[] = [
    ...NEW_ACTIVATIONS.map((activation) => ({
      name: `dense ${activation}`,
      spec: {
        inputShape: [4],
        layers: [
          { type: "dense", units: 5, activation },
          { type: "dense", units: 2 },
        ] as LayerSpec[],
        loss: "meanSquaredError" as const,
      },
    })),
    ...NEW_ACTIVATIONS.map((activation) => ({
      name: `activation layer ${activation}`,
      spec: mlp({ type: "activation", activation }),
    })),
    { name: "leakyReLU", spec: mlp({ type: "leakyReLU" }) },
    { name: "leakyReLU alpha 0.1", spec: mlp({ type: "leakyReLU", alpha: 0.1 }) },
    { name: "elu", spec: mlp({ type: "elu" }) },
    { name: "prelu", spec: mlp({ type: "prelu" }), alpha: true },
    { name: "softmax", spec: mlp({ type: "softmax" }) },
    {
      name: "softmax layer, categorical cross-entropy",
      spec: { ...mlp({ type: "softmax" }, 3), loss: "categoricalCrossentropy" },
    },
  ];
  it.each(cases)("$name: output, loss, gradients", async ({ spec, alpha }) => {
    let weights = scaled(initWeights(spec, 11), 2.5);
    if (alpha) weights = randomAlphas(weights, 3);
    const batch = randomBatch(spec, 5, describeModel(spec).outputSize, 13);
    const ours = computeGradients({ model: spec, seed: 1, data: batch, weights });
    const ref = await tfjsActivationReference(spec, weights, batch.x, batch.y, batch.n);
    expect(Math.abs(ours.loss - ref.loss) / Math.max(Math.abs(ref.loss), 1e-3)).toBeLessThan(1e-4);
    expect(maxRelativeError(ours.output.data, ref.output)).toBeLessThan(1e-4);
    for (const key of Object.keys(weights))
      expect(maxRelativeError(ours.gradients[key]!.data, ref.gradients[key]!), key).toBeLessThan(1e-4);
  });

  it.each(NEW_ACTIVATIONS)("%s over [-12, 12] element by element", async (name) => {
    await tfReady();
    const xs = Float64Array.from({ length: 97 }, (_, i) => -12 + i * 0.25 + 0.01);
    const ref = tf.tidy(() => tfActivation(tf.tensor1d(Float32Array.from(xs)), name).dataSync());
    const y = new Float64Array(xs.length);
    activate(name, xs, y, xs.length);
    // float32, and tfjs' erf is Abramowitz & Stegun 7.1.26 (absolute error ≤ 1.5e-7).
    for (let i = 0; i < xs.length; i++)
      expect(Math.abs(y[i]! - ref[i]!), `x = ${xs[i]}`).toBeLessThan(1e-6 * Math.max(1, Math.abs(y[i]!)));
  });

  it.each([
    { type: "sgd", learningRate: 0.1 },
    { type: "sgd", learningRate: 0.1, momentum: 0.9 },
    { type: "adam", learningRate: 0.01 },
  ] as const)(
    "one $type step (momentum $momentum) moves alpha and the kernels as tfjs' optimiser",
    async (optimizer) => {
      await tfReady();
      const spec = mlp({ type: "prelu" });
      const weights = randomAlphas(scaled(initWeights(spec, 5), 2), 8);
      const batch = randomBatch(spec, 6, 2, 21);
      const ours = train({
        model: spec,
        data: batch,
        optimizer,
        epochs: 1,
        batchSize: batch.n,
        shuffle: false,
        seed: 1,
        initialWeights: weights,
      });
      const ref = await tfjsActivationReference(spec, weights, batch.x, batch.y, batch.n);
      const opt =
        optimizer.type === "adam"
          ? tf.train.adam(optimizer.learningRate, 0.9, 0.999, 1e-7)
          : tf.train.momentum(
              optimizer.learningRate,
              ("momentum" in optimizer ? optimizer.momentum : 0) ?? 0,
            );
      const keys = Object.keys(weights);
      const vars = keys.map((k) =>
        tf.variable(
          tf.tensor(Float32Array.from(weights[k]!.data), weights[k]!.shape),
          true,
          `${optimizer.type}${stepCount}/${k}`,
        ),
      );
      stepCount++;
      opt.applyGradients(
        vars.map((v, i) => ({
          name: v.name,
          tensor: tf.tensor(ref.gradients[keys[i]!]!, weights[keys[i]!]!.shape),
        })),
      );
      keys.forEach((k, i) => {
        expect(maxRelativeError(ours.weights[k]!.data, vars[i]!.dataSync()), k).toBeLessThan(1e-4);
      });
      expect(ours.weights["prelu_1/alpha"]!.data).not.toEqual(weights["prelu_1/alpha"]!.data);
      for (const v of vars) v.dispose();
    },
  );

  it("prelu: tfjs' layer has the same alpha shape and weight name, and the same output", async () => {
    await tfReady();
    const layer = tf.layers.prelu({ sharedAxes: [1, 2] });
    layer.build([null, 2, 3, 2] as unknown as number[]);
    expect(layer.weights[0]!.shape).toEqual([1, 1, 2]);
    expect(layer.weights[0]!.originalName).toBe("alpha");
    expect([...(layer.weights[0]!.read().dataSync() as Float32Array)]).toEqual([0, 0]);
    const rng = new Rng(4);
    for (const sharedAxes of [undefined, [1, 2], [3]]) {
      const ours = new Prelu("p", [2, 3, 2], sharedAxes);
      for (let i = 0; i < ours.alpha.value.length; i++) ours.alpha.value[i] = rng.uniform(-1, 1);
      const x = Float64Array.from({ length: 2 * 12 }, () => rng.uniform(-1, 1));
      const y = Float64Array.from(ours.forward(x, 2));
      const ref = await tfjsPreluLayer(
        x,
        [2, 3, 2],
        2,
        { shape: ours.alpha.shape, data: ours.alpha.value as Float64Array },
        sharedAxes,
      );
      expect(maxRelativeError(y, ref)).toBeLessThan(1e-6);
    }
  });
});

let stepCount = 0;

/** dense(4 → 5) → `layer` → dense(5 → out), optionally a softmax output for cross-entropy. */
function mlp(layer: LayerSpec, out = 2): ModelSpec {
  const tail: LayerSpec[] = layer.type === "softmax" ? [] : [{ type: "dense", units: out }];
  return {
    inputShape: [4],
    layers: [{ type: "dense", units: layer.type === "softmax" ? out : 5 }, layer, ...tail],
    loss: "meanSquaredError",
  };
}

function scaled(weights: NamedTensors, factor: number): NamedTensors {
  return Object.fromEntries(
    Object.entries(weights).map(([k, t]) => [k, { shape: t.shape, data: t.data.map((v) => v * factor) }]),
  );
}

/** Replaces every `…/alpha` (zeros at first) by seeded values in [−1, 1). */
function randomAlphas(weights: NamedTensors, seed: number): NamedTensors {
  const rng = new Rng(seed);
  return Object.fromEntries(
    Object.entries(weights).map(([k, t]) => [
      k,
      k.endsWith("/alpha") ? { shape: t.shape, data: t.data.map(() => rng.uniform(-1, 1)) } : t,
    ]),
  );
}

function withAlpha(p: Prelu): Prelu {
  const rng = new Rng(1);
  for (let i = 0; i < p.alpha.value.length; i++) p.alpha.value[i] = rng.uniform(-1, 1);
  return p;
}
