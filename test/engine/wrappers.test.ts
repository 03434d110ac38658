/**
 * bidirectional and timeDistributed (docs/backprop.md §23): exact gradients (central differences,
 * float64, relative error < 1e-7) for every merge mode with and without returnSequences, equal to
 * TensorFlow.js' own wrappers on the same weights, tfjs' weight names, hand-computed values, and
 * refusals naming the wrapped layer's field.
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
import { paramsOf } from "../../src/engine/layers/factory.js";
import { useWasmKernels } from "../../src/engine/matmul.js";
import { Model } from "../../src/engine/model.js";
import { Rng } from "../../src/engine/rng.js";
import { expectGradientsMatch, randomBatch } from "./helpers.js";
import { layerGradientErrors } from "./layer-gradients.js";
import { tfjsRecurrentReference } from "./tfjs-recurrent.js";
import { maxRelativeError } from "./tfjs-reference.js";

/** `[5 steps, 3 features]` → the layer → flatten → dense 2, mean squared error. */
const model = (layer: LayerSpec): ModelSpec => ({
  inputShape: [5, 3],
  layers: [layer, { type: "flatten" }, { type: "dense", units: 2 }],
  loss: "meanSquaredError",
});

const MODES = ["concat", "sum", "mul", "ave"] as const;

// sigmoid gates: hardSigmoid's kinks would spoil central differences (recurrent.test.ts checks them).
const bidiCases = MODES.flatMap((mergeMode) =>
  (["lstm", "gru"] as const).flatMap((type) =>
    [false, true].map((returnSequences) => ({
      name: `${type} ${mergeMode}${returnSequences ? " returnSequences" : ""}`,
      layer: {
        type: "bidirectional",
        mergeMode,
        layer: { type, units: 3, recurrentActivation: "sigmoid", returnSequences },
      } as LayerSpec,
    })),
  ),
);

const tdCases: { name: string; layer: LayerSpec }[] = [
  { name: "timeDistributed dense", layer: { type: "timeDistributed", layer: { type: "dense", units: 4 } } },
  {
    name: "timeDistributed dense tanh, no bias",
    layer: {
      type: "timeDistributed",
      layer: { type: "dense", units: 4, activation: "tanh", useBias: false },
    },
  },
];

/** The model's layers built alone, random weights in [−0.8, 0.8], a random input `[2, 5, 3]`. */
function layerErrors(layer: LayerSpec) {
  const m = new Model({ inputShape: [5, 3], layers: [layer], loss: "meanSquaredError" });
  expect(m.layers).toHaveLength(1);
  const l = m.layers[0]!;
  const rng = new Rng(5);
  for (const p of l.params()) for (let j = 0; j < p.value.length; j++) p.value[j] = rng.uniform(-0.8, 0.8);
  const x = Float64Array.from({ length: 2 * 15 }, () => rng.uniform(-1, 1));
  return layerGradientErrors(l, x, 2, rng);
}

describe("exact derivatives (central differences, float64, relative error < 1e-7)", () => {
  it.each(bidiCases)(
    "bidirectional $name: every parameter and the input, of the layer alone",
    ({ layer }) => {
      const e = layerErrors(layer);
      expect(e.params).toBeLessThan(1e-7);
      expect(e.input).toBeLessThan(1e-7);
    },
  );

  it.each([
    { type: "timeDistributed", layer: { type: "dense", units: 4 } },
    { type: "timeDistributed", layer: { type: "dense", units: 2, useBias: false } },
  ] as LayerSpec[])("timeDistributed %#: every parameter and the input, of the layer alone", (layer) => {
    const e = layerErrors(layer);
    expect(e.params).toBeLessThan(1e-7);
    expect(e.input).toBeLessThan(1e-7);
  });

  it.each([
    ...bidiCases.filter((c) => c.name.includes("returnSequences")),
    { name: "simpleRNN goBackwards ave", layer: bidi("simpleRNN", "ave", { goBackwards: true }) },
    ...tdCases,
  ])("$name: every parameter, in a model (expectGradientsMatch)", ({ layer }) => {
    const spec = model(layer);
    const weights = initWeights(spec, 5);
    for (const [k, t] of Object.entries(weights))
      if (k.endsWith("/bias")) for (let j = 0; j < t.data.length; j++) t.data[j] = Math.sin(3 * j + 1);
    const r = expectGradientsMatch(spec, randomBatch(spec, 3, 2, 11), {
      weights,
      tolerance: 1e-7,
      method: "ridders",
      epsilon: 1e-2,
    });
    for (const t of Object.values(r.gradients)) expect(t.data.some((v) => v !== 0)).toBe(true);
  });

  it("a sequence tagger: bidirectional lstm (returnSequences) → timeDistributed dense softmax", () => {
    const spec: ModelSpec = {
      inputShape: [4, 2],
      layers: [
        bidi("lstm", "concat", { returnSequences: true }),
        { type: "timeDistributed", layer: { type: "dense", units: 3, activation: "softmax" } },
      ],
      loss: "meanSquaredError",
    };
    expect(describeModel(spec).outputShape).toEqual([4, 3]);
    // Weights doubled: larger pre-activations, so gradients are far from rounding noise.
    const weights = initWeights(spec, 2);
    for (const t of Object.values(weights)) for (let j = 0; j < t.data.length; j++) t.data[j]! *= 2;
    expectGradientsMatch(spec, randomBatch(spec, 2, 12, 4), {
      weights,
      tolerance: 1e-7,
      method: "ridders",
      epsilon: 1e-2,
    });
  });
});

function bidi(type: "simpleRNN" | "lstm" | "gru", mergeMode: string, extra: object = {}): LayerSpec {
  return {
    type: "bidirectional",
    mergeMode,
    layer: { type, units: 3, ...(type === "simpleRNN" ? {} : { recurrentActivation: "sigmoid" }), ...extra },
  } as LayerSpec;
}

describe("equal to TensorFlow.js' bidirectional and timeDistributed on the same weights (cpu, float32; < 1e-4)", () => {
  const cases: { name: string; layer: LayerSpec }[] = [
    {
      name: "bidirectional lstm concat (default)",
      layer: { type: "bidirectional", layer: { type: "lstm", units: 3 } },
    },
    { name: "bidirectional lstm sum returnSequences", layer: bidi("lstm", "sum", { returnSequences: true }) },
    { name: "bidirectional gru mul returnSequences", layer: bidi("gru", "mul", { returnSequences: true }) },
    { name: "bidirectional gru ave", layer: bidi("gru", "ave") },
    {
      name: "bidirectional simpleRNN concat returnSequences goBackwards, named",
      layer: bidi("simpleRNN", "concat", { returnSequences: true, goBackwards: true, name: "enc" }),
    },
    ...tdCases,
  ];
  it.each(cases)("$name: output, loss, every gradient and the input's", async ({ layer }) => {
    const spec = model(layer);
    const batch = randomBatch(spec, 4, 2, 12);
    const ours = computeGradients({ model: spec, seed: 9, data: batch });
    const ref = await tfjsRecurrentReference(spec, ours.weights, batch.x, batch.y, batch.n);
    expect(Math.abs(ours.loss - ref.loss) / Math.max(Math.abs(ref.loss), 1e-3)).toBeLessThan(1e-4);
    expect(maxRelativeError(ours.output.data, ref.output)).toBeLessThan(1e-4);
    expect(Object.keys(ours.gradients).sort()).toEqual(Object.keys(ref.gradients).sort());
    for (const [key, grad] of Object.entries(ours.gradients))
      expect(maxRelativeError(grad.data, ref.gradients[key]!), key).toBeLessThan(1e-4);
    const m = new Model(spec);
    m.setWeights(ours.weights);
    m.forward(batch.x, batch.n);
    const out = m.layerOutput(m.layers.length - 1);
    const dy = Float64Array.from(out, (v, i) => (2 * (v - batch.y[i]!)) / (batch.n * m.outputSize));
    const dx = m.layers.reduceRight<Floats>((g, l) => l.backward(g, batch.n), dy);
    expect(maxRelativeError(dx, ref.dx)).toBeLessThan(1e-4);
  });
});

describe("weights and values", () => {
  it("tfjs-layers' names: <bi>/forward_<inner>/…, then <bi>/backward_<inner>/…; <td>/kernel, <td>/bias", () => {
    const spec: ModelSpec = {
      inputShape: [3, 2],
      layers: [
        {
          type: "bidirectional",
          name: "bi",
          layer: { type: "gru", units: 2, name: "g", returnSequences: true },
        },
        { type: "timeDistributed", name: "td", layer: { type: "dense", units: 5, name: "ignored" } },
        { type: "bidirectional", layer: { type: "simpleRNN", units: 1, useBias: false }, mergeMode: "sum" },
      ],
      loss: "meanSquaredError",
    };
    const w = initWeights(spec, 1);
    expect(Object.entries(w).map(([k, t]) => `${k} ${t.shape.join("x")}`)).toEqual([
      "bi/forward_g/kernel 2x6",
      "bi/forward_g/recurrent_kernel 2x6",
      "bi/forward_g/bias 6",
      "bi/backward_g/kernel 2x6",
      "bi/backward_g/recurrent_kernel 2x6",
      "bi/backward_g/bias 6",
      "td/kernel 4x5",
      "td/bias 5",
      "bidirectional_2/forward_simpleRNN/kernel 5x1",
      "bidirectional_2/forward_simpleRNN/recurrent_kernel 1x1",
      "bidirectional_2/backward_simpleRNN/kernel 5x1",
      "bidirectional_2/backward_simpleRNN/recurrent_kernel 1x1",
    ]);
    const d = describeModel(spec);
    expect(d.outputShape).toEqual([1]);
    expect(d.paramCount).toBe(2 * (2 * 6 + 2 * 6 + 6) + (4 * 5 + 5) + 2 * (5 + 1));
    // paramsOf (what limits are checked with before building) agrees, layer by layer.
    expect(paramsOf(spec.layers[0]!, [3, 2])).toBe(2 * (2 * 6 + 2 * 6 + 6));
    expect(paramsOf(spec.layers[1]!, [3, 4])).toBe(4 * 5 + 5);
    expect(paramsOf(spec.layers[2]!, [3, 5])).toBe(2 * (5 + 1));
    // The two copies start from different draws of the same initialisers.
    expect(w["bi/forward_g/kernel"]!.data).not.toEqual(w["bi/backward_g/kernel"]!.data);
  });

  it("hand-computed: a linear simpleRNN u = 1, W = 1, U = 1/2 over x = (1, 2, 3), each merge mode", () => {
    // Forward reads 1, 2, 3: h = 1, 2.5, 4.25. Backward reads 3, 2, 1: h = 3, 3.5, 2.75, which
    // reversed in time is (2.75, 3.5, 3) at input steps (0, 1, 2).
    const run = (mergeMode: string, returnSequences: boolean) => {
      const spec: ModelSpec = {
        inputShape: [3, 1],
        layers: [
          {
            type: "bidirectional",
            name: "b",
            mergeMode,
            layer: { type: "simpleRNN", units: 1, activation: "linear", useBias: false, returnSequences },
          } as LayerSpec,
        ],
        loss: "meanSquaredError",
      };
      const w: NamedTensors = {};
      for (const dir of ["forward", "backward"]) {
        w[`b/${dir}_simpleRNN/kernel`] = { shape: [1, 1], data: Float64Array.from([1]) };
        w[`b/${dir}_simpleRNN/recurrent_kernel`] = { shape: [1, 1], data: Float64Array.from([0.5]) };
      }
      return [...predict(spec, w, Float64Array.from([1, 2, 3]), 1).data];
    };
    expect(run("concat", true)).toEqual([1, 2.75, 2.5, 3.5, 4.25, 3]);
    expect(run("sum", true)).toEqual([3.75, 6, 7.25]);
    expect(run("mul", true)).toEqual([2.75, 8.75, 12.75]);
    expect(run("ave", true)).toEqual([1.875, 3, 3.625]);
    // Without returnSequences each copy's last state: 4.25 and 2.75.
    expect(run("concat", false)).toEqual([4.25, 2.75]);
    expect(run("sum", false)).toEqual([7]);
  });

  it("timeDistributed passes a time-step mask on: a later globalAveragePooling1d counts only real steps", () => {
    const m = new Model({
      inputShape: [4],
      layers: [
        { type: "embedding", inputDim: 5, outputDim: 2, maskZero: true },
        {
          type: "timeDistributed",
          layer: { type: "dense", units: 1, kernelInitializer: "ones", useBias: false },
        },
        { type: "globalAveragePooling1d" },
      ],
      loss: "meanSquaredError",
    });
    m.initialise(3);
    const e = m.params()[0]!.value;
    // Ids 3, 0, 0, 4: only steps 0 and 3 count; each step's output is the sum of its embedding.
    const [y] = [...m.forward(Float64Array.from([3, 0, 0, 4]), 1)];
    expect(y).toBeCloseTo((e[6]! + e[7]! + e[8]! + e[9]!) / 2, 15);
  });

  it("hand-computed: timeDistributed applies one dense to each step", () => {
    const spec: ModelSpec = {
      inputShape: [2, 2],
      layers: [
        { type: "timeDistributed", name: "td", layer: { type: "dense", units: 1, activation: "relu" } },
      ],
      loss: "meanSquaredError",
    };
    const w: NamedTensors = {
      "td/kernel": { shape: [2, 1], data: Float64Array.from([1, -2]) },
      "td/bias": { shape: [1], data: Float64Array.from([0.5]) },
    };
    // Steps (1, 0) → 1.5; (0, 1) → relu(−1.5) = 0; (3, 1) → 1.5; (2, 2) → relu(−1.5) = 0.
    expect([...predict(spec, w, Float64Array.from([1, 0, 0, 1, 3, 1, 2, 2]), 2).data]).toEqual([
      1.5, 0, 1.5, 0,
    ]);
  });
});

describe("runs and refusals", () => {
  it.each(["float64", "float32"] as const)(
    "%s: the same seed gives the same bits, with WebAssembly on or off",
    (dtype) => {
      const spec = model(bidi("lstm", "concat", { units: 6, returnSequences: true }));
      const data = randomBatch(spec, 16, 2, 8);
      const run = () =>
        train({
          model: spec,
          data,
          optimizer: { type: "adam", learningRate: 0.01 },
          epochs: 3,
          batchSize: 8,
          seed: 4,
          dtype,
        });
      const a = run();
      const b = run();
      const was = useWasmKernels(false);
      let c: ReturnType<typeof train>;
      try {
        c = run();
      } finally {
        useWasmKernels(was);
      }
      expect(b.weightsSha256).toBe(a.weightsSha256);
      expect(c.weightsSha256).toBe(a.weightsSha256);
      expect(a.history.loss[2]!).toBeLessThan(a.history.loss[0]!);
    },
  );

  it("refuses what it cannot do, naming the wrapped layer's field", () => {
    const at = (layer: object, inputShape = [5, 3]) => {
      try {
        new Model({ inputShape, layers: [layer as LayerSpec], loss: "meanSquaredError" });
      } catch (e) {
        return [(e as { path: unknown }).path, (e as Error).message];
      }
      return undefined;
    };
    expect(at({ type: "bidirectional", layer: { type: "lstm", units: 2, returnState: true } })?.[0]).toEqual([
      "layers",
      0,
      "layer",
      "returnState",
    ]);
    expect(
      at({
        type: "bidirectional",
        layer: { type: "gru", units: 2, recurrentInitializer: { type: "randomNormal", stddev: -1 } },
      })?.[0],
    ).toEqual(["layers", 0, "layer", "recurrentInitializer", "stddev"]);
    expect(at({ type: "bidirectional", layer: { type: "dense", units: 2 } })).toEqual([
      ["layers", 0, "layer", "type"],
      'layer bidirectional_0 (bidirectional) wraps a simpleRNN, lstm or gru layer, got "dense"',
    ]);
    expect(at({ type: "bidirectional", layer: { type: "lstm", units: 2 }, mergeMode: "max" })?.[0]).toEqual([
      "layers",
      0,
      "mergeMode",
    ]);
    expect(at({ type: "bidirectional", layer: { type: "lstm", units: 2 } }, [4])).toEqual([
      ["layers", 0],
      "layer bidirectional_0/forward_lstm (lstm) needs a [timesteps, features] input, got [4]",
    ]);
    expect(at({ type: "timeDistributed", layer: { type: "lstm", units: 2 } })?.[0]).toEqual([
      "layers",
      0,
      "layer",
      "type",
    ]);
    expect(at({ type: "timeDistributed", layer: { type: "dense", units: 2 } }, [2, 2, 2])?.[1]).toBe(
      "layer timeDistributed_0 (timeDistributed) needs a [timesteps, features] input, got [2, 2, 2]",
    );
    expect(
      at({
        type: "timeDistributed",
        layer: { type: "dense", units: 2, kernelInitializer: { type: "randomNormal", stddev: -1 } },
      })?.[0],
    ).toEqual(["layers", 0, "layer", "kernelInitializer", "stddev"]);
    expect(
      at({ type: "timeDistributed", layer: { type: "dense", units: 2, activityRegularizer: "l2" } })?.[0],
    ).toEqual(["layers", 0, "layer", "activityRegularizer"]);
  });
});
