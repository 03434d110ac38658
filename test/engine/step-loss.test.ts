/**
 * Categorical losses per step with a time-step mask (docs/backprop.md §21.1): embedding(maskZero)
 * → lstm/gru (returnSequences) → timeDistributed dense softmax under categorical and sparse
 * categorical cross-entropy. The loss is computed by hand from the model's own per-step outputs
 * under Keras 3's rule `L = Σ_bt m_bt·w_b·l_bt / Σ_bt m_bt`, on one batch, through training's
 * batches, and over a range longer than one evaluation chunk (the final metrics and the validation
 * loss); the gradients against five-point central differences (float64, relative error < 1e-7).
 */
import { describe, expect, it } from "vitest";
import { computeGradients, EVAL_CHUNK, train } from "../../src/engine/index.js";
import { Model } from "../../src/engine/model.js";
import { worstError } from "./helpers.js";
import { C, liveWeights, maskedByHand, oneHot, paddedSamples, T, tagger } from "./step-data.js";

const cases = [
  { loss: "sparseCategoricalCrossentropy", recurrent: "lstm" },
  { loss: "categoricalCrossentropy", recurrent: "lstm" },
  { loss: "sparseCategoricalCrossentropy", recurrent: "gru" },
  { loss: "categoricalCrossentropy", recurrent: "gru" },
] as const;

/** The targets the loss takes: the labels `[n, T]` (sparse) or their one-hot rows `[n, T, C]`. */
const targetsOf = (loss: string, labels: Float64Array) =>
  loss === "sparseCategoricalCrossentropy" ? labels : oneHot(labels);

describe("the masked per-step loss by hand (Keras 3: Σ m·w·l / Σ m)", () => {
  it.each(cases)(
    "$loss after $recurrent: the model's outputs give the service's loss",
    ({ loss, recurrent }) => {
      const spec = tagger(loss, recurrent);
      const m = new Model(spec);
      m.setWeights(liveWeights(spec, 7));
      const n = 6;
      const { x, labels } = paddedSamples(n, 11);
      const y = targetsOf(loss, labels);
      const out = m.forward(x, n).slice();
      const hand = maskedByHand(out, x, labels, 0, n);
      expect(m.loss(y, n, false, 0) / n).toBeCloseTo(hand, 13);
      const w = Float64Array.from([1, 2, 0.5, 3, 0, 1.5]);
      expect(m.loss(y, n, false, 0, w) / n).toBeCloseTo(maskedByHand(out, x, labels, 0, n, w), 13);
      expect(
        computeGradients({ model: spec, seed: 1, weights: liveWeights(spec, 7), data: { n, x, y } }).loss,
      ).toBeCloseTo(hand, 13);
      // The rule matters here: the mean over every step, or each sample's mean over its real steps
      // averaged over the samples, are other numbers.
      let all = 0;
      let perSample = 0;
      for (let b = 0; b < n; b++) {
        let s = 0;
        let r = 0;
        for (let t = 0; t < T; t++) {
          const l = -Math.log(out[(b * T + t) * C + labels[b * T + t]!]!);
          all += l / (n * T);
          if (x[b * T + t] !== 0) [s, r] = [s + l, r + 1];
        }
        perSample += s / r / n;
      }
      expect(Math.abs(all - hand)).toBeGreaterThan(1e-3);
      expect(Math.abs(perSample - hand)).toBeGreaterThan(1e-3);
    },
  );

  it.each(cases)(
    "$loss after $recurrent: exact gradients (five-point central differences < 1e-7)",
    ({ loss, recurrent }) => {
      const spec = tagger(loss, recurrent);
      const n = 4;
      const { x, labels } = paddedSamples(n, 5);
      const y = targetsOf(loss, labels);
      const m = new Model(spec);
      m.setWeights(liveWeights(spec, 3));
      const L = () => {
        m.forward(x, n);
        return m.loss(y, n, false, 0) / n;
      };
      m.zeroGrads();
      m.forward(x, n);
      m.loss(y, n, true, 1 / n);
      // The lstm's step h = 1e-2: one kernel entry's gradient is 3e-7 of a loss near 1, which
      // h = 1e-3 rounds to 8e-7 relative; the gru's curvature wants h = 1e-3 (at 1e-2 the O(h⁴)
      // truncation is 8e-6 relative in the embeddings).
      const h = recurrent === "lstm" ? 1e-2 : 1e-3;
      for (const p of m.params()) expect(worstError(p.value, p.grad.slice(), L, h), p.key).toBeLessThan(1e-7);
      // The padding id's embedding row is read only at masked steps: no gradient reaches it.
      expect([...m.params()[0]!.grad.subarray(0, 2)]).toEqual([0, 0]);
      expect(Math.max(...m.params()[1]!.grad.map(Math.abs))).toBeGreaterThan(1e-3);
    },
  );

  it("sparse labels [batch, T] give the loss and gradients of their one-hot targets", () => {
    const { x, labels } = paddedSamples(5, 21);
    const run = (loss: "categoricalCrossentropy" | "sparseCategoricalCrossentropy") => {
      const spec = tagger(loss);
      return computeGradients({
        model: spec,
        seed: 1,
        weights: liveWeights(spec, 2),
        data: { n: 5, x, y: targetsOf(loss, labels) },
      });
    };
    const sparse = run("sparseCategoricalCrossentropy");
    const dense = run("categoricalCrossentropy");
    expect(sparse.loss).toBe(dense.loss);
    for (const [key, g] of Object.entries(dense.gradients))
      expect([...sparse.gradients[key]!.data]).toEqual([...g.data]);
  });
});

describe("the masked per-step loss through training and evaluation", () => {
  it("an epoch's loss is Σ_batches b·L_B / n, each batch over its own real steps (Keras' loss tracker)", () => {
    const spec = tagger("sparseCategoricalCrossentropy");
    const weights = liveWeights(spec, 4);
    const n = 6;
    const { x, labels } = paddedSamples(n, 8);
    const r = train({
      model: spec,
      data: { n, x, y: labels },
      optimizer: { type: "sgd", learningRate: 0 },
      epochs: 1,
      batchSize: 2,
      shuffle: false,
      seed: 1,
      initialWeights: weights,
    });
    const m = new Model(spec);
    m.setWeights(weights);
    const out = m.forward(x, n).slice();
    const batches = [0, 2, 4].reduce((s, f) => s + 2 * maskedByHand(out, x, labels, f, f + 2), 0) / n;
    const whole = maskedByHand(out, x, labels, 0, n);
    expect(r.history.loss[0]).toBeCloseTo(batches, 13);
    // The final loss is the training samples as one batch.
    expect(r.metrics.loss).toBeCloseTo(whole, 13);
    expect(Math.abs(batches - whole)).toBeGreaterThan(1e-4);
  });

  it(`final metrics, gradients and validation loss over more than ${EVAL_CHUNK} samples: the range as one batch`, () => {
    const spec = tagger("categoricalCrossentropy");
    const weights = liveWeights(spec, 9);
    const half = EVAL_CHUNK + 44;
    const n = 2 * half;
    // In each half, the first EVAL_CHUNK samples have one real step and weight 1, the last 44 all
    // T steps and weight 3: a chunk's own mean is far from the range's.
    const tail = (b: number) => b % half >= EVAL_CHUNK;
    const { x, labels } = paddedSamples(n, 3, false, (b) => (tail(b) ? T : 1));
    const y = oneHot(labels);
    const w = Float64Array.from({ length: n }, (_, b) => (tail(b) ? 3 : 1));
    const r = train({
      model: spec,
      data: { n, x, y },
      optimizer: { type: "sgd", learningRate: 0 },
      epochs: 1,
      batchSize: half,
      shuffle: false,
      seed: 1,
      initialWeights: weights,
      validationSplit: 0.5,
      sampleWeight: w,
    });
    const m = new Model(spec);
    m.setWeights(weights);
    const out = m.forward(x, n).slice();
    const train1 = maskedByHand(out, x, labels, 0, half, w);
    const val = maskedByHand(out, x, labels, half, n, w);
    expect(r.history.loss[0]).toBeCloseTo(train1, 13);
    expect(r.metrics.loss).toBeCloseTo(train1, 13);
    expect(r.metrics.valLoss).toBeCloseTo(val, 13);
    expect(r.history.valLoss![0]).toBeCloseTo(val, 13);
    // Two chunks each over its own real steps (what evaluation gave before) is another number.
    const chunks =
      (EVAL_CHUNK * maskedByHand(out, x, labels, 0, EVAL_CHUNK, w) +
        44 * maskedByHand(out, x, labels, EVAL_CHUNK, half, w)) /
      half;
    expect(Math.abs(chunks - train1)).toBeGreaterThan(0.1);
    // The final gradients are those of the training samples as one batch.
    m.zeroGrads();
    m.forward(x.subarray(0, half * T), half);
    m.loss(y.subarray(0, half * T * C), half, true, 1 / half, w.subarray(0, half));
    for (const [key, g] of Object.entries(m.getGrads())) {
      const got = r.gradients![key]!.data;
      let worst = 0;
      let scale = 0;
      for (let j = 0; j < g.data.length; j++) {
        worst = Math.max(worst, Math.abs(got[j]! - g.data[j]!));
        scale = Math.max(scale, Math.abs(g.data[j]!));
      }
      expect(worst, key).toBeLessThanOrEqual(1e-12 * scale);
    }
  });
});
