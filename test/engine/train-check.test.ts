/**
 * `checkTrainOptions` is the one place the options of a run are checked: it rejects, from the
 * model's description alone, exactly what `train` rejects before it runs, with the same message
 * and path, and accepts what `train` runs.
 */
import { describe, expect, it } from "vitest";
import {
  checkTrainOptions,
  describeModel,
  EngineError,
  type ModelSpec,
  type TrainOptions,
  train,
} from "../../src/engine/index.js";
import { initWeights } from "../../src/engine/model-builders.js";
import { randomBatch } from "./helpers.js";

const model: ModelSpec = {
  inputShape: [2],
  layers: [
    { type: "dense", units: 3, activation: "tanh" },
    { type: "dense", units: 2, activation: "softmax" },
  ],
  loss: "sparseCategoricalCrossentropy",
};
const base = (): TrainOptions => ({
  model,
  data: randomBatch(model, 6, 2, 3),
  optimizer: { type: "sgd", learningRate: 0.1 },
  epochs: 2,
  seed: 5,
});

function fault(f: () => unknown): { message: string; path: (string | number)[] } {
  try {
    f();
  } catch (err) {
    if (!(err instanceof EngineError)) throw err;
    return { message: err.message, path: err.path };
  }
  throw new Error("nothing thrown");
}

const state = {
  type: "sgd" as const,
  iterations: 0,
  epochsCompleted: 0,
  shuffleRng: [1, 2, 3, 4],
  shuffleOrder: [0, 1, 2, 3, 4, 5],
};

describe("checkTrainOptions", () => {
  const cases: [string, Partial<TrainOptions>, (string | number)[]][] = [
    [
      "decreasing piecewise boundaries",
      {
        optimizer: {
          type: "sgd",
          learningRate: { type: "piecewiseConstantDecay", boundaries: [10, 5], values: [0.1, 0.05, 0.01] },
        },
      },
      ["optimizer", "learningRate", "boundaries", 1],
    ],
    [
      "valLoss without validation data",
      { earlyStopping: { monitor: "valLoss" } },
      ["earlyStopping", "monitor"],
    ],
    ["a split that leaves nothing to train on", { validationSplit: 0.9 }, ["validationSplit"]],
    ["normalEquation on a classifier", { optimizer: { type: "normalEquation" } }, ["model", "layers"]],
    ["an optimizer state without weights", { optimizerState: state }, ["optimizerState"]],
    [
      "an optimizer state of another optimizer",
      { optimizerState: { ...state, type: "adam" }, initialWeights: initWeights(model, 1) },
      ["optimizerState", "type"],
    ],
    [
      "a shuffle order of other data",
      { optimizerState: { ...state, shuffleOrder: [0, 1, 2] }, initialWeights: initWeights(model, 1) },
      ["optimizerState", "shuffleOrder"],
    ],
    [
      "weights of another model",
      {
        initialWeights: initWeights(
          { ...model, layers: [{ type: "dense", units: 2 }], loss: "meanSquaredError" },
          1,
        ),
      },
      ["initialWeights", "dense_0/kernel"],
    ],
    [
      "a label outside the classes",
      { data: { n: 1, x: new Float64Array(2), y: Float64Array.of(2) } },
      ["y", 0],
    ],
  ];
  for (const [name, over, path] of cases) {
    it(`rejects ${name} as train does`, () => {
      const opts = { ...base(), ...over };
      const checked = fault(() => checkTrainOptions(opts, describeModel(opts.model)));
      expect(checked.path).toEqual(path);
      expect(fault(() => train(opts))).toEqual(checked);
    });
  }

  it("accepts what train runs, and says how the samples split", () => {
    const opts = { ...base(), validationSplit: 0.34, earlyStopping: { monitor: "valLoss" as const } };
    expect(checkTrainOptions(opts, describeModel(model))).toEqual({ nTrain: 3, nVal: 3, linear: false });
    expect(train(opts).epochsRun).toBeGreaterThan(0);
    const linear: ModelSpec = {
      inputShape: [2],
      layers: [{ type: "dense", units: 1 }],
      loss: "meanSquaredError",
    };
    const data = randomBatch(linear, 4, 1, 2);
    expect(
      checkTrainOptions(
        { ...base(), model: linear, data, optimizer: { type: "normalEquation" } },
        describeModel(linear),
      ),
    ).toEqual({ nTrain: 4, nVal: 0, linear: true });
  });
});
