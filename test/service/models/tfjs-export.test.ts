/**
 * `toTfjs` against TensorFlow.js itself: what it writes loads with `tf.loadLayersModel` and
 * predicts what the engine predicts (inference mode, relative 1e-5: the weights are rounded
 * once to float32); the files are deterministic; and export → import → export gives the same
 * bytes. Layers and options tfjs cannot express are 422s naming the layer and the format.
 */
import { describe, expect, it } from "vitest";
import { type ModelSpec, predict } from "../../../src/engine/index.js";
import { UnprocessableError } from "../../../src/service/errors.js";
import { kerasToSpec, tfjsWeightsToTensors } from "../../../src/service/models/formats/keras-import.js";
import { lossOfModelJson, toTfjs } from "../../../src/service/models/formats/tfjs.js";
import { maxRelativeError } from "../../engine/tfjs-reference.js";
import { ACTIVATIONS, CNN, loadInTfjs, MLP, someInputs, someWeights, tfjsPredict } from "./tfjs-models.js";

const MODELS: [string, ModelSpec][] = [
  ["cnn", CNN],
  ["activations", ACTIVATIONS],
  ["mlp", MLP],
];

describe("toTfjs: TensorFlow.js loads the model and predicts what the engine does", () => {
  it.each(MODELS)("%s", async (_, spec) => {
    const weights = someWeights(spec, 11);
    const n = 7;
    const x = someInputs(spec, n, 3);
    const ours = predict(spec, weights, x, n).data;
    const { modelJson, weightsBin } = toTfjs(spec, weights);
    const model = await loadInTfjs(modelJson, weightsBin);
    const theirs = tfjsPredict(model, spec, x, n);
    expect(theirs.length).toBe(ours.length);
    expect(maxRelativeError(ours, theirs)).toBeLessThan(1e-5);
    // The outputs are not degenerate: every sample's differs.
    const k = ours.length / n;
    const rows = new Set(
      Array.from({ length: n }, (_, s) =>
        Array.from(theirs.slice(s * k, s * k + k), (v) => v.toFixed(6)).join(),
      ),
    );
    expect(rows.size).toBe(n);
  });

  it("writes the topology as tfjs does: class names, snake_case keys, the batch shape, the loss", () => {
    const { modelJson } = toTfjs(CNN, someWeights(CNN, 1));
    expect(modelJson.format).toBe("layers-model");
    expect(modelJson.convertedBy).toBeNull();
    const layers = modelJson.modelTopology.config.layers;
    expect(layers.map((l) => l.class_name)).toEqual([
      "Conv2D",
      "ZeroPadding2D",
      "MaxPooling2D",
      "BatchNormalization",
      "PReLU",
      "Conv2D",
      "AveragePooling2D",
      "Flatten",
      "Dense",
      "Dropout",
      "Dense",
    ]);
    expect(layers[0]!.config).toMatchObject({
      filters: 3,
      kernel_size: [3, 3],
      strides: [1, 1],
      padding: "same",
      data_format: "channels_last",
      dilation_rate: [1, 1],
      activation: "relu",
      kernel_initializer: {
        class_name: "VarianceScaling",
        config: { scale: 2, mode: "fan_in", distribution: "normal" },
      },
      kernel_regularizer: { class_name: "L1L2", config: { l1: 0, l2: 1e-4 } },
      kernel_constraint: { class_name: "MaxNorm", config: { max_value: 3, axis: [0, 1, 2] } },
      name: "conv2d_0",
      batch_input_shape: [null, 6, 6, 2],
      dtype: "float32",
    });
    expect(layers[1]!.config.padding).toEqual([
      [1, 0],
      [0, 1],
    ]);
    expect(layers[5]!.config.bias_regularizer).toEqual({ class_name: "L1L2", config: { l1: 0.01, l2: 0 } });
    expect(layers[9]!.config).toMatchObject({ rate: 0.3, noise_shape: [null, 1], seed: 7 });
    expect(layers[10]!.config.name).toBe("probabilities");
    expect(modelJson.trainingConfig).toEqual({
      loss: "sparse_categorical_crossentropy",
      metrics: null,
      optimizer_config: {
        class_name: "RMSProp",
        config: { learning_rate: 0.001, decay: 0.9, momentum: 0, epsilon: 1e-7, centered: false },
      },
    });
    expect(toTfjs(MLP, someWeights(MLP, 1)).modelJson.modelTopology.config.layers[7]!.config.activation).toBe(
      "hard_sigmoid",
    );
  });

  it("zero padding in Keras' [[top, bottom], [left, right]] form, whatever form the spec uses", () => {
    const spec: ModelSpec = {
      inputShape: [2, 2, 1],
      layers: [
        { type: "zeroPadding2d" },
        { type: "zeroPadding2d", padding: 2 },
        { type: "zeroPadding2d", padding: [1, 3] },
        { type: "globalAveragePooling2d" },
      ],
      loss: "meanSquaredError",
    };
    const layers = toTfjs(spec, {}).modelJson.modelTopology.config.layers;
    expect(layers.map((l) => l.config.padding)).toEqual([
      [
        [1, 1],
        [1, 1],
      ],
      [
        [2, 2],
        [2, 2],
      ],
      [
        [1, 1],
        [3, 3],
      ],
      undefined,
    ]);
    expect(layers[3]).toEqual({
      class_name: "GlobalAveragePooling2D",
      config: { data_format: "channels_last", name: "globalAveragePooling2d_3", trainable: true },
    });
  });

  it("lists the weights in tfjs' save order: trainable ones by layer, then the moving statistics", () => {
    const { modelJson, weightsBin } = toTfjs(CNN, someWeights(CNN, 1));
    expect(modelJson.weightsManifest).toHaveLength(1);
    expect(modelJson.weightsManifest[0]!.paths).toEqual(["weights.bin"]);
    expect(modelJson.weightsManifest[0]!.weights.map((w) => `${w.name} ${w.shape.join("x")}`)).toEqual([
      "conv2d_0/kernel 3x3x2x3",
      "conv2d_0/bias 3",
      "batchNormalization_3/gamma 3",
      "batchNormalization_3/beta 3",
      "prelu_4/alpha 1x1x3",
      "conv2d_5/kernel 2x1x3x4",
      "dense_8/kernel 24x5",
      "dense_8/bias 5",
      "probabilities/kernel 5x3",
      "probabilities/bias 3",
      "batchNormalization_3/moving_mean 3",
      "batchNormalization_3/moving_variance 3",
    ]);
    expect(weightsBin.byteLength).toBe(4 * (54 + 3 + 3 + 3 + 3 + 24 + 120 + 5 + 15 + 3 + 3 + 3));
  });

  it("rounds each float64 weight once to float32, little-endian", () => {
    const spec: ModelSpec = {
      inputShape: [1],
      layers: [{ type: "dense", units: 2 }],
      loss: "meanSquaredError",
    };
    const weights = {
      "dense_0/kernel": { shape: [1, 2], data: Float64Array.from([0.1, -1 / 3]) },
      "dense_0/bias": { shape: [2], data: Float64Array.from([2 ** -149, -3e38]) },
    };
    const { weightsBin } = toTfjs(spec, weights);
    const view = new DataView(weightsBin.buffer, weightsBin.byteOffset);
    expect([0, 4, 8, 12].map((o) => view.getFloat32(o, true))).toEqual([
      Math.fround(0.1),
      Math.fround(-1 / 3),
      2 ** -149,
      Math.fround(-3e38),
    ]);
    expect(Array.from(weightsBin.slice(0, 4))).toEqual([0xcd, 0xcc, 0xcc, 0x3d]);
  });

  it("a loss tfjs cannot compile (options, huber) goes to userDefinedMetadata, not trainingConfig", () => {
    const { modelJson } = toTfjs(ACTIVATIONS, someWeights(ACTIVATIONS, 1));
    expect(modelJson.trainingConfig).toBeUndefined();
    expect(modelJson.userDefinedMetadata).toEqual({
      loss: { class_name: "CategoricalCrossentropy", config: { label_smoothing: 0.1 } },
    });
    const huber = toTfjs({ ...MLP, loss: "huber" }, someWeights(MLP, 1)).modelJson;
    expect(huber.userDefinedMetadata).toEqual({ loss: "huber" });
  });

  it("writes the optimiser it was trained with when tfjs has it", () => {
    const { modelJson } = toTfjs(MLP, someWeights(MLP, 1), "w.bin", {
      name: "mlp",
      optimizer: { type: "sgd", learningRate: 0.05, momentum: 0.9, nesterov: true },
    });
    expect(modelJson.trainingConfig?.optimizer_config).toEqual({
      class_name: "Momentum",
      config: { learning_rate: 0.05, momentum: 0.9, use_nesterov: true },
    });
    expect(modelJson.modelTopology.config.name).toBe("mlp");
    expect(modelJson.weightsManifest[0]!.paths).toEqual(["w.bin"]);
  });
});

describe("toTfjs: deterministic, and export → import → export gives the same bytes", () => {
  it.each(MODELS)("%s", async (_, spec) => {
    const weights = someWeights(spec, 5);
    const first = toTfjs(spec, weights);
    const again = toTfjs(spec, someWeights(spec, 5));
    expect(JSON.stringify(again.modelJson)).toBe(JSON.stringify(first.modelJson));
    expect(Buffer.from(again.weightsBin).equals(Buffer.from(first.weightsBin))).toBe(true);

    const json = JSON.parse(JSON.stringify(first.modelJson));
    const { spec: imported, lossGiven } = kerasToSpec(
      json.modelTopology,
      ["modelTopology"],
      lossOfModelJson(json),
    );
    expect(lossGiven).toBe(true);
    const tensors = tfjsWeightsToTensors(imported, json.weightsManifest, first.weightsBin, [
      "weightsManifest",
    ]);
    const second = toTfjs(imported, tensors);
    expect(JSON.stringify(second.modelJson)).toBe(JSON.stringify(first.modelJson));
    expect(Buffer.from(second.weightsBin).equals(Buffer.from(first.weightsBin))).toBe(true);

    // The imported model predicts what the original does, within float32 rounding.
    const x = someInputs(spec, 4, 9);
    expect(
      maxRelativeError(predict(imported, tensors, x, 4).data, predict(spec, weights, x, 4).data),
    ).toBeLessThan(1e-5);
  });
});

/** The 422 `f` throws: its detail and field errors. */
function refusal(f: () => unknown): { detail: string; errors: { path: string; message: string }[] } {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(UnprocessableError);
    const u = e as UnprocessableError;
    return { detail: u.message, errors: u.errors ?? [] };
  }
  throw new Error("expected a 422");
}

describe("toTfjs: what TensorFlow.js cannot express is a 422 naming the layer and the format", () => {
  it("elu with alpha ≠ 1 (tfjs' ELU layer has only alpha 1)", () => {
    const spec: ModelSpec = {
      inputShape: [2],
      layers: [
        { type: "dense", units: 2 },
        { type: "elu", alpha: 0.5 },
      ],
      loss: "meanSquaredError",
    };
    expect(refusal(() => toTfjs(spec, someWeights(spec, 1)))).toEqual({
      detail:
        "model.layers[1] (elu) cannot be exported to TensorFlow.js: tfjs-layers' ELU layer supports only alpha 1, this one has 0.5",
      errors: [
        {
          path: "model.layers[1].alpha",
          message:
            "cannot be exported to TensorFlow.js: tfjs-layers' ELU layer supports only alpha 1, this one has 0.5",
        },
      ],
    });
  });

  it("batch normalisation over an axis other than the last (tfjs computes it wrongly); the last by number is fine", async () => {
    const spec: ModelSpec = {
      inputShape: [3, 2, 2],
      layers: [{ type: "batchNormalization", axis: 2 }, { type: "flatten" }],
      loss: "meanSquaredError",
    };
    expect(refusal(() => toTfjs(spec, someWeights(spec, 1))).errors).toEqual([
      {
        path: "model.layers[0].axis",
        message:
          "cannot be exported to TensorFlow.js: tfjs-layers' batch normalisation over axis 2, not the last, gives wrong outputs (its kernel reads the statistics as if the channels were last)",
      },
    ]);
    const last: ModelSpec = {
      ...spec,
      layers: [{ type: "batchNormalization", axis: 3 }, { type: "flatten" }],
    };
    const weights = someWeights(last, 1);
    const x = someInputs(last, 4, 2);
    const { modelJson, weightsBin } = toTfjs(last, weights);
    const theirs = tfjsPredict(await loadInTfjs(modelJson, weightsBin), last, x, 4);
    expect(maxRelativeError(predict(last, weights, x, 4).data, theirs)).toBeLessThan(1e-5);
  });

  it("weights of another model", () => {
    const spec: ModelSpec = {
      inputShape: [2],
      layers: [{ type: "dense", units: 2 }],
      loss: "meanSquaredError",
    };
    const weights = someWeights(spec, 1);
    weights["dense_0/bias"] = { shape: [3], data: new Float64Array(3) };
    expect(refusal(() => toTfjs(spec, weights)).errors).toEqual([
      { path: 'weights["dense_0/bias"]', message: "expected a tensor of shape [2]" },
    ]);
    weights["dense_0/bias"] = { shape: [2], data: Float64Array.from([0, 1e39]) };
    expect(refusal(() => toTfjs(spec, weights))).toEqual({
      detail: 'weight "dense_0/bias"[1] = 1e+39 does not fit in float32',
      errors: [
        {
          path: 'weights["dense_0/bias"][1]',
          message: "1e+39 does not fit in float32 (|x| ≤ 3.4028234663852886e38)",
        },
      ],
    });
  });
});

describe("an activity regularizer is left out of the export", () => {
  const spec: ModelSpec = {
    inputShape: [4, 4, 1],
    layers: [
      { type: "conv2d", filters: 2, kernelSize: 3, activation: "tanh", activityRegularizer: { l1: 0.1 } },
      { type: "flatten" },
      { type: "dense", units: 3, activation: "softmax", activityRegularizer: "l2" },
    ],
    loss: "categoricalCrossentropy",
  };
  const without: ModelSpec = {
    ...spec,
    layers: spec.layers.map((l) => {
      const { activityRegularizer: _, ...rest } = l as typeof l & { activityRegularizer?: unknown };
      return rest as typeof l;
    }),
  };

  it("is written as null, and tfjs loads and predicts what the service does", async () => {
    const weights = someWeights(spec, 5);
    const { modelJson, weightsBin } = toTfjs(spec, weights);
    const layers = modelJson.modelTopology.config.layers;
    expect([layers[0]!.config.activity_regularizer, layers[2]!.config.activity_regularizer]).toEqual([
      null,
      null,
    ]);
    const n = 5;
    const x = someInputs(spec, n, 9);
    const theirs = tfjsPredict(await loadInTfjs(modelJson, weightsBin), spec, x, n);
    expect(maxRelativeError(predict(spec, weights, x, n).data, theirs)).toBeLessThan(1e-5);
  });

  it("is the export of the model without it; import → export gives the same bytes", () => {
    const weights = someWeights(spec, 6);
    const first = toTfjs(spec, weights);
    expect(first).toEqual(toTfjs(without, weights));
    const { spec: imported } = kerasToSpec(
      first.modelJson.modelTopology,
      ["modelTopology"],
      lossOfModelJson(first.modelJson),
    );
    expect(imported.layers.filter((l) => "activityRegularizer" in l)).toEqual([]);
    const read = tfjsWeightsToTensors(imported, first.modelJson.weightsManifest, first.weightsBin, [
      "weightsManifest",
    ]);
    const again = toTfjs(imported, read);
    expect(JSON.stringify(again.modelJson)).toBe(JSON.stringify(first.modelJson));
    expect(Buffer.from(again.weightsBin).equals(Buffer.from(first.weightsBin))).toBe(true);
  });
});
