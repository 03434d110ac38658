/**
 * The sequence layers (docs/backprop.md §21) exported: TensorFlow.js loads what `toTfjs` writes and
 * predicts what the engine does, export → import → export gives the same bytes, and what tfjs-layers
 * cannot run (causal conv1d, a masked average) is a 422 naming the layer; onnxruntime-node runs what
 * `toOnnx` writes, the masked mean included, and predicts what the engine does; Keras 3's own
 * configs import.
 */
import { describe, expect, it } from "vitest";
import { type ModelSpec, predict } from "../../../src/engine/index.js";
import { UnprocessableError } from "../../../src/service/errors.js";
import { kerasToSpec, tfjsWeightsToTensors } from "../../../src/service/models/formats/keras-import.js";
import { toOnnx } from "../../../src/service/models/formats/onnx.js";
import { lossOfModelJson, toTfjs } from "../../../src/service/models/formats/tfjs.js";
import { maxRelativeError } from "../../engine/tfjs-reference.js";
import { engineWeights, rng, runOnnx, samples, worstError } from "../onnx/helpers.js";
import { loadInTfjs, someWeights, tfjsPredict } from "./tfjs-models.js";

/** Text: embedding, dilated and strided conv1d, both 1-D poolings, global max pooling. */
const TEXT: ModelSpec = {
  inputShape: [12],
  layers: [
    { type: "embedding", inputDim: 9, outputDim: 4, maskZero: true, embeddingsInitializer: "glorotUniform" },
    { type: "conv1d", filters: 5, kernelSize: 3, padding: "same", dilationRate: 2, activation: "relu" },
    { type: "maxPooling1d", poolSize: 2, padding: "same" },
    { type: "averagePooling1d", poolSize: [2], strides: 1 },
    { type: "conv1d", filters: 3, kernelSize: [2], strides: 2, useBias: false, activation: "tanh" },
    { type: "globalMaxPooling1d" },
    { type: "dense", units: 2, activation: "softmax" },
  ],
  loss: "categoricalCrossentropy",
};

/** A [steps, channels] series: conv1d valid into a global average. */
const SERIES: ModelSpec = {
  inputShape: [10, 2],
  layers: [
    { type: "conv1d", filters: 4, kernelSize: 4, activation: "sigmoid", kernelRegularizer: { l2: 1e-3 } },
    { type: "globalAveragePooling1d" },
    { type: "dense", units: 1 },
  ],
  loss: "meanSquaredError",
};

/** The masked mean: embedding (maskZero) → globalAveragePooling1d (ONNX only; tfjs cannot). */
const MASKED: ModelSpec = {
  inputShape: [6],
  layers: [
    { type: "embedding", inputDim: 5, outputDim: 3, maskZero: true },
    { type: "activation", activation: "tanh" },
    { type: "globalAveragePooling1d" },
    { type: "dense", units: 2 },
  ],
  loss: "meanSquaredError",
};

/** `n` samples for `spec`: ids in [0, inputDim) (a third of them 0) after an embedding, else [−2, 2]. */
function inputs(spec: ModelSpec, n: number, seed: number): Float64Array {
  const first = spec.layers[0]!;
  if (first.type !== "embedding") return samples(spec.inputShape, n, seed);
  const r = rng(seed);
  const size = spec.inputShape[0]!;
  const x = Float64Array.from({ length: n * size }, () =>
    r() < 0.33 ? 0 : 1 + Math.floor(r() * (first.inputDim - 1)),
  );
  // One sample of padding only: the masked mean's empty case.
  x.fill(0, 0, size);
  return x;
}

describe("toTfjs with the sequence layers", () => {
  it.each([
    ["text", TEXT],
    ["series", SERIES],
  ] as const)("%s: TensorFlow.js loads it and predicts what the engine does", async (_, spec) => {
    const weights = someWeights(spec, 7);
    const n = 6;
    const x = inputs(spec, n, 3);
    const ours = predict(spec, weights, x, n).data;
    const { modelJson, weightsBin } = toTfjs(spec, weights);
    const theirs = tfjsPredict(await loadInTfjs(modelJson, weightsBin), spec, x, n);
    expect(maxRelativeError(ours, theirs)).toBeLessThan(1e-5);
    expect(new Set(Array.from(theirs, (v) => v.toFixed(5))).size).toBeGreaterThanOrEqual(n);
  });

  it("writes Keras' classes and keys, and mask_zero false where no layer reads the mask", () => {
    const layers = toTfjs(TEXT, someWeights(TEXT, 1)).modelJson.modelTopology.config.layers;
    expect(layers.map((l) => l.class_name)).toEqual([
      "Embedding",
      "Conv1D",
      "MaxPooling1D",
      "AveragePooling1D",
      "Conv1D",
      "GlobalMaxPooling1D",
      "Dense",
    ]);
    expect(layers[0]!.config).toMatchObject({
      input_dim: 9,
      output_dim: 4,
      mask_zero: false,
      batch_input_shape: [null, 12],
    });
    expect(layers[1]!.config).toMatchObject({
      kernel_size: [3],
      strides: [1],
      dilation_rate: [2],
      padding: "same",
    });
    expect(layers[3]!.config).toMatchObject({ pool_size: [2], strides: [1], padding: "valid" });
  });

  it.each([
    ["text", TEXT],
    ["series", SERIES],
  ] as const)("%s: export → import → export gives the same bytes", (_, spec) => {
    const weights = someWeights(spec, 5);
    const first = toTfjs(spec, weights);
    const json = JSON.parse(JSON.stringify(first.modelJson));
    const { spec: imported } = kerasToSpec(json.modelTopology, ["modelTopology"], lossOfModelJson(json));
    const tensors = tfjsWeightsToTensors(imported, json.weightsManifest, first.weightsBin, [
      "weightsManifest",
    ]);
    const second = toTfjs(imported, tensors);
    expect(JSON.stringify(second.modelJson)).toBe(JSON.stringify(first.modelJson));
    expect(Buffer.from(second.weightsBin).equals(Buffer.from(first.weightsBin))).toBe(true);
  });

  const refusal = (spec: ModelSpec) => {
    try {
      toTfjs(spec, someWeights(spec, 1));
    } catch (e) {
      expect(e).toBeInstanceOf(UnprocessableError);
      return (e as UnprocessableError).errors ?? [];
    }
    throw new Error("expected a 422");
  };

  it("causal conv1d is a 422 at its padding: tfjs-layers' Conv1D throws on causal", () => {
    const spec: ModelSpec = {
      ...SERIES,
      layers: [{ type: "conv1d", filters: 2, kernelSize: 3, padding: "causal" }, ...SERIES.layers.slice(1)],
    };
    const errors = refusal(spec);
    expect(errors.map((e) => e.path)).toEqual(["model.layers[0].padding"]);
    expect(errors[0]!.message).toContain("causal");
  });

  it("a masked globalAveragePooling1d is a 422 at that layer: tfjs-layers' has no masking", () => {
    const errors = refusal(MASKED);
    expect(errors.map((e) => e.path)).toEqual(["model.layers[2]"]);
    expect(errors[0]!.message).toContain("GlobalAveragePooling1D");
  });
});

describe("toOnnx with the sequence layers: onnxruntime-node predicts what the engine does", () => {
  const causal: ModelSpec = {
    inputShape: [9],
    layers: [
      { type: "embedding", inputDim: 6, outputDim: 3 },
      { type: "conv1d", filters: 4, kernelSize: 3, padding: "causal", dilationRate: 2, activation: "relu" },
      { type: "averagePooling1d", poolSize: 2, padding: "same" },
      { type: "flatten" },
      { type: "dense", units: 2 },
    ],
    loss: "meanSquaredError",
  };
  it.each([
    ["text", TEXT],
    ["series", SERIES],
    ["masked mean", MASKED],
    ["causal, dilated, average pooling over a padded border", causal],
  ] as const)("%s", async (_, spec) => {
    const weights = engineWeights(spec, 4);
    const n = 5;
    const x = inputs(spec, n, 8);
    const ours = predict(spec, weights, x, n).data;
    const out = await runOnnx(toOnnx(spec, weights), x, [n, ...spec.inputShape]);
    expect(out.dims).toEqual([n, ...predict(spec, weights, x, n).shape.slice(1)]);
    const worst = worstError(out.data as Float32Array, ours);
    expect(worst.ratio, `at ${worst.at}`).toBeLessThanOrEqual(1);
  });
});

describe("Keras' own configs of the sequence layers import", () => {
  it("Embedding (mask_zero), Conv1D causal and dilated, AvgPool1D, GlobalAveragePooling1D, as Keras 3 writes them", () => {
    const topology = {
      class_name: "Sequential",
      keras_version: "3.6.0",
      config: {
        name: "text",
        layers: [
          { class_name: "InputLayer", config: { batch_shape: [null, 10], dtype: "float32", name: "ids" } },
          {
            class_name: "Embedding",
            config: {
              name: "emb",
              input_dim: 50,
              output_dim: 8,
              mask_zero: true,
              embeddings_initializer: {
                class_name: "RandomUniform",
                config: { minval: -0.05, maxval: 0.05, seed: null },
              },
              embeddings_regularizer: null,
              activity_regularizer: null,
              embeddings_constraint: null,
              lora_rank: null,
            },
          },
          {
            class_name: "Conv1D",
            config: {
              name: "conv",
              filters: 4,
              kernel_size: [3],
              strides: [1],
              padding: "causal",
              dilation_rate: [2],
              groups: 1,
              activation: "relu",
              use_bias: true,
              data_format: "channels_last",
            },
          },
          {
            class_name: "AvgPool1D",
            config: {
              name: "pool",
              pool_size: [2],
              strides: [2],
              padding: "valid",
              data_format: "channels_last",
            },
          },
          {
            class_name: "GlobalAveragePooling1D",
            config: { name: "gap", data_format: "channels_last", keepdims: false },
          },
          { class_name: "Dense", config: { name: "out", units: 1, activation: "sigmoid" } },
        ],
      },
    };
    const { spec } = kerasToSpec(topology, ["model"], "binary_crossentropy");
    expect(spec.inputShape).toEqual([10]);
    expect(spec.layers.slice(0, 4)).toEqual([
      {
        type: "embedding",
        name: "emb",
        inputDim: 50,
        outputDim: 8,
        maskZero: true,
        embeddingsInitializer: { type: "randomUniform", minval: -0.05, maxval: 0.05 },
      },
      {
        type: "conv1d",
        name: "conv",
        filters: 4,
        kernelSize: [3],
        strides: [1],
        padding: "causal",
        dilationRate: [2],
        activation: "relu",
        useBias: true,
      },
      { type: "averagePooling1d", name: "pool", poolSize: [2], strides: [2], padding: "valid" },
      { type: "globalAveragePooling1d", name: "gap" },
    ]);
    // Built: the conv drops the mask (Keras 3's Conv1D does not support masking).
    expect(predict(spec, someWeights(spec, 2), inputs(spec, 2, 1), 2).shape).toEqual([2, 1]);
  });
});
