/**
 * dense on an input of more than one axis (docs/backprop.md §4.4), as Keras' and tfjs-layers'
 * Dense: the affine map over the last axis, kernel `[F, units]`, output `[..., units]`. Exact
 * gradients (central differences, float64, relative error < 1e-7) of the parameters and the input,
 * bit for bit what timeDistributed(dense) computes, equal to tfjs-layers' Dense on a 3-D and a
 * 4-D input on the same weights, the time-step mask passed on, and the linear-regression solve over
 * the rows.
 */
import { describe, expect, it } from "vitest";
import {
  computeGradients,
  describeModel,
  type Floats,
  initWeights,
  type LayerSpec,
  type ModelSpec,
  maskReceivers,
  type NamedTensors,
  predict,
  train,
} from "../../src/engine/index.js";
import { paramsOf } from "../../src/engine/layers/factory.js";
import { useWasmKernels } from "../../src/engine/matmul.js";
import { Model } from "../../src/engine/model.js";
import { Rng } from "../../src/engine/rng.js";
import { expectGradientsMatch, randomBatch } from "./helpers.js";
import { layerGradientErrors } from "./layer-gradients.js";
import { liveWeights, paddedSamples, tagger } from "./step-data.js";
import { tfjsRecurrentReference } from "./tfjs-recurrent.js";
import { maxRelativeError } from "./tfjs-reference.js";

/** The dense layer built alone on `inputShape`, random weights in [−0.8, 0.8], a random input of 2 samples. */
function layerErrors(inputShape: number[], layer: LayerSpec) {
  const m = new Model({ inputShape, layers: [layer], loss: "meanSquaredError" });
  expect(m.layers).toHaveLength(1);
  const l = m.layers[0]!;
  const rng = new Rng(7);
  for (const p of l.params()) for (let j = 0; j < p.value.length; j++) p.value[j] = rng.uniform(-0.8, 0.8);
  const x = Float64Array.from({ length: 2 * m.inputSize }, () => rng.uniform(-1, 1));
  return layerGradientErrors(l, x, 2, rng);
}

describe("exact derivatives (central differences, float64, relative error < 1e-7)", () => {
  it.each([
    { inputShape: [5, 3], layer: { type: "dense", units: 4 } },
    { inputShape: [5, 3], layer: { type: "dense", units: 2, useBias: false } },
    { inputShape: [2, 3, 4], layer: { type: "dense", units: 3 } },
  ] as { inputShape: number[]; layer: LayerSpec }[])(
    "dense on $inputShape, %#: every parameter and the input, of the layer alone",
    ({ inputShape, layer }) => {
      const e = layerErrors(inputShape, layer);
      expect(e.params).toBeLessThan(1e-7);
      expect(e.input).toBeLessThan(1e-7);
    },
  );

  it("lstm (returnSequences) → dense tanh on [T, units] → flatten → dense: every parameter, in a model", () => {
    const spec: ModelSpec = {
      inputShape: [4, 2],
      layers: [
        { type: "lstm", units: 3, returnSequences: true, recurrentActivation: "sigmoid" },
        { type: "dense", units: 4, activation: "tanh" },
        { type: "flatten" },
        { type: "dense", units: 2 },
      ],
      loss: "meanSquaredError",
    };
    expect(describeModel(spec).layers.map((l) => l.outputShape)).toEqual([[4, 3], [4, 4], [16], [2]]);
    const weights = initWeights(spec, 3);
    for (const [k, t] of Object.entries(weights))
      if (k.endsWith("/bias")) for (let j = 0; j < t.data.length; j++) t.data[j] = Math.sin(3 * j + 1);
    const r = expectGradientsMatch(spec, randomBatch(spec, 3, 2, 5), {
      weights,
      tolerance: 1e-7,
      method: "ridders",
      epsilon: 1e-2,
    });
    for (const t of Object.values(r.gradients)) expect(t.data.some((v) => v !== 0)).toBe(true);
  });
});

describe("the same products as timeDistributed(dense), bit for bit", () => {
  /** `[6, 3]` → dense or timeDistributed(dense) "d" 4 relu → flatten → dense 2: the same weight keys. */
  const pair = (head: "dense" | "timeDistributed"): ModelSpec => {
    const d = { type: "dense", units: 4, activation: "relu" } as const;
    return {
      inputShape: [6, 3],
      layers: [
        head === "dense" ? { ...d, name: "d" } : { type: "timeDistributed", name: "d", layer: d },
        { type: "flatten" },
        { type: "dense", units: 2 },
      ],
      loss: "meanSquaredError",
    };
  };

  it.each(["float64", "float32"] as const)(
    "%s: outputs, gradients and 3 epochs of adam, with WebAssembly on and off",
    (dtype) => {
      const data = randomBatch(pair("dense"), 10, 2, 3);
      const grads = (head: "dense" | "timeDistributed") =>
        computeGradients({ model: pair(head), seed: 2, data, dtype });
      const a = grads("dense");
      const b = grads("timeDistributed");
      expect(Object.keys(a.gradients)).toEqual(Object.keys(b.gradients));
      for (const [k, g] of Object.entries(a.gradients))
        expect([...g.data], k).toEqual([...b.gradients[k]!.data]);
      expect([...a.output.data]).toEqual([...b.output.data]);
      expect(a.loss).toBe(b.loss);
      const run = (head: "dense" | "timeDistributed") =>
        train({
          model: pair(head),
          data,
          optimizer: { type: "adam", learningRate: 0.01 },
          epochs: 3,
          batchSize: 4,
          seed: 6,
          dtype,
        });
      const was = useWasmKernels(false);
      let plain: ReturnType<typeof train>;
      try {
        plain = run("dense");
      } finally {
        useWasmKernels(was);
      }
      const td = run("timeDistributed");
      const dense = run("dense");
      expect(dense.weightsSha256).toBe(td.weightsSha256);
      expect(plain.weightsSha256).toBe(td.weightsSha256);
      expect(dense.history.loss).toEqual(td.history.loss);
      expect(dense.history.loss[2]!).toBeLessThan(dense.history.loss[0]!);
    },
  );

  it("a masked tagger (embedding maskZero → lstm → dense softmax, sparse labels per step): the loss, accuracy and every gradient", () => {
    const n = 9;
    const { x, labels } = paddedSamples(n, 13);
    const run = (head: "dense" | "timeDistributed") => {
      const spec = tagger("sparseCategoricalCrossentropy", "lstm", true, head);
      return train({
        model: spec,
        data: { n, x, y: labels },
        optimizer: { type: "sgd", learningRate: 0.1 },
        epochs: 2,
        batchSize: 4,
        seed: 3,
        initialWeights: liveWeights(spec, 4),
        validationSplit: 0.3,
        metrics: ["precision"],
      });
    };
    const dense = run("dense");
    const td = run("timeDistributed");
    expect(dense.weightsSha256).toBe(td.weightsSha256);
    expect(dense.history).toEqual(td.history);
    expect(dense.metrics).toEqual(td.metrics);
    expect(dense.confusionMatrix).toEqual(td.confusionMatrix);
    // The mask reaches the output through the dense layer: the confusion matrix counts real steps only.
    const spec = tagger("sparseCategoricalCrossentropy", "lstm", true, "dense");
    expect(maskReceivers(spec)).toEqual([1, 2]);
    const realTrain = [...x.subarray(0, 6 * 5)].filter((id) => id !== 0).length;
    expect(dense.confusionMatrix!.train.flat().reduce((a, v) => a + v, 0)).toBe(realTrain);
    expect(realTrain).toBeLessThan(6 * 5);
  });
});

describe("equal to tfjs-layers' Dense on the same weights (cpu, float32; < 1e-4)", () => {
  const cases: { name: string; spec: ModelSpec }[] = [
    {
      name: "[5, 3] → dense 4 tanh → flatten → dense 2",
      spec: {
        inputShape: [5, 3],
        layers: [
          { type: "dense", units: 4, activation: "tanh" },
          { type: "flatten" },
          { type: "dense", units: 2 },
        ],
        loss: "meanSquaredError",
      },
    },
    {
      name: "lstm (returnSequences) → dense 3 without bias → flatten → dense 2",
      spec: {
        inputShape: [4, 2],
        layers: [
          { type: "lstm", units: 3, returnSequences: true },
          { type: "dense", units: 3, useBias: false },
          { type: "flatten" },
          { type: "dense", units: 2 },
        ],
        loss: "meanSquaredError",
      },
    },
    {
      name: "[2, 3, 4] → dense 2 sigmoid → flatten",
      spec: {
        inputShape: [2, 3, 4],
        layers: [{ type: "dense", units: 2, activation: "sigmoid" }, { type: "flatten" }],
        loss: "meanSquaredError",
      },
    },
  ];
  it.each(cases)("$name: output, loss, every gradient and the input's", async ({ spec }) => {
    const m = new Model(spec);
    const batch = randomBatch(spec, 3, m.outputSize, 8);
    const ours = computeGradients({ model: spec, seed: 4, data: batch });
    const ref = await tfjsRecurrentReference(spec, ours.weights, batch.x, batch.y, batch.n);
    expect(Math.abs(ours.loss - ref.loss) / Math.max(Math.abs(ref.loss), 1e-3)).toBeLessThan(1e-4);
    expect(maxRelativeError(ours.output.data, ref.output)).toBeLessThan(1e-4);
    expect(Object.keys(ours.gradients).sort()).toEqual(Object.keys(ref.gradients).sort());
    for (const [key, grad] of Object.entries(ours.gradients))
      expect(maxRelativeError(grad.data, ref.gradients[key]!), key).toBeLessThan(1e-4);
    m.setWeights(ours.weights);
    m.forward(batch.x, batch.n);
    const out = m.layerOutput(m.layers.length - 1);
    const dy = Float64Array.from(out, (v, i) => (2 * (v - batch.y[i]!)) / (batch.n * m.outputSize));
    const dx = m.layers.reduceRight<Floats>((g, l) => l.backward(g, batch.n), dy);
    expect(maxRelativeError(dx, ref.dx)).toBeLessThan(1e-4);
  });
});

describe("shapes, values and the mask", () => {
  it("kernel [F, units] whatever the leading axes; paramsOf agrees", () => {
    const spec: ModelSpec = {
      inputShape: [3, 2, 5],
      layers: [{ type: "dense", name: "d", units: 4 }],
      loss: "meanSquaredError",
    };
    const w = initWeights(spec, 1);
    expect(Object.entries(w).map(([k, t]) => `${k} ${t.shape.join("x")}`)).toEqual([
      "d/kernel 5x4",
      "d/bias 4",
    ]);
    const d = describeModel(spec);
    expect(d.outputShape).toEqual([3, 2, 4]);
    expect(d.paramCount).toBe(5 * 4 + 4);
    expect(paramsOf(spec.layers[0]!, [3, 2, 5])).toBe(5 * 4 + 4);
    // Glorot's fans are the kernel's: in 5, out 4 (Keras' for a Dense on any rank).
    const limit = Math.sqrt(6 / (5 + 4));
    expect(Math.max(...[...w["d/kernel"]!.data].map(Math.abs))).toBeLessThanOrEqual(limit);
  });

  it("hand-computed: each step's row through the same W and b", () => {
    const spec: ModelSpec = {
      inputShape: [2, 2],
      layers: [{ type: "dense", name: "d", units: 1, activation: "relu" }],
      loss: "meanSquaredError",
    };
    const w: NamedTensors = {
      "d/kernel": { shape: [2, 1], data: Float64Array.from([1, -2]) },
      "d/bias": { shape: [1], data: Float64Array.from([0.5]) },
    };
    // Steps (1, 0) → 1.5; (0, 1) → relu(−1.5) = 0; (3, 1) → 1.5; (2, 2) → relu(−1.5) = 0.
    expect([...predict(spec, w, Float64Array.from([1, 0, 0, 1, 3, 1, 2, 2]), 2).data]).toEqual([
      1.5, 0, 1.5, 0,
    ]);
  });

  it("passes a time-step mask on: a later globalAveragePooling1d counts only real steps", () => {
    const m = new Model({
      inputShape: [4],
      layers: [
        { type: "embedding", inputDim: 5, outputDim: 2, maskZero: true },
        { type: "dense", units: 1, kernelInitializer: "ones", useBias: false },
        { type: "globalAveragePooling1d" },
      ],
      loss: "meanSquaredError",
    });
    m.initialise(3);
    const e = m.params()[0]!.value;
    // Ids 3, 0, 0, 4: only steps 0 and 3 count; each step's output is the sum of its embedding.
    const [y] = [...m.forward(Float64Array.from([3, 0, 0, 4]), 1)];
    expect(y).toBeCloseTo((e[6]! + e[7]! + e[8]! + e[9]!) / 2, 15);
    // The mean over all four steps would differ (ids 0 embed to nonzero values).
    expect(y).not.toBeCloseTo((e[6]! + e[7]! + 2 * (e[0]! + e[1]!) + e[8]! + e[9]!) / 4, 6);
  });

  it("normalEquation: a dense on [T, F] is least squares over every step's row", () => {
    // y_t = 2·x_t0 − x_t1 + 0.5 on every step of 6 samples × 3 steps: recovered exactly.
    const rng = new Rng(4);
    const n = 6;
    const x = Float64Array.from({ length: n * 3 * 2 }, () => rng.uniform(-1, 1));
    const y = Float64Array.from({ length: n * 3 }, (_, r) => 2 * x[2 * r]! - x[2 * r + 1]! + 0.5);
    const spec: ModelSpec = {
      inputShape: [3, 2],
      layers: [{ type: "dense", name: "d", units: 1 }],
      loss: "meanSquaredError",
    };
    const r = train({
      model: spec,
      data: { n, x, y },
      optimizer: { type: "normalEquation" },
      epochs: 1,
      seed: 1,
    });
    expect([...r.weights["d/kernel"]!.data].map((v) => Number(v.toFixed(12)))).toEqual([2, -1]);
    expect(r.weights["d/bias"]!.data[0]).toBeCloseTo(0.5, 12);
    expect(r.history.loss[0]).toBeLessThan(1e-25);
    expect(r.solution!.rank).toBe(3);
  });
});
