/**
 * The time-step mask through simpleRNN, lstm and gru and into the loss (docs/backprop.md §21.1,
 * §22.6): a masked step carries the state over and gives the weights nothing, the output at a
 * masked step is the previous one (tfjs' and Keras' default), the loss averages over the real steps
 * only. Checked by hand, by central differences in float64 (relative error < 1e-7) and against
 * TensorFlow.js' own layers called with the mask on the same weights.
 */
import * as tf from "@tensorflow/tfjs";
import { describe, expect, it } from "vitest";
import {
  computeGradients,
  type LayerSpec,
  type ModelSpec,
  type NamedTensors,
} from "../../src/engine/index.js";
import type { Layer } from "../../src/engine/layers/layer.js";
import { buildRecurrent } from "../../src/engine/layers/recurrent-factory.js";
import { Model } from "../../src/engine/model.js";
import { Rng } from "../../src/engine/rng.js";
import { worstError } from "./helpers.js";
import { tfActivation } from "./tfjs-activations.js";
import { maxRelativeError, tfReady } from "./tfjs-reference.js";
import { tfWrapper } from "./tfjs-wrappers.js";

const cells: LayerSpec[] = [
  { type: "simpleRNN", units: 3 },
  { type: "lstm", units: 3, recurrentActivation: "sigmoid" },
  { type: "gru", units: 3, recurrentActivation: "sigmoid" },
  { type: "gru", units: 3, recurrentActivation: "sigmoid", resetAfter: true },
];
const variants = cells.flatMap((c) => [
  { name: `${c.type}${"resetAfter" in c ? " resetAfter" : ""}`, layer: c },
  {
    name: `${c.type}${"resetAfter" in c ? " resetAfter" : ""} returnSequences goBackwards`,
    layer: { ...c, returnSequences: true, goBackwards: true } as LayerSpec,
  },
]);

/** bidirectional hands the mask to both copies (docs/backprop.md §23.1). */
const wrapped: { name: string; layer: LayerSpec }[] = [
  {
    name: "bidirectional lstm (mul)",
    layer: {
      type: "bidirectional",
      mergeMode: "mul",
      layer: { type: "lstm", units: 3, recurrentActivation: "sigmoid" },
    },
  },
  {
    name: "bidirectional gru resetAfter returnSequences (concat)",
    layer: {
      type: "bidirectional",
      layer: {
        type: "gru",
        units: 3,
        recurrentActivation: "sigmoid",
        resetAfter: true,
        returnSequences: true,
      },
    },
  },
];

/**
 * Ids `[4 samples, 6 steps]` with padding (0) after, before, inside, and a whole sample of it:
 * the cases of docs/backprop.md §22.6.
 */
const IDS = [
  [3, 1, 4, 0, 0, 0],
  [0, 0, 2, 5, 1, 3],
  [2, 0, 3, 0, 4, 1],
  [0, 0, 0, 0, 0, 0],
].flat();

/** The mask of `IDS`: 1 for a real step. */
const MASK = Float64Array.from(IDS, (v) => (v === 0 ? 0 : 1));

function randomize(params: { value: Float64Array | Float32Array }[], seed: number, scale = 0.9): void {
  const rng = new Rng(seed);
  for (const p of params) for (let j = 0; j < p.value.length; j++) p.value[j] = rng.uniform(-scale, scale);
}

describe("a masked step carries the state over (forward)", () => {
  it.each(variants)(
    "$name: the state after a masked step is the state before it, bit for bit",
    ({ layer }) => {
      const l = buildRecurrent(
        { ...layer, returnSequences: true, goBackwards: false } as never,
        "r",
        [6, 2],
        0,
      );
      randomize(l.params() as never, 3);
      const x = Float64Array.from({ length: 4 * 12 }, (_, i) => Math.sin(i + 1));
      l.setMask!(MASK);
      const y = Float64Array.from(l.forward(x, 4));
      for (let b = 0; b < 4; b++)
        for (let t = 0; t < 6; t++) {
          const row = [...y.subarray((b * 6 + t) * 3, (b * 6 + t + 1) * 3)];
          const prev = t === 0 ? [0, 0, 0] : [...y.subarray((b * 6 + t - 1) * 3, (b * 6 + t) * 3)];
          if (MASK[b * 6 + t] === 0) expect(row).toEqual(prev);
          else expect(row).not.toEqual(prev);
        }
      // The fully padded sample keeps h = 0 throughout; the mask goes on with returnSequences.
      expect([...y.subarray(3 * 18, 4 * 18)].every((v) => v === 0)).toBe(true);
      expect(l.outputMask?.()).toBe(MASK);
    },
  );

  it.each(variants)(
    "$name: the padding's inputs change nothing; without returnSequences the mask stops",
    ({ layer }) => {
      const l = buildRecurrent(layer as never, "r", [6, 2], 0);
      randomize(l.params() as never, 4);
      const x = Float64Array.from({ length: 4 * 12 }, (_, i) => Math.cos(i));
      l.setMask!(MASK);
      const y0 = Float64Array.from(l.forward(x, 4));
      const x2 = Float64Array.from(x, (v, i) => (MASK[Math.floor(i / 2)] === 0 ? 100 * v + 7 : v));
      expect([...l.forward(x2, 4)]).toEqual([...y0]);
      if (!("returnSequences" in layer)) expect(l.outputMask).toBeUndefined();
    },
  );

  it("a trailing masked step leaves the last output as the last real step's (lstm, no returnSequences)", () => {
    const full = buildRecurrent(cells[1] as never, "r", [3, 1], 0);
    const part = buildRecurrent(cells[1] as never, "r", [6, 1], 0);
    randomize(full.params() as never, 5);
    for (const [i, p] of part.params().entries()) p.value.set(full.params()[i]!.value);
    const y3 = [...full.forward(Float64Array.from([0.5, -1, 2]), 1)];
    part.setMask!(Float64Array.from([1, 1, 1, 0, 0, 0]));
    expect([...part.forward(Float64Array.from([0.5, -1, 2, 9, 9, 9]), 1)]).toEqual(y3);
  });
});

describe("exact derivatives with a mask (five-point central differences, float64, relative error < 1e-7)", () => {
  it.each(variants)("$name alone: every parameter and the input", ({ layer }) => {
    const l: Layer = buildRecurrent(layer as never, "r", [6, 2], 0);
    randomize(l.params() as never, 7);
    const rng = new Rng(8);
    const x = Float64Array.from({ length: 4 * 12 }, () => rng.uniform(-1, 1));
    const dy = Float64Array.from({ length: 4 * l.outputShape.reduce((a, b) => a * b, 1) }, () =>
      rng.uniform(-1, 1),
    );
    l.setMask!(MASK);
    for (const p of l.params()) p.grad.fill(0);
    l.forward(x, 4);
    const dx = Float64Array.from(l.backward(dy, 4));
    const L = () => {
      const y = l.forward(x, 4);
      let s = 0;
      for (let j = 0; j < y.length; j++) s += y[j]! * dy[j]!;
      return s;
    };
    for (const p of l.params()) expect(worstError(p.value, p.grad.slice(), L), p.key).toBeLessThan(1e-7);
    expect(worstError(x, dx, L)).toBeLessThan(1e-7);
    // A masked step gives the input no gradient, and the fully padded sample none at all.
    for (let i = 0; i < x.length; i++) if (MASK[Math.floor(i / 2)] === 0) expect(dx[i]).toBe(0);
  });

  it.each([...variants, ...wrapped])(
    "$name in embedding(maskZero) → … → loss over the real steps: every weight",
    ({ layer }) => {
      const seq = "returnSequences" in (layer.type === "bidirectional" ? layer.layer : layer);
      const spec: ModelSpec = {
        inputShape: [6],
        layers: [
          { type: "embedding", inputDim: 6, outputDim: 2, maskZero: true },
          layer,
          ...(seq ? [] : [{ type: "dense", units: 2 } as LayerSpec]),
        ],
        loss: "meanSquaredError",
      };
      const m = new Model(spec);
      randomize(m.params() as never, 9);
      const k = m.outputSize;
      const rng = new Rng(10);
      const y = Float64Array.from({ length: 4 * k }, () => rng.uniform(-1, 1));
      const x = Float64Array.from(IDS);
      const L = () => {
        m.forward(x, 4);
        return m.loss(y, 4, false, 0) / 4;
      };
      m.zeroGrads();
      m.forward(x, 4);
      m.loss(y, 4, true, 1 / 4);
      for (const p of m.params()) expect(worstError(p.value, p.grad.slice(), L), p.key).toBeLessThan(1e-7);
      // The padding's embedding row gets no gradient: only masked steps read it.
      expect([...m.params()[0]!.grad.subarray(0, 2)]).toEqual([0, 0]);
    },
  );
});

describe("the loss over the real steps (Keras 3's rule, docs/backprop.md §21.1)", () => {
  const spec: ModelSpec = {
    inputShape: [3],
    layers: [
      { type: "embedding", inputDim: 4, outputDim: 1, maskZero: true, embeddingsInitializer: "ones" },
      { type: "activation", activation: "linear" },
    ],
    loss: "meanSquaredError",
  };
  it("by hand: Σ m·l / Σ m over the batch, ×b as the batch sum", () => {
    const m = new Model(spec);
    m.params()[0]!.value.set([0, 1, 2, 3]);
    // ids [1, 0, 2] and [3, 3, 0]: outputs 1, 0, 2 and 3, 3, 0; targets all 0 → step losses 1, (0), 4, 9, 9, (0).
    m.forward(Float64Array.from([1, 0, 2, 3, 3, 0]), 2);
    const sum = m.loss(new Float64Array(6), 2, true, 1 / 2);
    expect(sum / 2).toBeCloseTo((1 + 4 + 9 + 9) / 4, 14);
    // ∂L/∂E[r] = Σ over real steps reading row r of 2·y/4.
    expect([...m.params()[0]!.grad]).toEqual([0, 2 / 4, 4 / 4, (6 + 6) / 4]);
  });

  it("a batch that is all padding has loss 0 and no gradient; sample weights multiply each sample's steps", () => {
    const m = new Model(spec);
    m.params()[0]!.value.set([5, 1, 2, 3]);
    m.zeroGrads();
    m.forward(new Float64Array(6), 2);
    expect(m.loss(Float64Array.from([1, 1, 1, 1, 1, 1]), 2, true, 1 / 2)).toBe(0);
    expect([...m.params()[0]!.grad]).toEqual([0, 0, 0, 0]);
    m.forward(Float64Array.from([1, 0, 2, 3, 3, 0]), 2);
    const w = m.loss(new Float64Array(6), 2, false, 0, Float64Array.from([2, 0.5]));
    expect(w / 2).toBeCloseTo((2 * (1 + 4) + 0.5 * (9 + 9)) / 4, 14);
  });
});

/**
 * TensorFlow.js: an embedding read with `tf.gather`, then tfjs-layers' own simpleRNN/lstm/gru
 * called with the mask `ids ≠ 0` (its `rnn()` carries the state and repeats the previous output at
 * a masked step), then dense; the loss is mean squared error averaged over the real steps when the
 * output has them, Keras 3's rule written in tfjs ops (tfjs-layers' fit does not mask the loss).
 */
async function tfjsMaskedReference(
  spec: ModelSpec,
  weights: NamedTensors,
  ids: number[],
  y: Float64Array,
  n: number,
) {
  await tfReady();
  return tf.tidy(() => {
    const keys = Object.keys(weights);
    const T = spec.inputShape[0]!;
    const idT = tf.tensor2d(ids, [n, T], "int32");
    const mask = tf.notEqual(idT, 0);
    let output: Float32Array = new Float32Array(0);
    const f = (...ws: tf.Tensor[]): tf.Scalar => {
      const v = Object.fromEntries(keys.map((k, i) => [k, ws[i]!]));
      let a: tf.Tensor = tf.gather(v["e/embeddings"]!, idT);
      let seq = true;
      for (const ls of spec.layers.slice(1)) {
        const name = ls.name!;
        if (ls.type === "dense") {
          a = tfActivation(
            tf.add(tf.matMul(a as tf.Tensor2D, v[`${name}/kernel`] as tf.Tensor2D), v[`${name}/bias`]!),
            ls.activation,
          );
          seq = false;
          continue;
        }
        if (ls.type === "bidirectional") {
          a = tfWrapper(ls, name, a, v, mask);
          seq = ls.layer.returnSequences === true;
          continue;
        }
        const { type, name: _, ...args } = ls as LayerSpec & { type: "lstm" };
        const make = { simpleRNN: tf.layers.simpleRNN, lstm: tf.layers.lstm, gru: tf.layers.gru }[
          type as "lstm"
        ];
        const layer = make(args as never);
        layer.apply(a);
        const own = [v[`${name}/kernel`]!, v[`${name}/recurrent_kernel`]!, v[`${name}/bias`]!];
        const cell = (layer as unknown as { cell: Record<string, { read: () => tf.Tensor }> }).cell;
        ["kernel", "recurrentKernel", "bias"].forEach((field, j) => {
          cell[field] = { read: () => own[j]! } as never;
        });
        a = layer.apply(a, { mask }) as tf.Tensor;
        seq = args.returnSequences === true;
      }
      output = a.dataSync() as Float32Array;
      const t = tf.tensor(Float32Array.from(y), a.shape);
      const sq = tf.square(tf.sub(a, t));
      if (!seq) return tf.mean(sq);
      const m = tf.cast(mask, "float32");
      return tf.div(tf.sum(tf.mul(tf.mean(sq, -1), m)), tf.sum(m));
    };
    const args = keys.map((k) => tf.tensor(Float32Array.from(weights[k]!.data), weights[k]!.shape));
    const { value, grads: g } = tf.valueAndGrads(f)(args);
    const grads = Object.fromEntries(keys.map((k, i) => [k, g[i]!.dataSync() as Float32Array]));
    return { loss: value.dataSync()[0]!, output, grads };
  });
}

describe("equal to TensorFlow.js with the mask (cpu, float32; relative error < 1e-4)", () => {
  const cases: { name: string; layers: LayerSpec[] }[] = [
    { name: "embedding(maskZero) → lstm → dense", layers: [{ type: "lstm", units: 3, name: "r" }] },
    { name: "embedding(maskZero) → gru → dense", layers: [{ type: "gru", units: 3, name: "r" }] },
    { name: "embedding(maskZero) → simpleRNN → dense", layers: [{ type: "simpleRNN", units: 3, name: "r" }] },
    {
      name: "embedding(maskZero) → lstm returnSequences goBackwards (the loss over the real steps)",
      layers: [{ type: "lstm", units: 3, name: "r", returnSequences: true, goBackwards: true }],
    },
    {
      name: "embedding(maskZero) → gru returnSequences → simpleRNN returnSequences (the loss over the real steps)",
      layers: [
        { type: "gru", units: 3, name: "r", returnSequences: true },
        { type: "simpleRNN", units: 2, name: "s", returnSequences: true },
      ],
    },
    {
      name: "embedding(maskZero) → bidirectional lstm (concat) → dense",
      layers: [{ type: "bidirectional", name: "b", layer: { type: "lstm", units: 3 } }],
    },
    {
      name: "embedding(maskZero) → bidirectional gru returnSequences (sum; the loss over the real steps)",
      layers: [
        {
          type: "bidirectional",
          name: "b",
          mergeMode: "sum",
          layer: { type: "gru", units: 3, recurrentActivation: "sigmoid", returnSequences: true },
        },
      ],
    },
    {
      name: "embedding(maskZero) → bidirectional lstm returnSequences (concat) → lstm: the mask passes on",
      layers: [
        { type: "bidirectional", name: "b", layer: { type: "lstm", units: 2, returnSequences: true } },
        { type: "lstm", units: 3, name: "r" },
      ],
    },
  ];
  it.each(cases)("$name: output, loss, every gradient", async ({ layers }) => {
    const last = layers.at(-1)!;
    const seq = (last.type === "bidirectional" ? last.layer : (last as { returnSequences?: boolean }))
      .returnSequences;
    const spec: ModelSpec = {
      inputShape: [6],
      layers: [
        { type: "embedding", name: "e", inputDim: 6, outputDim: 2, maskZero: true },
        ...layers,
        ...(seq ? [] : [{ type: "dense", units: 2, name: "d" } as LayerSpec]),
      ],
      loss: "meanSquaredError",
    };
    const n = 4;
    const m = new Model(spec);
    const rng = new Rng(21);
    const y = Float64Array.from({ length: n * m.outputSize }, () => rng.uniform(-1, 1));
    const ours = computeGradients({ model: spec, seed: 9, data: { n, x: Float64Array.from(IDS), y } });
    const ref = await tfjsMaskedReference(spec, ours.weights, IDS, y, n);
    expect(Math.abs(ours.loss - ref.loss) / Math.abs(ref.loss)).toBeLessThan(1e-4);
    expect(maxRelativeError(ours.output.data, ref.output)).toBeLessThan(1e-4);
    for (const [key, grad] of Object.entries(ours.gradients))
      expect(maxRelativeError(grad.data, ref.grads[key]!), key).toBeLessThan(1e-4);
  });
});
