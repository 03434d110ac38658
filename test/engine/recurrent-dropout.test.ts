/**
 * `dropout` and `recurrentDropout` on simpleRNN, lstm and gru (docs/backprop.md §22.7): exact
 * derivatives with the masks fixed (five-point central differences, float64, relative error
 * < 1e-7), the masks' statistics and their sameness over the steps, inference equal to the layer
 * without dropout bit for bit, tfjs-layers' own cells on the engine's masks, and exact resume.
 */
import { describe, expect, it } from "vitest";
import {
  computeGradients,
  type Floats,
  type LayerSpec,
  type ModelSpec,
  type TrainOptions,
  train,
} from "../../src/engine/index.js";
import { INSPECT_CHECK, INSPECT_TRAINING } from "../../src/engine/inspect.js";
import { buildRecurrent } from "../../src/engine/layers/recurrent-factory.js";
import { Rng } from "../../src/engine/rng.js";
import { expectGradientsMatch, expectTenPlusTenIsTwenty, randomBatch } from "./helpers.js";
import { layerGradientErrors } from "./layer-gradients.js";
import { tfjsRecurrentReference } from "./tfjs-recurrent.js";
import { maxRelativeError } from "./tfjs-reference.js";

const cells: { name: string; layer: LayerSpec }[] = [
  { name: "simpleRNN", layer: { type: "simpleRNN", units: 4 } },
  { name: "lstm", layer: { type: "lstm", units: 4, recurrentActivation: "sigmoid" } },
  { name: "gru", layer: { type: "gru", units: 4, recurrentActivation: "sigmoid" } },
  {
    name: "gru resetAfter",
    layer: { type: "gru", units: 4, recurrentActivation: "sigmoid", resetAfter: true },
  },
];
const rates = [
  { name: "dropout", rates: { dropout: 0.4 } },
  { name: "recurrentDropout", rates: { recurrentDropout: 0.4 } },
  { name: "both", rates: { dropout: 0.4, recurrentDropout: 0.4 } },
];
const cases = cells.flatMap((c) =>
  rates.map((r) => ({ name: `${c.name}, ${r.name}`, layer: { ...c.layer, ...r.rates } as LayerSpec })),
);

function randomize(params: { value: Floats }[], seed: number): void {
  const rng = new Rng(seed);
  for (const p of params) for (let j = 0; j < p.value.length; j++) p.value[j] = rng.uniform(-0.9, 0.9);
}

/** `[5 steps, 3 features]` → the layer → flatten → dense 2, mean squared error (3 features ≠ 4 units). */
const model = (layer: LayerSpec): ModelSpec => ({
  inputShape: [5, 3],
  layers: [layer, { type: "flatten" }, { type: "dense", units: 2 }],
  loss: "meanSquaredError",
});

describe("exact derivatives with the masks fixed (five-point central differences, float64, < 1e-7)", () => {
  const variants = [
    ...cases,
    ...cells.map((c) => ({
      name: `${c.name}, both, returnSequences goBackwards`,
      layer: { ...c.layer, dropout: 0.3, recurrentDropout: 0.5, returnSequences: true, goBackwards: true },
    })),
  ];
  it.each(variants)("$name: every parameter and the input", ({ layer }) => {
    const l = buildRecurrent(layer as never, "r", [6, 3], 0);
    randomize(l.params(), 7);
    l.dropout!.seedStream(11);
    // Training with the first forward's masks reused by every later one (what /gradients' check does).
    l.setMode!(INSPECT_CHECK);
    const rng = new Rng(8);
    const x = Float64Array.from({ length: 4 * 18 }, () => rng.uniform(-1, 1));
    const e = layerGradientErrors(l, x, 4, rng);
    expect(e.params).toBeLessThan(1e-7);
    expect(e.input).toBeLessThan(1e-7);
    // The check saw real masks: some units dropped, the others scaled.
    for (const m of [l.dropout!.input, l.dropout!.state].filter((m) => m !== null)) {
      expect(m.some((v) => v === 0)).toBe(true);
      expect(m.some((v) => v > 1)).toBe(true);
    }
  });

  it.each([
    {
      name: "bidirectional lstm (each copy its own masks)",
      layer: {
        type: "bidirectional",
        layer: {
          type: "lstm",
          units: 4,
          recurrentActivation: "sigmoid",
          dropout: 0.3,
          recurrentDropout: 0.3,
        },
      } as LayerSpec,
      inputShape: [5, 3],
    },
  ])("$name in a model: /gradients' check reuses the masks", ({ layer, inputShape }) => {
    const spec: ModelSpec = { ...model(layer), inputShape };
    const r = expectGradientsMatch(spec, randomBatch(spec, 3, 2, 5), { seed: 4 });
    expect(Object.keys(r.dropoutMasks!)).toEqual([
      "bidirectional_0/forward_lstm/dropout",
      "bidirectional_0/forward_lstm/recurrentDropout",
      "bidirectional_0/backward_lstm/dropout",
      "bidirectional_0/backward_lstm/recurrentDropout",
    ]);
    expect(r.dropoutMasks!["bidirectional_0/forward_lstm/dropout"]!.shape).toEqual([3, 3]);
    expect(r.dropoutMasks!["bidirectional_0/forward_lstm/recurrentDropout"]!.shape).toEqual([3, 4]);
    const m = r.dropoutMasks!;
    expect(m["bidirectional_0/forward_lstm/dropout"]!.data).not.toEqual(
      m["bidirectional_0/backward_lstm/dropout"]!.data,
    );
  });

  it.each(cells)("$name, both, with a time-step mask: every parameter and the input", ({ layer }) => {
    const l = buildRecurrent({ ...layer, dropout: 0.3, recurrentDropout: 0.4 } as never, "r", [6, 3], 0);
    randomize(l.params(), 9);
    l.setMode!(INSPECT_CHECK);
    // Padding after, before and inside (docs/backprop.md §22.6).
    const mask = Float64Array.from([1, 1, 1, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 0, 1, 0, 1, 1]);
    l.setMask!(mask);
    const rng = new Rng(10);
    const x = Float64Array.from({ length: 3 * 18 }, () => rng.uniform(-1, 1));
    const e = layerGradientErrors(l, x, 3, rng);
    expect(e.params).toBeLessThan(1e-7);
    expect(e.input).toBeLessThan(1e-7);
  });
});

describe("the masks", () => {
  it("kept fractions within 5σ of 1 − rate, every value 0 or 1/(1 − rate)", () => {
    const l = buildRecurrent(
      { type: "simpleRNN", units: 40, dropout: 0.3, recurrentDropout: 0.6 },
      "r",
      [2, 50],
      0,
    );
    l.setMode!(INSPECT_TRAINING);
    l.forward(new Float64Array(200 * 100), 200);
    for (const [m, p] of [
      [l.dropout!.input!, 0.3],
      [l.dropout!.state!, 0.6],
    ] as const) {
      const n = m.length;
      const kept = m.filter((v) => v !== 0).length;
      expect(Math.abs(kept - n * (1 - p))).toBeLessThan(5 * Math.sqrt(n * p * (1 - p)));
      expect(m.every((v) => v === 0 || v === 1 / (1 - p))).toBe(true);
    }
    expect(l.dropout!.input!.length).toBe(200 * 50);
    expect(l.dropout!.state!.length).toBe(200 * 40);
  });

  it("dropout: every step's input is multiplied by the same mask, kept values exactly x/(1 − rate)", () => {
    // Linear, W = I, U = 0, no bias: h_s = m_x ⊙ x_s at every step.
    const F = 5;
    const l = buildRecurrent(
      {
        type: "simpleRNN",
        units: F,
        activation: "linear",
        useBias: false,
        returnSequences: true,
        dropout: 0.5,
      },
      "r",
      [4, F],
      0,
    );
    for (let i = 0; i < F; i++) l.kernel.value[i * F + i] = 1;
    l.setMode!(INSPECT_TRAINING);
    const rng = new Rng(3);
    const x = Float64Array.from({ length: 3 * 4 * F }, () => rng.uniform(-1, 1));
    const y = l.forward(x, 3);
    const m = l.dropout!.input!;
    for (let b = 0; b < 3; b++)
      for (let t = 0; t < 4; t++)
        for (let i = 0; i < F; i++) {
          const k = (b * 4 + t) * F + i;
          expect(y[k]! - (m[b * F + i] === 0 ? 0 : x[k]! * 2)).toBe(0);
        }
  });

  it("recurrentDropout: the same mask at every step (h_s = m_hˢ⁻¹ with W = U = I and x = 1, 0, 0, …)", () => {
    const u = 6;
    const l = buildRecurrent(
      {
        type: "simpleRNN",
        units: u,
        activation: "linear",
        useBias: false,
        returnSequences: true,
        recurrentDropout: 0.5,
      },
      "r",
      [5, u],
      0,
    );
    for (let i = 0; i < u; i++) {
      l.kernel.value[i * u + i] = 1;
      l.recurrentKernel.value[i * u + i] = 1;
    }
    l.setMode!(INSPECT_TRAINING);
    const batch = 4;
    const x = new Float64Array(batch * 5 * u);
    for (let b = 0; b < batch; b++) x.fill(1, b * 5 * u, b * 5 * u + u);
    const y = l.forward(x, batch);
    const m = l.dropout!.state!;
    expect(l.dropout!.input).toBeNull();
    for (let b = 0; b < batch; b++)
      for (let s = 0; s < 5; s++)
        for (let j = 0; j < u; j++) expect(y[(b * 5 + s) * u + j]).toBe(m[b * u + j]! ** s);
  });

  it("each training forward draws new masks; the same seed draws them again", () => {
    const l = buildRecurrent({ type: "lstm", units: 3, dropout: 0.5, recurrentDropout: 0.5 }, "r", [4, 2], 0);
    l.setMode!(INSPECT_TRAINING);
    l.dropout!.seedStream(5);
    const x = new Float64Array(8 * 8).fill(0.5);
    l.forward(x, 8);
    const first = [Array.from(l.dropout!.input!), Array.from(l.dropout!.state!)];
    l.forward(x, 8);
    expect([Array.from(l.dropout!.input!), Array.from(l.dropout!.state!)]).not.toEqual(first);
    l.dropout!.seedStream(5);
    l.forward(x, 8);
    expect([Array.from(l.dropout!.input!), Array.from(l.dropout!.state!)]).toEqual(first);
  });

  it.each(cases)("$name: inference is the layer without dropout, bit for bit", ({ layer }) => {
    const spec = model(layer);
    const {
      dropout: _,
      recurrentDropout: __,
      ...plain
    } = layer as { dropout?: number; recurrentDropout?: number };
    const batch = randomBatch(spec, 4, 2, 12);
    const a = computeGradients({ model: spec, seed: 3, data: batch, training: false });
    const b = computeGradients({ model: model(plain as LayerSpec), seed: 3, data: batch, training: false });
    expect(a.dropoutMasks).toBeUndefined();
    expect(Array.from(a.output.data)).toEqual(Array.from(b.output.data));
    expect(a.gradients).toEqual(b.gradients);
    // Training mode differs: the masks are applied.
    const t = computeGradients({ model: spec, seed: 3, data: batch });
    expect(Array.from(t.output.data)).not.toEqual(Array.from(b.output.data));
  });
});

describe("TensorFlow.js (cpu, float32; relative error < 1e-4) on the same weights", () => {
  it.each(cases)("$name: inference equals tfjs' layer with the same rates", async ({ layer }) => {
    const spec = model(layer);
    const batch = randomBatch(spec, 4, 2, 12);
    const ours = computeGradients({ model: spec, seed: 9, data: batch, training: false });
    const ref = await tfjsRecurrentReference(spec, ours.weights, batch.x, batch.y, batch.n);
    expect(maxRelativeError(ours.output.data, ref.output)).toBeLessThan(1e-4);
    for (const [key, grad] of Object.entries(ours.gradients))
      expect(maxRelativeError(grad.data, ref.gradients[key]!), key).toBeLessThan(1e-4);
  });

  it.each(cases)("$name: training equals tfjs' cell given the engine's masks", async ({ layer }) => {
    const spec = model(layer);
    const batch = randomBatch(spec, 4, 2, 12);
    const ours = computeGradients({ model: spec, seed: 9, data: batch });
    const masks = ours.dropoutMasks!;
    expect(Object.keys(masks).length).toBe("dropout" in layer && "recurrentDropout" in layer ? 2 : 1);
    const ref = await tfjsRecurrentReference(spec, ours.weights, batch.x, batch.y, batch.n, masks);
    expect(Math.abs(ours.loss - ref.loss) / Math.max(Math.abs(ref.loss), 1e-3)).toBeLessThan(1e-4);
    expect(maxRelativeError(ours.output.data, ref.output)).toBeLessThan(1e-4);
    for (const [key, grad] of Object.entries(ours.gradients))
      expect(maxRelativeError(grad.data, ref.gradients[key]!), key).toBeLessThan(1e-4);
    // The same reference in inference is another function: the masks matter.
    const inference = await tfjsRecurrentReference(spec, ours.weights, batch.x, batch.y, batch.n);
    expect(maxRelativeError(ours.output.data, inference.output)).toBeGreaterThan(1e-2);
  });
});

describe("exact resume: 10 + 10 epochs = 20, bit for bit", () => {
  const lstm: ModelSpec = {
    inputShape: [6, 3],
    layers: [
      { type: "lstm", units: 4, dropout: 0.2, recurrentDropout: 0.3 },
      { type: "dense", units: 1 },
    ],
    loss: "meanSquaredError",
  };
  const bidi: ModelSpec = {
    ...lstm,
    layers: [
      { type: "bidirectional", name: "bi", layer: { type: "gru", units: 3, recurrentDropout: 0.25 } },
      { type: "dropout", rate: 0.2 },
      { type: "dense", units: 1 },
    ],
  };
  it.each([
    { name: "lstm", spec: lstm, streams: ["lstm_0"] },
    {
      name: "bidirectional gru, then a dropout layer",
      spec: bidi,
      streams: ["bi/forward_gru", "bi/backward_gru", "dropout_1"],
    },
  ])("$name", ({ spec, streams }) => {
    const base: Omit<TrainOptions, "epochs"> = {
      model: spec,
      data: randomBatch(spec, 24, 1, 21),
      optimizer: { type: "adam", learningRate: 0.01 },
      batchSize: 8,
      seed: 6,
    };
    const { first, whole } = expectTenPlusTenIsTwenty(base, streams);
    // Without the streams the state does not fit; with other streams training differs.
    const { dropoutRng, ...stateless } = first.optimizerState!;
    expect(() =>
      train({ ...base, epochs: 1, initialWeights: first.weights, optimizerState: stateless }),
    ).toThrow(/dropoutRng/);
    const other = Object.fromEntries(
      Object.keys(dropoutRng!).map((k, i) => [k, new Rng(100 + i).getState()]),
    );
    const reseeded = train({
      ...base,
      epochs: 10,
      initialWeights: first.weights,
      optimizerState: { ...stateless, dropoutRng: other },
    });
    expect(reseeded.weightsSha256).not.toBe(whole.weightsSha256);
  });
});
