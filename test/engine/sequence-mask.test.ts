/**
 * The time-step mask of docs/backprop.md §21.1 (an embedding's maskZero carried through the model,
 * consumed by globalAveragePooling1d, dropped by layers without mask support, refused at the
 * output) and the sequence layers' errors, each naming the field.
 */
import { describe, expect, it } from "vitest";
import { describeModel, EngineError, type ModelSpec } from "../../src/engine/index.js";
import { Model } from "../../src/engine/model.js";

const f64 = (xs: number[]) => Float64Array.from(xs);

function fails(spec: ModelSpec): EngineError {
  try {
    describeModel(spec);
  } catch (e) {
    expect(e).toBeInstanceOf(EngineError);
    return e as EngineError;
  }
  throw new Error("expected an EngineError");
}

describe("the time-step mask (docs/backprop.md §21.1)", () => {
  const spec = (between: ModelSpec["layers"]): ModelSpec => ({
    inputShape: [4],
    layers: [
      { type: "embedding", inputDim: 5, outputDim: 2, maskZero: true },
      ...between,
      { type: "globalAveragePooling1d" },
    ],
    loss: "meanSquaredError",
  });
  const ids = f64([3, 0, 0, 4]);
  const outputOf = (s: ModelSpec) => {
    const m = new Model(s);
    m.initialise(3);
    return [...m.forward(ids, 1)];
  };

  it("passes through activations and dropout, reaches globalAveragePooling1d", () => {
    const m = new Model(
      spec([
        { type: "activation", activation: "tanh" },
        { type: "dropout", rate: 0.5 },
      ]),
    );
    m.initialise(3);
    const e = m.params()[0]!.value;
    const y = [...m.forward(ids, 1)];
    // Only steps 0 and 3 (ids 3 and 4) count.
    expect(y[0]).toBeCloseTo((Math.tanh(e[6]!) + Math.tanh(e[8]!)) / 2, 15);
    expect(y[1]).toBeCloseTo((Math.tanh(e[7]!) + Math.tanh(e[9]!)) / 2, 15);
  });

  it("is dropped by layers that do not support it (conv1d): the average counts every step", () => {
    const s = spec([
      { type: "conv1d", filters: 1, kernelSize: 1, kernelInitializer: "ones", useBias: false },
    ]);
    const m = new Model(s);
    m.initialise(3);
    const e = m.params()[0]!.value;
    const y = outputOf(s);
    expect(y[0]).toBeCloseTo((e[6]! + e[7]! + 2 * (e[0]! + e[1]!) + e[8]! + e[9]!) / 4, 15);
  });

  it("a mask that reaches the output is a 422 naming the last layer (the loss does not weight by it)", () => {
    const e = fails({
      inputShape: [4],
      layers: [
        { type: "embedding", inputDim: 5, outputDim: 2, maskZero: true },
        { type: "activation", activation: "relu" },
      ],
      loss: "meanSquaredError",
    });
    expect(e.path).toEqual(["layers", 1]);
    expect(e.message).toContain("maskZero");
  });
});

describe("errors name the field", () => {
  const base = (layers: ModelSpec["layers"], inputShape = [6, 2]): ModelSpec => ({
    inputShape,
    layers,
    loss: "meanSquaredError",
  });
  it.each([
    [
      "an embedding after another layer",
      base(
        [
          { type: "dense", units: 6 },
          { type: "embedding", inputDim: 3, outputDim: 2 },
        ],
        [6],
      ),
      ["layers", 1],
      "first layer",
    ],
    [
      "an embedding on [steps, channels]",
      base([{ type: "embedding", inputDim: 3, outputDim: 2 }]),
      ["layers", 0],
      "[timesteps]",
    ],
    [
      "an inputLength that differs",
      base([{ type: "embedding", inputDim: 3, outputDim: 2, inputLength: 5 }], [6]),
      ["layers", 0, "inputLength"],
      "6",
    ],
    [
      "conv1d on a vector",
      base([{ type: "conv1d", filters: 2, kernelSize: 2 }], [6]),
      ["layers", 0],
      "[steps, channels]",
    ],
    [
      "strides and dilation both above 1",
      base([{ type: "conv1d", filters: 2, kernelSize: 2, strides: 2, dilationRate: 2 }]),
      ["layers", 0, "dilationRate"],
      "strides 1",
    ],
    [
      "a dilated kernel longer than the input",
      base([{ type: "conv1d", filters: 2, kernelSize: 3, dilationRate: 3 }]),
      ["layers", 0],
      "spanning 7 steps",
    ],
    [
      "a pool longer than the input",
      base([{ type: "maxPooling1d", poolSize: 7 }]),
      ["layers", 0],
      "pool of 7",
    ],
    [
      "padding causal on a pooling",
      base([{ type: "averagePooling1d", padding: "causal" as "same" }]),
      ["layers", 0, "padding"],
      "valid",
    ],
  ] as const)("%s", (_, spec, path, words) => {
    const e = fails(spec as ModelSpec);
    expect(e.path).toEqual(path);
    expect(e.message).toContain(words);
  });
});
