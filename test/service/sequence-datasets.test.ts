/**
 * The generated sequence sets: the adding problem and the noisy sine waves, their values drawn
 * from a seed (the same bits every time), their targets shaped by the model's loss.
 */
import { describe, expect, it } from "vitest";
import { describeModel, type LossName, type ModelSpec } from "../../src/engine/index.js";
import { loadBuiltIn } from "../../src/service/datasets.js";
import { UnprocessableError } from "../../src/service/errors.js";
import { addingProblem, SINE_NOISE, SINE_PERIODS, sineWave } from "../../src/service/sequence-datasets.js";
import { sequenceInfos } from "../../src/service/sequence-load.js";

function rnn(inputShape: number[], units: number, loss: LossName) {
  const spec: ModelSpec = {
    inputShape,
    layers: [
      { type: "simpleRNN", units: 2 },
      { type: "dense", units, activation: loss === "meanSquaredError" ? "linear" : "softmax" },
    ],
    loss,
  };
  return describeModel(spec);
}

describe("addingProblem", () => {
  const T = 10;
  const { x, y } = addingProblem(T, 500, 7);

  it("[value, marker] steps: two markers, one per half, the target their values' sum", () => {
    expect(x).toHaveLength(500 * T * 2);
    for (let i = 0; i < 500; i++) {
      const marked: number[] = [];
      for (let t = 0; t < T; t++) {
        const [v, m] = [x[(i * T + t) * 2]!, x[(i * T + t) * 2 + 1]!];
        expect(v >= 0 && v < 1).toBe(true);
        expect(m === 0 || m === 1).toBe(true);
        if (m === 1) marked.push(t);
      }
      expect(marked).toHaveLength(2);
      expect(marked[0]).toBeLessThan(T / 2);
      expect(marked[1]).toBeGreaterThanOrEqual(T / 2);
      expect(y[i]).toBe(x[(i * T + marked[0]!) * 2]! + x[(i * T + marked[1]!) * 2]!);
    }
    // The sum of two uniforms: mean 1, variance 1/6 (500 samples: within 4 standard errors).
    const mean = y.reduce((s, v) => s + v, 0) / 500;
    const variance = y.reduce((s, v) => s + (v - mean) ** 2, 0) / 500;
    expect(Math.abs(mean - 1)).toBeLessThan(4 * Math.sqrt(1 / 6 / 500));
    expect(variance).toBeGreaterThan(0.13);
    expect(variance).toBeLessThan(0.2);
  });

  it("is a function of its seed: the same bits again, others for another seed", () => {
    const again = addingProblem(T, 500, 7);
    expect(again.x).toEqual(x);
    expect(again.y).toEqual(y);
    expect(addingProblem(T, 500, 8).y).not.toEqual(y);
    // The values served (a change of the generator changes the data sets users trained on).
    expect(addingProblem(50, 2, 1997).y[0]).toMatchInlineSnapshot(`1.571786739784777`);
  });

  it("as a built-in set: defaults T = 50 and 1000 samples; parameters; a regression loss only", () => {
    const d = loadBuiltIn({ name: "addingProblem" }, rnn([50, 2], 1, "meanSquaredError"), "meanSquaredError");
    expect(d.n).toBe(1000);
    expect(d.x).toHaveLength(1000 * 50 * 2);
    expect(d.y).toEqual(addingProblem(50, 1000, 1997).y);
    const small = loadBuiltIn(
      { name: "addingProblem", timesteps: 10, samples: 500, seed: 7 },
      rnn([10, 2], 1, "meanSquaredError"),
      "meanSquaredError",
    );
    expect(small.y).toEqual(y);
    expect(() =>
      loadBuiltIn(
        { name: "addingProblem" },
        rnn([50, 2], 3, "categoricalCrossentropy"),
        "categoricalCrossentropy",
      ),
    ).toThrow(/targets are sums, not classes: train it with a regression loss/);
    expect(() =>
      loadBuiltIn({ name: "addingProblem" }, rnn([50, 2], 2, "meanSquaredError"), "meanSquaredError"),
    ).toThrow(/needs 1 output unit; it has 2/);
    try {
      loadBuiltIn(
        { name: "addingProblem", timesteps: 20 },
        rnn([50, 2], 1, "meanSquaredError"),
        "meanSquaredError",
      );
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(UnprocessableError);
      expect((e as UnprocessableError).message).toMatch(
        /samples of shape \[20, 2\]; the model's inputShape \[50, 2\]/,
      );
      expect((e as UnprocessableError).errors?.[0]?.path).toBe("dataset.timesteps");
    }
  });
});

describe("sineWave", () => {
  const T = 12;
  const { x, y, labels } = sineWave(T, 300, 3);

  it("noisy sines of the three periods; the target the next value", () => {
    expect(x).toHaveLength(300 * T);
    const counts = [0, 0, 0];
    for (const l of labels!) counts[l]!++;
    for (const c of counts) expect(c).toBeGreaterThan(70);
    // Fit each sample's phase from its clean wave: the residuals are the noise (σ = 0.1).
    let sq = 0;
    for (let i = 0; i < 300; i++) {
      const p = SINE_PERIODS[labels![i]!]!;
      // Least squares for a·sin + b·cos of the known period, over the T inputs and the target.
      const ts = Array.from({ length: T + 1 }, (_, t) => t);
      const v = ts.map((t) => (t < T ? x[i * T + t]! : y[i]!));
      const s = ts.map((t) => Math.sin((2 * Math.PI * t) / p));
      const c = ts.map((t) => Math.cos((2 * Math.PI * t) / p));
      const dot = (a: number[], b: number[]) => a.reduce((acc, ai, k) => acc + ai * b[k]!, 0);
      const [ss, cc, sc, vs, vc] = [dot(s, s), dot(c, c), dot(s, c), dot(v, s), dot(v, c)];
      const det = ss * cc - sc * sc;
      const a = (vs * cc - vc * sc) / det;
      const b = (vc * ss - vs * sc) / det;
      expect(Math.hypot(a, b)).toBeGreaterThan(0.85);
      expect(Math.hypot(a, b)).toBeLessThan(1.15);
      for (let k = 0; k <= T; k++) sq += (v[k]! - a * s[k]! - b * c[k]!) ** 2;
    }
    const rms = Math.sqrt(sq / (300 * (T + 1 - 2)));
    expect(Math.abs(rms - SINE_NOISE)).toBeLessThan(0.01);
  });

  it("GET /datasets' description prints the forecast's floor rounded (0.01, not 0.1²'s 0.010000000000000002)", () => {
    const info = sequenceInfos().find((d) => d.name === "sineWave")!;
    expect(SINE_NOISE ** 2).not.toBe(0.01);
    expect(info.targets).toContain("the noise's variance, 0.1² = 0.01)");
    expect(`${info.description} ${info.targets}`).not.toMatch(/\d\.\d{8,}/);
  });

  it("targets by the loss: next value (regression), labels (sparse), one-hot (3 units)", () => {
    const reg = loadBuiltIn({ name: "sineWave" }, rnn([20, 1], 1, "meanSquaredError"), "meanSquaredError");
    expect(reg.n).toBe(1000);
    expect(reg.y).toEqual(sineWave(20, 1000, 2015).y);
    const sparse = loadBuiltIn(
      { name: "sineWave", timesteps: T, samples: 300, seed: 3 },
      rnn([T, 1], 3, "sparseCategoricalCrossentropy"),
      "sparseCategoricalCrossentropy",
    );
    expect([...sparse.y]).toEqual([...labels!]);
    const hot = loadBuiltIn(
      { name: "sineWave", timesteps: T, samples: 300, seed: 3 },
      rnn([T, 1], 3, "categoricalCrossentropy"),
      "categoricalCrossentropy",
    );
    expect([...hot.y.subarray(0, 3)]).toEqual([0, 1, 2].map((k) => (k === labels![0] ? 1 : 0)));
    expect(() =>
      loadBuiltIn(
        { name: "sineWave" },
        rnn([20, 1], 2, "categoricalCrossentropy"),
        "categoricalCrossentropy",
      ),
    ).toThrow(
      /3 classes \(its periods\): with categoricalCrossentropy the model needs 3 output units; it has 2/,
    );
  });
});
