/**
 * Accuracy, metrics and the confusion matrix on a sequence output (docs/backprop.md §14.4, §21.1):
 * each step's row of the last axis is a decision; with a time-step mask only the real steps count
 * (Keras 3's mean metrics take the mask as their weights), without one every (sample, step) row.
 * Values by hand, from explicit outputs and from the model's own.
 */
import { describe, expect, it } from "vitest";
import { type ModelSpec, train } from "../../src/engine/index.js";
import { MetricAccumulator } from "../../src/engine/metrics/accumulator.js";
import { countCorrect } from "../../src/engine/metrics/accuracy.js";
import { Model } from "../../src/engine/model.js";
import { C, liveWeights, paddedSamples, T, tagger } from "./step-data.js";

// Two samples of 3 steps × 3 classes; sample 0's last step and sample 1's first are padding.
const OUT = Float64Array.from(
  [
    [0.6, 0.3, 0.1], // label 0: right
    [0.2, 0.5, 0.3], // label 2: wrong (predicts 1)
    [0.1, 0.1, 0.8], // masked; label 0 would be wrong
    [0.3, 0.3, 0.4], // masked; label 2 would be right
    [0.1, 0.7, 0.2], // label 1: right
    [0.5, 0.4, 0.1], // label 1: wrong (predicts 0)
  ].flat(),
);
const LABELS = Float64Array.from([0, 2, 0, 2, 1, 1]);
const MASK = Float64Array.from([1, 1, 0, 0, 1, 1]);

describe("accuracy per step by hand", () => {
  it("with a mask: right real steps over real steps (2 of 4), the masked ones left out", () => {
    const loss = "sparseCategoricalCrossentropy";
    expect(countCorrect(loss, [3, 3], OUT, LABELS, 2, MASK)).toEqual({ correct: 2, counted: 4 });
    // Without the mask every row counts: 3 of 6.
    expect(countCorrect(loss, [3, 3], OUT, LABELS, 2)).toEqual({ correct: 3, counted: 6 });
  });

  it("the confusion matrix, precision and recall over the real steps only", () => {
    const acc = new MetricAccumulator("sparseCategoricalCrossentropy", [3, 3], ["precision", "recall"], 2);
    acc.add(OUT, LABELS, 2, MASK);
    // Real rows (true → predicted): 0→0, 2→1, 1→1, 1→0.
    expect(acc.confusion()).toEqual([
      [1, 0, 0],
      [1, 1, 0],
      [0, 1, 0],
    ]);
    // Macro over classes 0, 1, 2: precision (1/2 + 1/2 + 0)/3, recall (1 + 1/2 + 0)/3.
    expect(acc.values()).toEqual({ precision: 1 / 3, recall: 0.5 });
  });

  it("regression metrics over the real steps' values only", () => {
    const acc = new MetricAccumulator(
      "meanSquaredError",
      [3, 1],
      ["meanAbsoluteError", "meanSquaredError"],
      2,
    );
    const out = Float64Array.from([1, 2, 50, -60, 0.5, 3]);
    const t = Float64Array.from([0, 0, 0, 0, 0, 1]);
    acc.add(out, t, 2, MASK);
    // Errors 1, 2, 0.5, 2 at the real steps.
    expect(acc.values()).toEqual({ meanAbsoluteError: 5.5 / 4, meanSquaredError: 9.25 / 4 });
  });

  it("hinge and squaredHinge on [T, u]: the argmax of each step's row, not of all T·u values", () => {
    // Rows: argmax 0 (t 0: right), argmax 2 (t 1: wrong), argmax 1 (t 1: right), argmax 0 (t 2:
    // wrong). The argmax over all 12 values (index 7) would match no target's.
    const out = Float64Array.from([0.9, 0.1, 0.2, 0.1, 0.3, 0.5, 0.2, 0.95, 0.1, 0.4, 0.3, 0.2]);
    const t = Float64Array.from([1, -1, -1, -1, 1, -1, -1, 1, -1, -1, -1, 1]);
    for (const loss of ["hinge", "squaredHinge"] as const)
      expect(countCorrect(loss, [2, 3], out, t, 2)).toEqual({ correct: 2, counted: 4 });
    // One unit per step: each step's sign (the third is wrong), 3 of 4; masking the second, 2 of 3.
    const one = Float64Array.from([0.5, -0.5, 0.2, 0.3]);
    const signs = Float64Array.from([1, -1, -1, 1]);
    expect(countCorrect("hinge", [2, 1], one, signs, 2)).toEqual({ correct: 3, counted: 4 });
    expect(countCorrect("hinge", [2, 1], one, signs, 2, Float64Array.from([1, 0, 1, 1]))).toEqual({
      correct: 2,
      counted: 3,
    });
  });
});

/** Right real steps over real steps (every step without `masked`), by hand from the model's outputs. */
function stepAccuracy(
  out: ArrayLike<number>,
  x: Float64Array,
  labels: Float64Array,
  from: number,
  to: number,
  masked: boolean,
) {
  let right = 0;
  let counted = 0;
  for (let row = from * T; row < to * T; row++) {
    if (masked && x[row] === 0) continue;
    const p = Array.from({ length: C }, (_, j) => out[row * C + j]!);
    if (p.indexOf(Math.max(...p)) === labels[row]) right++;
    counted++;
  }
  return right / counted;
}

describe("accuracy of a tagger through training (history, final metrics, validation)", () => {
  const run = (spec: ModelSpec, x: Float64Array, labels: Float64Array, n: number) =>
    train({
      model: spec,
      data: { n, x, y: labels },
      optimizer: { type: "sgd", learningRate: 0 },
      epochs: 1,
      batchSize: 3,
      shuffle: false,
      seed: 1,
      initialWeights: liveWeights(spec, 6),
      validationSplit: 0.25,
      metrics: ["precision"],
    });

  it.each([
    { maskZero: true, head: "timeDistributed" },
    { maskZero: false, head: "timeDistributed" },
    { maskZero: true, head: "dense" },
  ] as const)(
    "maskZero $maskZero, $head: the real steps (every step without a mask), by hand",
    ({ maskZero, head }) => {
      const spec = tagger("sparseCategoricalCrossentropy", "gru", maskZero, head);
      const n = 12;
      const { x, labels, real } = paddedSamples(n, 17);
      const r = run(spec, x, labels, n);
      const m = new Model(spec);
      m.setWeights(liveWeights(spec, 6));
      const out = m.forward(x, n).slice();
      const trainAcc = stepAccuracy(out, x, labels, 0, 9, maskZero);
      expect(r.history.accuracy![0]).toBeCloseTo(trainAcc, 14);
      expect(r.metrics.accuracy).toBeCloseTo(trainAcc, 14);
      expect(r.metrics.valAccuracy).toBeCloseTo(stepAccuracy(out, x, labels, 9, 12, maskZero), 14);
      // The confusion matrix counts the same rows: its trace over its total is the accuracy.
      const cm = r.confusionMatrix!.train;
      const total = cm.flat().reduce((a, v) => a + v, 0);
      expect(total).toBe(maskZero ? real.slice(0, 9).reduce((a, v) => a + v, 0) : 9 * T);
      expect(cm.reduce((a, row, i) => a + row[i]!, 0) / total).toBeCloseTo(trainAcc, 14);
      // The masked and unmasked counts differ on these samples, so each assertion can tell them apart.
      expect(stepAccuracy(out, x, labels, 0, 9, !maskZero)).not.toBeCloseTo(trainAcc, 6);
    },
  );

  it.each(["lstm", "gru"] as const)(
    "%s: padding before or after the real steps gives the same accuracy and loss",
    (recurrent) => {
      const spec = tagger("sparseCategoricalCrossentropy", recurrent);
      const n = 12;
      const after = paddedSamples(n, 29);
      const before = paddedSamples(n, 29, true);
      expect([...before.x]).not.toEqual([...after.x]);
      const a = run(spec, after.x, after.labels, n);
      const b = run(spec, before.x, before.labels, n);
      expect(b.history.accuracy).toEqual(a.history.accuracy);
      expect(b.metrics.accuracy).toBe(a.metrics.accuracy);
      expect(b.metrics.valAccuracy).toBe(a.metrics.valAccuracy);
      expect(b.metrics.precision).toBe(a.metrics.precision);
      expect(b.confusionMatrix).toEqual(a.confusionMatrix);
      expect(b.metrics.loss).toBeCloseTo(a.metrics.loss!, 14);
      expect(a.metrics.accuracy).toBeGreaterThan(0);
      expect(a.metrics.accuracy).toBeLessThan(1);
    },
  );
});
