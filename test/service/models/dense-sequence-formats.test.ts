/**
 * dense on an input of more than one axis in the model formats (docs/models.md): exported to
 * TensorFlow.js it is a plain Dense, which tfjs-layers applies to the last axis, so tfjs predicts
 * what the engine does, also with a time-step mask going through it into a recurrent layer;
 * export → import → export gives the same bytes; a Keras Dense on a 3-D input imports as one.
 */
import { describe, expect, it } from "vitest";
import { describeModel, type ModelSpec, predict } from "../../../src/engine/index.js";
import { kerasToSpec, tfjsWeightsToTensors } from "../../../src/service/models/formats/keras-import.js";
import { lossOfModelJson, toTfjs } from "../../../src/service/models/formats/tfjs.js";
import { maxRelativeError } from "../../engine/tfjs-reference.js";
import { loadInTfjs, someInputs, someWeights, tfjsPredict } from "./tfjs-models.js";

/** A tagger: lstm (returnSequences) → dense softmax on `[T, units]`. */
const TAGGER: ModelSpec = {
  inputShape: [6, 3],
  layers: [
    { type: "lstm", name: "r", units: 4, returnSequences: true },
    { type: "dense", name: "d", units: 3, activation: "softmax" },
  ],
  loss: "categoricalCrossentropy",
};

/** embedding(maskZero) → dense tanh on `[T, 3]` → lstm: the mask reaches the lstm through the dense layer. */
const MASKED: ModelSpec = {
  inputShape: [6],
  layers: [
    { type: "embedding", name: "e", inputDim: 7, outputDim: 3, maskZero: true },
    { type: "dense", name: "d", units: 4, activation: "tanh" },
    { type: "lstm", name: "r", units: 2 },
  ],
  loss: "meanSquaredError",
};

describe("dense on [T, F] and TensorFlow.js", () => {
  it("TensorFlow.js loads the exported tagger and predicts what the engine does", async () => {
    const weights = someWeights(TAGGER, 4);
    const n = 4;
    const x = someInputs(TAGGER, n, 2);
    const ours = predict(TAGGER, weights, x, n).data;
    const { modelJson, weightsBin } = toTfjs(TAGGER, weights);
    expect(modelJson.modelTopology.config.layers.map((l) => l.class_name)).toEqual(["LSTM", "Dense"]);
    const model = await loadInTfjs(modelJson, weightsBin);
    expect(model.outputs[0]!.shape).toEqual([null, 6, 3]);
    expect(model.weights.map((w) => `${w.name} ${w.shape.join("x")}`)).toEqual([
      "r/kernel 3x16",
      "r/recurrent_kernel 4x16",
      "r/bias 16",
      "d/kernel 4x3",
      "d/bias 3",
    ]);
    const theirs = tfjsPredict(model, TAGGER, x, n);
    expect(theirs.length).toBe(n * 6 * 3);
    expect(maxRelativeError(ours, theirs)).toBeLessThan(1e-5);
    expect(new Set(Array.from(theirs, (v) => v.toFixed(5))).size).toBe(theirs.length);
  });

  it("the time-step mask through the dense layer into an lstm: tfjs predicts the same on padded ids", async () => {
    const weights = someWeights(MASKED, 8);
    const ids = Float64Array.from([4, 2, 6, 0, 0, 0, 0, 0, 5, 1, 3, 2, 1, 0, 2, 0, 3, 0]);
    const n = 3;
    const ours = predict(MASKED, weights, ids, n).data;
    const { modelJson, weightsBin } = toTfjs(MASKED, weights);
    const embedding = modelJson.modelTopology.config.layers[0]!.config as { mask_zero?: boolean };
    expect(embedding.mask_zero).toBe(true);
    const theirs = tfjsPredict(await loadInTfjs(modelJson, weightsBin), MASKED, ids, n);
    expect(maxRelativeError(ours, theirs)).toBeLessThan(1e-5);
    // The mask matters: without it the lstm would read the padded steps too.
    const unmasked = predict(
      { ...MASKED, layers: [{ ...MASKED.layers[0]!, maskZero: false } as never, ...MASKED.layers.slice(1)] },
      weights,
      ids,
      n,
    ).data;
    expect(maxRelativeError(unmasked, theirs)).toBeGreaterThan(1e-3);
  });

  it("export → import → export gives the same bytes and the same predictions", () => {
    const weights = someWeights(TAGGER, 5);
    const first = toTfjs(TAGGER, weights);
    const json = JSON.parse(JSON.stringify(first.modelJson));
    const { spec } = kerasToSpec(json.modelTopology, ["modelTopology"], lossOfModelJson(json));
    expect(spec.layers[1]).toMatchObject({ type: "dense", name: "d", units: 3, activation: "softmax" });
    const tensors = tfjsWeightsToTensors(spec, json.weightsManifest, first.weightsBin, ["weightsManifest"]);
    const second = toTfjs(spec, tensors);
    expect(JSON.stringify(second.modelJson)).toBe(JSON.stringify(first.modelJson));
    expect(Buffer.from(second.weightsBin).equals(Buffer.from(first.weightsBin))).toBe(true);
    const x = someInputs(TAGGER, 3, 9);
    expect(
      maxRelativeError(predict(spec, tensors, x, 3).data, predict(TAGGER, weights, x, 3).data),
    ).toBeLessThan(1e-5);
  });
});

describe("Keras topologies", () => {
  it("a Keras 3 Dense after an LSTM with return_sequences, on [null, 10, 2], is a dense on [10, 4]", () => {
    const topology = {
      class_name: "Sequential",
      keras_version: "3.4.1",
      config: {
        name: "sequential",
        layers: [
          {
            class_name: "InputLayer",
            config: { batch_shape: [null, 10, 2], dtype: "float32", name: "input" },
          },
          {
            class_name: "LSTM",
            config: { name: "lstm", units: 4, return_sequences: true, recurrent_activation: "sigmoid" },
          },
          {
            class_name: "Dense",
            config: { name: "tags", units: 5, activation: "softmax", use_bias: true },
          },
        ],
      },
    };
    const { spec } = kerasToSpec(topology, ["model"], "sparse_categorical_crossentropy");
    expect(spec.layers[1]).toMatchObject({ type: "dense", name: "tags", units: 5, activation: "softmax" });
    const d = describeModel(spec);
    expect(d.outputShape).toEqual([10, 5]);
    expect(d.layers.at(-1)!.params).toEqual([
      { key: "tags/kernel", shape: [4, 5] },
      { key: "tags/bias", shape: [5] },
    ]);
  });

  it("a Keras 2 Dense first on batch_input_shape [null, 4, 3]", () => {
    const topology = {
      class_name: "Sequential",
      config: {
        name: "s",
        layers: [{ class_name: "Dense", config: { name: "d", units: 2, batch_input_shape: [null, 4, 3] } }],
      },
    };
    const { spec } = kerasToSpec(topology, ["model"], "mse");
    expect(spec.inputShape).toEqual([4, 3]);
    expect(describeModel(spec).outputShape).toEqual([4, 2]);
  });
});
