/**
 * Losses on outputs that are not one vector per sample (docs/backprop.md §21.1): an activation
 * followed by layers that only move values (flatten, reshape) keeps its activation for the loss's
 * check; exact derivatives (central differences, float64, relative error < 1e-7).
 */
import { describe, expect, it } from "vitest";
import { computeGradients, describeModel, initWeights, type ModelSpec } from "../../src/engine/index.js";
import { countCorrect } from "../../src/engine/metrics/accuracy.js";
import { Model } from "../../src/engine/model.js";
import { expectGradientsMatch } from "./helpers.js";

/** Mean binary cross-entropy over every element of every sample, by hand. */
function meanBce(out: ArrayLike<number>, y: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < out.length; i++) s -= y[i]! * Math.log(out[i]!) + (1 - y[i]!) * Math.log(1 - out[i]!);
  return s / out.length;
}

describe("a sigmoid output followed by flatten or reshape (binaryCrossentropy)", () => {
  const cases: { name: string; spec: ModelSpec; x: number[] }[] = [
    {
      name: "timeDistributed dense 1 sigmoid → flatten",
      spec: {
        inputShape: [3, 1],
        layers: [
          { type: "timeDistributed", layer: { type: "dense", units: 1, activation: "sigmoid" } },
          { type: "flatten" },
        ],
        loss: "binaryCrossentropy",
      },
      x: [0.5, -1, 2, 1.5, 0.25, -0.75],
    },
    {
      name: "dense 4 sigmoid → reshape [2, 2]",
      spec: {
        inputShape: [2],
        layers: [
          { type: "dense", units: 4, activation: "sigmoid" },
          { type: "reshape", targetShape: [2, 2] },
        ],
        loss: "binaryCrossentropy",
      },
      x: [0.5, -1, 2, 1.5],
    },
  ];
  it.each(cases)("$name: builds, the loss is the mean over elements, exact gradients", ({ spec, x }) => {
    const k = describeModel(spec).outputSize;
    const n = 2;
    const y = Float64Array.from({ length: n * k }, (_, i) => (i % 3 === 0 ? 1 : 0));
    const data = { n, x: Float64Array.from(x), y };
    const r = computeGradients({ model: spec, seed: 4, data });
    expect(r.loss).toBeCloseTo(meanBce(r.output.data, y), 12);
    expect(r.loss).toBeGreaterThan(0.1);
    expectGradientsMatch(spec, data, { seed: 4, tolerance: 1e-7, epsilon: 1e-5 });
  });

  it("a linear output before the flatten is still refused, named as linear", () => {
    const spec: ModelSpec = {
      inputShape: [3, 1],
      layers: [{ type: "timeDistributed", layer: { type: "dense", units: 1 } }, { type: "flatten" }],
      loss: "binaryCrossentropy",
    };
    expect(() => describeModel(spec)).toThrow(
      /output activation is linear; end the model with activation sigmoid/,
    );
  });
});

/** A tagger `[4 steps]` of token ids → embedding → bidirectional gru (returnSequences) → timeDistributed dense 3 `act`. */
function tagger(loss: ModelSpec["loss"], maskZero: boolean, activation = "softmax"): ModelSpec {
  return {
    inputShape: [4],
    layers: [
      { type: "embedding", inputDim: 5, outputDim: 3, maskZero },
      {
        type: "bidirectional",
        layer: { type: "gru", units: 2, returnSequences: true, recurrentActivation: "sigmoid" },
      },
      { type: "timeDistributed", layer: { type: "dense", units: 3, activation } },
    ],
    loss,
  } as ModelSpec;
}

// Two samples; with maskZero the zeros are padding (sample 0 has 3 real steps, sample 1 has 2).
const X = Float64Array.from([1, 2, 3, 0, 4, 1, 0, 0]);
const LABELS = Float64Array.from([0, 2, 1, 1, 2, 0, 1, 2]);
const ONE_HOT = Float64Array.from([...LABELS].flatMap((l) => [0, 1, 2].map((j) => (j === l ? 1 : 0))));
const SOFT = Float64Array.from({ length: 24 }, (_, i) => [0.2, 0.5, 0.3][i % 3]!);

describe("categorical losses per step on a sequence output [T, C] (Keras' axis = -1)", () => {
  const cases = [
    { loss: "sparseCategoricalCrossentropy", y: LABELS },
    { loss: "categoricalCrossentropy", y: ONE_HOT },
    { loss: "categoricalHinge", y: ONE_HOT },
    { loss: "kullbackLeiblerDivergence", y: SOFT },
  ] as const;
  it.each(cases.map((c) => ({ ...c, maskZero: false })))(
    "$loss, maskZero $maskZero: exact gradients, the loss the mean of the per-step losses",
    ({ loss, y, maskZero }) => {
      const spec = tagger(loss, maskZero);
      expect(describeModel(spec).outputShape).toEqual([4, 3]);
      const data = { n: 2, x: X, y };
      // Weights doubled, biases set: gradients far from rounding noise (the recurrent kernel's are ~1e-8 at the initialiser's scale).
      const weights = initWeights(spec, 3);
      for (const [key, t] of Object.entries(weights))
        for (let j = 0; j < t.data.length; j++)
          t.data[j] = key.endsWith("/bias") ? Math.sin(3 * j + 1) : 2 * t.data[j]!;
      const r = expectGradientsMatch(spec, data, { weights, tolerance: 1e-6, epsilon: 1e-4 });
      // By hand from the output: each step's loss over its 3 values, averaged over the (real) steps.
      const out = r.output.data;
      const real = (b: number, s: number) => !maskZero || X[b * 4 + s] !== 0;
      let sum = 0;
      let count = 0;
      for (let b = 0; b < 2; b++)
        for (let s = 0; s < 4; s++) {
          if (!real(b, s)) continue;
          const row = b * 4 + s;
          const p = [0, 1, 2].map((j) => out[row * 3 + j]!);
          const t =
            loss === "sparseCategoricalCrossentropy"
              ? [0, 1, 2].map((j) => (j === LABELS[row] ? 1 : 0))
              : [0, 1, 2].map((j) => y[row * 3 + j]!);
          if (loss === "categoricalHinge") {
            const pos = p.reduce((a, v, j) => a + v * t[j]!, 0);
            const neg = Math.max(...p.map((v, j) => v * (1 - t[j]!)));
            sum += Math.max(0, 1 + neg - pos);
          } else if (loss === "kullbackLeiblerDivergence")
            sum += t.reduce((a, v, j) => a + v * Math.log(v / p[j]!), 0);
          else sum -= t.reduce((a, v, j) => a + v * Math.log(p[j]!), 0);
          count++;
        }
      // Unmasked: mean per sample over its 4 steps, then over the 2 samples = mean over 8 rows.
      expect(r.loss).toBeCloseTo(sum / count, 12);
      expect(count).toBe(maskZero ? 5 : 8);
    },
  );

  it("accuracy counts each step (a fraction of the sample)", () => {
    const spec = tagger("sparseCategoricalCrossentropy", false);
    const m = new Model(spec);
    m.setWeights(initWeights(spec, 3));
    const out = m.forward(X, 2);
    let right = 0;
    for (let row = 0; row < 8; row++) {
      const p = [0, 1, 2].map((j) => out[row * 3 + j]!);
      if (p.indexOf(Math.max(...p)) === LABELS[row]) right++;
    }
    expect(countCorrect(spec.loss, [4, 3], out, LABELS, 2)).toEqual({ correct: right, counted: 8 });
    expect(right).toBeLessThan(8);
  });

  it("cosineProximity on a sequence and any of them on an image keep their refusal, without 'flatten and dense' for the sequence", () => {
    expect(() => describeModel(tagger("cosineProximity", false))).toThrow(
      /does not read a sequence per step/,
    );
    expect(() => describeModel(tagger("cosineProximity", false))).not.toThrow(/flatten/);
    expect(() =>
      describeModel({
        inputShape: [2, 2, 1],
        layers: [{ type: "conv2d", filters: 2, kernelSize: 1, activation: "softmax" }],
        loss: "categoricalCrossentropy",
      }),
    ).toThrow(/add flatten and dense layers/);
  });
});
