import { describe, expect, it } from "vitest";
import { describeModel, type LossName, type ModelSpec } from "../../src/engine/index.js";
import { decodeBuiltIn, listDatasets, loadBuiltIn } from "../../src/service/datasets.js";
import { UnprocessableError } from "../../src/service/errors.js";

function summary(inputs: number, units: number, loss: LossName) {
  const activation =
    loss === "meanSquaredError" ? "linear" : loss === "binaryCrossentropy" ? "sigmoid" : "softmax";
  const spec: ModelSpec = { inputShape: [inputs], layers: [{ type: "dense", units, activation }], loss };
  return describeModel(spec);
}

describe("built-in data sets", () => {
  it("lists iris (Fisher's 150 samples), xor, the MNIST digits and the generated sequence sets", () => {
    const names = listDatasets().map((d) => d.name);
    expect(names).toEqual(["iris", "xor", "mnist", "addingProblem", "sineWave"]);
  });

  it("serves the 10,000 MNIST digits as [28, 28, 1] images in [0, 1], every class mixed through", () => {
    const spec: ModelSpec = {
      inputShape: [28, 28, 1],
      layers: [{ type: "flatten" }, { type: "dense", units: 10, activation: "softmax" }],
      loss: "sparseCategoricalCrossentropy",
    };
    const d = loadBuiltIn("mnist", describeModel(spec), "sparseCategoricalCrossentropy");
    expect(d.n).toBe(10_000);
    expect(d.x).toHaveLength(10_000 * 784);
    let min = 1;
    let max = 0;
    for (const v of d.x) {
      if (v < min) min = v;
      if (v > max) max = v;
    }
    expect([min, max]).toEqual([0, 1]);
    // Per-digit counts of the package's files, and every class among the last 2,000 (validation).
    const counts = new Array(10).fill(0);
    for (const l of d.y) counts[l]++;
    expect(counts).toEqual([1001, 1127, 991, 1032, 980, 863, 1014, 1070, 944, 978]);
    const tail = new Set(d.y.subarray(8000));
    expect(tail.size).toBe(10);
    // The same order every time: the samples are decoded once per process, shared memory that a
    // worker receives without a copy; the targets are fresh.
    const again = loadBuiltIn("mnist", describeModel(spec), "sparseCategoricalCrossentropy");
    expect(again.y).toEqual(d.y);
    expect(again.y.buffer).not.toBe(d.y.buffer);
    expect(again.x.buffer).toBe(d.x.buffer);
    expect(d.x.buffer).toBeInstanceOf(SharedArrayBuffer);
  });

  it("decodes MNIST off the event loop to exactly the values and order it decodes on it", async () => {
    const [here, there] = await Promise.all([decodeBuiltIn("mnist", false), decodeBuiltIn("mnist", true)]);
    expect(there.labels).toEqual(here.labels);
    expect(Buffer.from(there.x.buffer).equals(Buffer.from(here.x.buffer))).toBe(true);
    // A digit the package ships first ("0.json", image 0) lands in the seeded order's row: a zero.
    expect(here.labels.length).toBe(10_000);
    expect(here.x.some((v) => v > 0)).toBe(true);
  });

  it("serves iris's 150 samples in a fixed mixed order, labels 0..2, every species in the last 20%", () => {
    const d = loadBuiltIn(
      "iris",
      summary(4, 3, "sparseCategoricalCrossentropy"),
      "sparseCategoricalCrossentropy",
    );
    expect(d.n).toBe(150);
    expect(d.x).toHaveLength(600);
    const counts = [0, 0, 0];
    for (const l of d.y) counts[l] = (counts[l] ?? 0) + 1;
    expect(counts).toEqual([50, 50, 50]);
    expect(new Set(d.y.subarray(120)).size).toBe(3);
    // The rows are Fisher's, each with its own species: the first setosa row is still a setosa.
    const rows = Array.from({ length: 150 }, (_, i) => [...d.x.subarray(i * 4, i * 4 + 4)].join(","));
    const first = rows.indexOf("5.1,3.5,1.4,0.2");
    expect(first).toBeGreaterThanOrEqual(0);
    expect(d.y[first]).toBe(0);
    // The same order every call.
    const again = loadBuiltIn(
      "iris",
      summary(4, 3, "sparseCategoricalCrossentropy"),
      "sparseCategoricalCrossentropy",
    );
    expect([...again.y]).toEqual([...d.y]);
  });

  it("one-hot encodes iris for other losses, matching the labels", () => {
    const sparse = loadBuiltIn(
      "iris",
      summary(4, 3, "sparseCategoricalCrossentropy"),
      "sparseCategoricalCrossentropy",
    );
    const d = loadBuiltIn("iris", summary(4, 3, "categoricalCrossentropy"), "categoricalCrossentropy");
    expect(d.y).toHaveLength(450);
    for (let i = 0; i < 150; i++) {
      const row = [0, 0, 0];
      row[sparse.y[i]!] = 1;
      expect([...d.y.subarray(i * 3, i * 3 + 3)]).toEqual(row);
    }
  });

  it("gives xor 0/1 targets to a one-unit model", () => {
    const d = loadBuiltIn("xor", summary(2, 1, "binaryCrossentropy"), "binaryCrossentropy");
    expect([...d.y]).toEqual([0, 1, 1, 0]);
  });

  it("shares the samples between calls (shared memory, cloned to workers without a copy); fresh targets", () => {
    const s = summary(2, 1, "meanSquaredError");
    const a = loadBuiltIn("xor", s, "meanSquaredError");
    const b = loadBuiltIn("xor", s, "meanSquaredError");
    expect(a.x.buffer).toBe(b.x.buffer);
    expect(a.x.buffer).toBeInstanceOf(SharedArrayBuffer);
    expect(a.y.buffer).not.toBe(b.y.buffer);
    expect([...a.x]).toEqual([0, 0, 0, 1, 1, 0, 1, 1]);
  });

  it("rejects a model whose input or output does not fit", () => {
    expect(() =>
      loadBuiltIn("iris", summary(3, 3, "sparseCategoricalCrossentropy"), "sparseCategoricalCrossentropy"),
    ).toThrow(UnprocessableError);
    expect(() =>
      loadBuiltIn("iris", summary(4, 2, "categoricalCrossentropy"), "categoricalCrossentropy"),
    ).toThrow(/3 classes/);
  });
});
