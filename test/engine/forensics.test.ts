/**
 * The finiteness checks NaN forensics runs on every layer output after every batch (`allFinite`,
 * `nonFiniteOutput`): every position of a non-finite value is found, whatever the array's length.
 */
import { describe, expect, it } from "vitest";
import { allFinite, nonFiniteOutput } from "../../src/engine/forensics.js";
import { Model } from "../../src/engine/model.js";

describe("allFinite", () => {
  it("finds NaN, ∞ and −∞ at every position of arrays of 0 to 11 values (the four sums and the tail)", () => {
    for (let n = 0; n <= 11; n++) {
      const a = Float64Array.from({ length: n }, (_, i) => (i % 2 === 0 ? 1e308 : -0));
      expect(allFinite(a)).toBe(true);
      for (let i = 0; i < n; i++)
        for (const bad of [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY]) {
          const b = Float64Array.from(a);
          b[i] = bad;
          expect(allFinite(b), `n = ${n}, [${i}] = ${bad}`).toBe(false);
        }
    }
  });

  it("an ∞ and a −∞ in different sums do not cancel", () => {
    const a = new Float64Array(8);
    a[0] = Number.POSITIVE_INFINITY;
    a[5] = Number.NEGATIVE_INFINITY;
    expect(allFinite(a)).toBe(false);
  });
});

describe("nonFiniteOutput", () => {
  // conv → relu → flatten (hands its input on as it is) → dense.
  const model = new Model({
    inputShape: [3, 3, 1],
    layers: [
      { type: "conv2d", filters: 1, kernelSize: 2, activation: "relu" },
      { type: "flatten" },
      { type: "dense", units: 2 },
    ],
    loss: "meanSquaredError",
  });
  model.initialise(1);

  it("names the first layer whose output is not finite, counting flatten's shared output as the layer before it", () => {
    model.forward(Float64Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9]), 1);
    expect(nonFiniteOutput(model)).toBe(-1);
    model.forward(Float64Array.from([1, 2, 3, 4, Number.NaN, 6, 7, 8, 9]), 1);
    expect(model.layerOutput(2)).toBe(model.layerOutput(1)); // flatten's output is relu's
    expect(nonFiniteOutput(model)).toBe(0); // the convolution
    expect(model.layers.map((l) => l.type)).toEqual(["conv2d", "activation", "flatten", "dense"]);
  });

  it("still checks the layers after a flatten", () => {
    const kernel = model.params().find((p) => p.key === "dense_2/kernel")!;
    kernel.value[0] = Number.POSITIVE_INFINITY;
    model.forward(Float64Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9]), 1);
    expect(nonFiniteOutput(model)).toBe(3);
  });
});

describe("nonFiniteOutput skips no layer that could be the first non-finite one", () => {
  // conv → relu → max pooling → flatten → dense → softmax: relu, pooling, flatten and softmax are not
  // read after a finite output; the answer must be that of reading every output.
  const spec = {
    inputShape: [4, 4, 1],
    layers: [
      { type: "conv2d" as const, filters: 2, kernelSize: 2, activation: "relu" as const },
      { type: "maxPooling2d" as const, poolSize: 2 },
      { type: "flatten" as const },
      { type: "dense" as const, units: 3, activation: "softmax" as const },
    ],
    loss: "categoricalCrossentropy" as const,
  };
  const everyOutput = (m: Model) => m.layers.findIndex((_, i) => !allFinite(m.layerOutput(i)));
  const x = Float64Array.from({ length: 32 }, (_, i) => (i % 7) - 3);

  it.each([
    ["finite throughout", () => {}, -1],
    ["a NaN input reaches the convolution", (_: Model, input: Float64Array) => (input[5] = Number.NaN), 0],
    ["an overflowing convolution kernel", (m: Model) => (m.params()[0]!.value[0] = 1e308 * 10), 0],
    [
      "a huge dense kernel: dense overflows, softmax turns it into NaN",
      (m: Model) => m.params()[2]!.value.fill(1e308),
      4,
    ],
    ["an infinite dense bias", (m: Model) => (m.params()[3]!.value[1] = Number.NEGATIVE_INFINITY), 4],
  ] as const)("%s", (_, spoil, expected) => {
    const model = new Model(spec);
    model.initialise(3);
    const input = Float64Array.from(x);
    spoil(model, input);
    model.forward(input, 2);
    expect(model.layers.map((l) => l.type)).toEqual([
      "conv2d",
      "activation",
      "maxPooling2d",
      "flatten",
      "dense",
      "activation",
    ]);
    expect(everyOutput(model)).toBe(expected);
    expect(nonFiniteOutput(model)).toBe(expected);
  });
});
