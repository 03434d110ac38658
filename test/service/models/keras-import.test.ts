/**
 * `kerasToSpec` and `tfjsWeightsToTensors`: a model TensorFlow.js builds and saves itself is
 * imported and predicts what tfjs predicts; topologies as Keras (Python) writes them become the
 * expected specs; unsupported classes, options and weights are 422s with exact paths.
 */
import * as tf from "@tensorflow/tfjs";
import { describe, expect, it } from "vitest";
import { type ModelSpec, predict } from "../../../src/engine/index.js";
import { InvalidRequestError, UnprocessableError } from "../../../src/service/errors.js";
import { kerasToSpec, tfjsWeightsToTensors } from "../../../src/service/models/formats/keras-import.js";
import { lossOfModelJson, toTfjs } from "../../../src/service/models/formats/tfjs.js";
import { maxRelativeError, tfReady } from "../../engine/tfjs-reference.js";
import { someInputs, someWeights } from "./tfjs-models.js";

/** What `model.save` hands its handler. */
async function saveInMemory(model: tf.LayersModel): Promise<tf.io.ModelArtifacts> {
  let saved: tf.io.ModelArtifacts | undefined;
  await model.save(
    tf.io.withSaveHandler(async (artifacts) => {
      saved = artifacts;
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: "JSON" } };
    }),
    { includeOptimizer: true },
  );
  return saved!;
}

/** A tfjs model of most kinds, its weights redrawn (moving statistics not 0/1). */
async function tfjsModel(): Promise<tf.Sequential> {
  await tfReady();
  const m = tf.sequential();
  m.add(
    tf.layers.conv2d({
      inputShape: [6, 6, 2],
      filters: 3,
      kernelSize: 3,
      padding: "same",
      activation: "relu6",
    }),
  );
  m.add(
    tf.layers.zeroPadding2d({
      padding: [
        [1, 0],
        [0, 1],
      ],
    }),
  );
  m.add(tf.layers.maxPooling2d({ poolSize: 2 }));
  m.add(tf.layers.batchNormalization({ momentum: 0.9 }));
  m.add(tf.layers.averagePooling2d({ poolSize: [2, 1], strides: 1, padding: "same" }));
  m.add(tf.layers.conv2d({ filters: 2, kernelSize: 1, activation: "selu", useBias: false }));
  m.add(tf.layers.flatten());
  m.add(tf.layers.dense({ units: 6, activation: "hardSigmoid" }));
  m.add(tf.layers.leakyReLU({ alpha: 0.1 }));
  m.add(tf.layers.prelu({}));
  m.add(tf.layers.layerNormalization({}));
  m.add(tf.layers.dropout({ rate: 0.2 }));
  m.add(tf.layers.dense({ units: 3 }));
  m.add(tf.layers.softmax({}));
  m.compile({ loss: "categoricalCrossentropy", optimizer: tf.train.adam(0.01) });
  let seed = 1;
  const next = () => {
    seed = (seed * 16807) % 2147483647;
    return seed / 2147483647;
  };
  m.setWeights(
    m.weights.map((w) =>
      tf.tensor(
        Float32Array.from({ length: (w.shape as number[]).reduce((a, b) => a * b, 1) }, () =>
          w.originalName.endsWith("moving_variance") ? 0.5 + next() : 2 * next() - 1,
        ),
        w.shape as number[],
      ),
    ),
  );
  return m;
}

describe("a model TensorFlow.js saved itself", () => {
  it("is imported and predicts what tfjs predicts", async () => {
    const m = await tfjsModel();
    const saved = await saveInMemory(m);
    const topology = JSON.parse(JSON.stringify(saved.modelTopology));
    expect(saved.trainingConfig?.loss).toBe("categorical_crossentropy");
    const { spec, lossGiven } = kerasToSpec(topology, ["modelTopology"], lossOfModelJson(saved));
    expect(lossGiven).toBe(true);
    expect(spec.inputShape).toEqual([6, 6, 2]);
    expect(spec.loss).toBe("categoricalCrossentropy");
    expect(spec.layers.map((l) => l.type)).toEqual([
      "conv2d",
      "zeroPadding2d",
      "maxPooling2d",
      "batchNormalization",
      "averagePooling2d",
      "conv2d",
      "flatten",
      "dense",
      "leakyReLU",
      "prelu",
      "layerNormalization",
      "dropout",
      "dense",
      "softmax",
    ]);
    expect(spec.layers[0]).toMatchObject({
      kernelInitializer: "glorotNormal",
      activation: "relu6",
      padding: "same",
    });
    expect(spec.layers[3]).toMatchObject({ momentum: 0.9, epsilon: 0.001 });
    // includeOptimizer appends Adam's state (an int32 iter among it), which the import skips.
    expect(saved.weightSpecs!.filter((w) => w.group === "optimizer").map((w) => w.dtype)).toContain("int32");
    const manifest = [{ paths: ["weights.bin"], weights: saved.weightSpecs! }];
    const data = new Uint8Array(saved.weightData as ArrayBuffer);
    const weights = tfjsWeightsToTensors(spec, manifest, data, ["weightsManifest"]);
    expect(weights[`${spec.layers[3]!.name}/moving_variance`]!.data.every((v) => v >= 0.5 && v <= 1.5)).toBe(
      true,
    );

    const n = 6;
    const x = someInputs(spec, n, 4);
    const ours = predict(spec, weights, x, n).data;
    const theirs = tf.tidy(
      () =>
        (m.predict(tf.tensor(Float32Array.from(x), [n, 6, 6, 2])) as tf.Tensor).dataSync() as Float32Array,
    );
    expect(maxRelativeError(ours, theirs)).toBeLessThan(1e-5);
    expect(new Set(Array.from(theirs, (v) => v.toFixed(5))).size).toBeGreaterThan(n);
  });

  it("weights whose names are not the layers' are mapped by layer order and parameter name", () => {
    const spec: ModelSpec = {
      inputShape: [3],
      layers: [{ type: "dense", units: 2 }, { type: "batchNormalization" }, { type: "dense", units: 1 }],
      loss: "meanSquaredError",
    };
    const { modelJson, weightsBin } = toTfjs(spec, someWeights(spec, 2));
    const renamed = modelJson.weightsManifest.map((g) => ({
      ...g,
      weights: g.weights.map((w) => ({
        ...w,
        name: w.name
          .replace("dense_0/", "dense_Dense1/")
          .replace("dense_2/", "dense_Dense2/")
          .replace("batchNormalization_1/", "bn_BatchNormalization1/")
          .replace("/bias", "/bias_1"),
      })),
    }));
    const byName = tfjsWeightsToTensors(spec, modelJson.weightsManifest, weightsBin, ["weightsManifest"]);
    const byOrder = tfjsWeightsToTensors(spec, renamed, weightsBin, ["weightsManifest"]);
    expect(Object.keys(byOrder)).toEqual(Object.keys(byName));
    for (const key of Object.keys(byName)) expect(byOrder[key]!.data).toEqual(byName[key]!.data);
  });

  it("reads several groups and files as one concatenated binary", () => {
    const spec: ModelSpec = {
      inputShape: [2],
      layers: [{ type: "dense", units: 2 }],
      loss: "meanSquaredError",
    };
    const data = new Uint8Array(new Float32Array([1, 2, 3, 4, 0.5, -0.25]).buffer);
    const manifest = [
      {
        paths: ["group1-shard1of2.bin", "group1-shard2of2.bin"],
        weights: [{ name: "dense_0/kernel", shape: [2, 2], dtype: "float32" }],
      },
      { paths: ["group2-shard1of1.bin"], weights: [{ name: "dense_0/bias", shape: [2], dtype: "float32" }] },
    ];
    const w = tfjsWeightsToTensors(spec, manifest, data, ["weightsManifest"]);
    expect(w).toEqual({
      "dense_0/kernel": { shape: [2, 2], data: Float64Array.from([1, 2, 3, 4]) },
      "dense_0/bias": { shape: [2], data: Float64Array.from([0.5, -0.25]) },
    });
  });
});

describe("topologies as Keras (Python) writes them", () => {
  it("Keras 2 (tf.keras 2.x model.to_json()): batch_input_shape on the first layer, defaults for absent keys", () => {
    const topology = {
      class_name: "Sequential",
      config: {
        name: "sequential",
        layers: [
          {
            class_name: "InputLayer",
            config: {
              batch_input_shape: [null, 28, 28, 1],
              dtype: "float32",
              sparse: false,
              ragged: false,
              name: "input_1",
            },
          },
          {
            class_name: "Conv2D",
            config: {
              name: "conv2d",
              trainable: true,
              dtype: "float32",
              filters: 8,
              kernel_size: [3, 3],
              strides: [1, 1],
              padding: "valid",
              data_format: "channels_last",
              dilation_rate: [1, 1],
              groups: 1,
              activation: "relu",
              use_bias: true,
              kernel_initializer: { class_name: "GlorotUniform", config: { seed: null } },
              bias_initializer: { class_name: "Zeros", config: {} },
              kernel_regularizer: { class_name: "L2", config: { l2: 9.999999747378752e-5 } },
              bias_regularizer: null,
              activity_regularizer: null,
              kernel_constraint: null,
              bias_constraint: null,
            },
          },
          {
            class_name: "MaxPooling2D",
            config: {
              name: "max_pooling2d",
              trainable: true,
              dtype: "float32",
              pool_size: [2, 2],
              padding: "valid",
              strides: [2, 2],
              data_format: "channels_last",
            },
          },
          {
            class_name: "Flatten",
            config: { name: "flatten", trainable: true, dtype: "float32", data_format: "channels_last" },
          },
          {
            class_name: "Dropout",
            config: {
              name: "dropout",
              trainable: true,
              dtype: "float32",
              rate: 0.25,
              noise_shape: null,
              seed: null,
            },
          },
          { class_name: "Dense", config: { name: "dense", units: 10, activation: "softmax" } },
        ],
      },
      keras_version: "2.15.0",
      backend: "tensorflow",
    };
    const { spec, lossGiven } = kerasToSpec(topology, ["model"], {
      class_name: "SparseCategoricalCrossentropy",
      config: {
        reduction: "auto",
        name: "sparse_categorical_crossentropy",
        from_logits: false,
        ignore_class: null,
      },
    });
    expect(lossGiven).toBe(true);
    expect(spec).toEqual({
      inputShape: [28, 28, 1],
      layers: [
        {
          type: "conv2d",
          name: "conv2d",
          filters: 8,
          kernelSize: 3,
          strides: 1,
          padding: "valid",
          activation: "relu",
          useBias: true,
          kernelInitializer: "glorotUniform",
          biasInitializer: "zeros",
          kernelRegularizer: { l1: 0, l2: 9.999999747378752e-5 },
        },
        { type: "maxPooling2d", name: "max_pooling2d", poolSize: 2, strides: 2, padding: "valid" },
        { type: "flatten", name: "flatten" },
        { type: "dropout", name: "dropout", rate: 0.25 },
        { type: "dense", name: "dense", units: 10, activation: "softmax", useBias: true },
      ],
      loss: { type: "sparseCategoricalCrossentropy", fromLogits: false },
    });
  });

  it("Keras 3: InputLayer with batch_shape, module/registered_name wrappers, a DTypePolicy", () => {
    const dtype = {
      module: "keras",
      class_name: "DTypePolicy",
      config: { name: "float32" },
      registered_name: null,
    };
    const topology = {
      module: "keras",
      class_name: "Sequential",
      config: {
        name: "sequential",
        trainable: true,
        dtype,
        layers: [
          {
            module: "keras.layers",
            class_name: "InputLayer",
            config: { batch_shape: [null, 4], dtype: "float32", sparse: false, name: "input_layer" },
            registered_name: null,
          },
          {
            module: "keras.layers",
            class_name: "Dense",
            registered_name: null,
            config: {
              name: "dense",
              trainable: true,
              dtype,
              units: 3,
              activation: "silu",
              use_bias: false,
              kernel_initializer: {
                module: "keras.initializers",
                class_name: "HeUniform",
                config: { seed: null },
                registered_name: null,
              },
              bias_initializer: {
                module: "keras.initializers",
                class_name: "Zeros",
                config: {},
                registered_name: null,
              },
              kernel_regularizer: null,
              bias_regularizer: null,
              kernel_constraint: {
                module: "keras.constraints",
                class_name: "NonNeg",
                config: {},
                registered_name: null,
              },
              bias_constraint: null,
              lora_rank: null,
            },
            build_config: { input_shape: [null, 4] },
          },
          {
            module: "keras.layers",
            class_name: "BatchNormalization",
            registered_name: null,
            config: {
              name: "bn",
              trainable: true,
              dtype,
              axis: -1,
              momentum: 0.99,
              epsilon: 0.001,
              center: true,
              scale: false,
              beta_initializer: { class_name: "Zeros", config: {} },
              gamma_initializer: { class_name: "Ones", config: {} },
              moving_mean_initializer: { class_name: "Zeros", config: {} },
              moving_variance_initializer: { class_name: "Ones", config: {} },
              beta_regularizer: null,
              gamma_regularizer: null,
              beta_constraint: null,
              gamma_constraint: null,
              synchronized: false,
            },
          },
          {
            module: "keras.layers",
            class_name: "LeakyReLU",
            registered_name: null,
            config: { name: "leaky", trainable: true, dtype, negative_slope: 0.2 },
          },
        ],
      },
      keras_version: "3.4.1",
      backend: "tensorflow",
    };
    expect(kerasToSpec(topology, ["model"])).toEqual({
      spec: {
        inputShape: [4],
        layers: [
          {
            type: "dense",
            name: "dense",
            units: 3,
            activation: "swish",
            useBias: false,
            kernelInitializer: "heUniform",
            biasInitializer: "zeros",
            kernelConstraint: { type: "nonNeg" },
          },
          {
            type: "batchNormalization",
            name: "bn",
            axis: -1,
            momentum: 0.99,
            epsilon: 0.001,
            center: true,
            scale: false,
            gammaInitializer: "ones",
            betaInitializer: "zeros",
            movingMeanInitializer: "zeros",
            movingVarianceInitializer: "ones",
          },
          { type: "leakyReLU", name: "leaky", alpha: 0.2 },
        ],
        loss: "meanSquaredError",
      },
      lossGiven: false,
    });
  });
});

/** The 422 (or 400) `f` throws, as its detail and field errors. */
function refusal(f: () => unknown, status = 422): { path: string; message: string }[] {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(status === 422 ? UnprocessableError : InvalidRequestError);
    return (e as UnprocessableError).errors ?? [];
  }
  throw new Error("expected an error");
}

const dense = (config: Record<string, unknown>) => ({ class_name: "Dense", config: { units: 2, ...config } });
const topo = (...layers: unknown[]) => ({ class_name: "Sequential", config: { name: "s", layers } });
const first = { class_name: "InputLayer", config: { batch_input_shape: [null, 3] } };

describe("Keras' class aliases", () => {
  it("Convolution2D, MaxPool2D, GlobalAvgPool2D read as their classes", () => {
    const t = topo(
      {
        class_name: "Convolution2D",
        config: { filters: 2, kernel_size: [2, 2], batch_input_shape: [null, 5, 5, 1] },
      },
      { class_name: "MaxPool2D", config: {} },
      { class_name: "GlobalAvgPool2D", config: {} },
    );
    expect(kerasToSpec(t, ["model"]).spec.layers).toEqual([
      {
        type: "conv2d",
        filters: 2,
        kernelSize: 2,
        strides: 1,
        padding: "valid",
        activation: "linear",
        useBias: true,
      },
      { type: "maxPooling2d", poolSize: 2, strides: 2, padding: "valid" },
      { type: "globalAveragePooling2d" },
    ]);
  });
});

describe("what is refused, and where", () => {
  it("an unsupported class_name lists the supported ones", () => {
    expect(
      refusal(() =>
        kerasToSpec(
          topo(first, dense({}), { class_name: "LSTM", config: { units: 4, return_sequences: true } }),
          ["model"],
        ),
      ),
    ).toEqual([
      {
        path: "model.config.layers[2].class_name",
        message:
          'unsupported layer class "LSTM"; supported: Dense, Conv2D, MaxPooling2D, AveragePooling2D, Flatten, Activation, LeakyReLU, PReLU, ELU, Softmax, GlobalAveragePooling2D, GlobalMaxPooling2D, Reshape, ZeroPadding2D, BatchNormalization, LayerNormalization, Dropout (and InputLayer first)',
      },
    ]);
  });

  it.each([
    [
      { class_name: "Conv2D", config: { filters: 2, kernel_size: 1, data_format: "channels_first" } },
      "data_format",
      'Conv2D: data_format "channels_first" is not supported (the engine\'s images are channels_last)',
    ],
    [
      { class_name: "Conv2D", config: { filters: 2, kernel_size: 1, dilation_rate: [2, 2] } },
      "dilation_rate",
      "Conv2D: dilation_rate [2,2] is not supported (the engine's convolutions are not dilated)",
    ],
    [
      dense({ activation: "log_softmax" }),
      "activation",
      'Dense: unsupported activation "log_softmax"; supported: linear, sigmoid, tanh, relu, softmax, elu, selu, softplus, softsign, relu6, hard_sigmoid, swish (silu), mish, gelu',
    ],
    [
      dense({ bias_constraint: { class_name: "NonNeg", config: {} } }),
      "bias_constraint",
      'Dense: bias_constraint {"class_name":"NonNeg","config":{}} is not supported (the engine constrains only the kernel)',
    ],
    [
      dense({ return_sequences: true }),
      "return_sequences",
      "Dense: option return_sequences = true is not supported",
    ],
    [
      dense({ trainable: false }),
      "trainable",
      "Dense: trainable false is not supported (every layer of the engine trains)",
    ],
    [dense({ dtype: "float16" }), "dtype", 'Dense: dtype "float16" is not supported (float32 only)'],
  ])("an unsupported option names its key: %#", (layer, key, message) => {
    const input = { class_name: "InputLayer", config: { batch_input_shape: [null, 4, 4, 3] } };
    expect(refusal(() => kerasToSpec(topo(input, layer), ["model"]))).toEqual([
      { path: `model.config.layers[1].config.${key}`, message },
    ]);
  });

  it("an unsupported kernel constraint names the constraint's class_name", () => {
    expect(
      refusal(() =>
        kerasToSpec(topo(first, dense({ kernel_constraint: { class_name: "MinMaxNorm", config: {} } })), [
          "m",
        ]),
      ),
    ).toEqual([
      {
        path: "m.config.layers[1].config.kernel_constraint.class_name",
        message:
          'Dense: kernel_constraint: unsupported constraint "MinMaxNorm"; supported: MaxNorm, NonNeg, UnitNorm',
      },
    ]);
  });

  it("Keras 3's hard_sigmoid (another function than tfjs') is refused", () => {
    const t = { ...topo(first, dense({ activation: "hard_sigmoid" })), keras_version: "3.3.3" };
    expect(refusal(() => kerasToSpec(t, ["model"]))[0]!.path).toBe(
      "model.config.layers[1].config.activation",
    );
    expect(kerasToSpec({ ...t, keras_version: "2.15.0" }, ["model"]).spec.layers[0]).toMatchObject({
      activation: "hardSigmoid",
    });
  });

  it("values the model schema refuses are named by their Keras key", () => {
    expect(refusal(() => kerasToSpec(topo(first, dense({ units: 0 })), ["model"]))).toEqual([
      { path: "model.config.layers[1].config.units", message: "Too small: expected number to be >=1" },
    ]);
    expect(refusal(() => kerasToSpec(topo(first, dense({})), ["model"], "focal_loss"))[0]!.path).toBe(
      "trainingConfig.loss",
    );
  });

  it("shapes that do not fit are named by the layer", () => {
    const image = { class_name: "InputLayer", config: { batch_input_shape: [null, 4, 4, 3] } };
    expect(refusal(() => kerasToSpec(topo(image, dense({})), ["model"]))).toEqual([
      {
        path: "model.config.layers[1]",
        message:
          "layer dense_0 (dense) needs a vector input, got shape [4, 4, 3]; put a flatten layer before it",
      },
    ]);
    const twice = topo(dense({ name: "a", batch_input_shape: [null, 3] }), dense({ name: "a" }));
    expect(refusal(() => kerasToSpec(twice, ["model"]))).toEqual([
      { path: "model.config.layers[1].config.name", message: 'duplicate layer name "a"' },
    ]);
  });

  it("no input shape, or no Sequential", () => {
    expect(refusal(() => kerasToSpec(topo(dense({})), ["model"]))).toEqual([
      {
        path: "model.config.layers[0].config.batch_input_shape",
        message: "expected the input's batch shape [null, ...] on the first layer (or an InputLayer)",
      },
    ]);
    expect(refusal(() => kerasToSpec({ class_name: "Functional", config: {} }, ["model"]), 400)).toEqual([
      { path: "model.class_name", message: 'expected "Sequential" (a Keras Sequential model\'s topology)' },
    ]);
  });

  it("weights: a dtype other than float32, a data size that does not match, a wrong shape, a missing weight", () => {
    const spec: ModelSpec = {
      inputShape: [2],
      layers: [{ type: "dense", units: 1 }],
      loss: "meanSquaredError",
    };
    const k = { name: "dense_0/kernel", shape: [2, 1], dtype: "float32" };
    const b = { name: "dense_0/bias", shape: [1], dtype: "float32" };
    const data = new Uint8Array(12);
    const at = ["weightsManifest"];
    expect(
      refusal(() =>
        tfjsWeightsToTensors(spec, [{ paths: ["w"], weights: [k, { ...b, dtype: "float16" }] }], data, at),
      ),
    ).toEqual([
      {
        path: "weightsManifest[0].weights[1].dtype",
        message: 'expected "float32" (the only dtype read), got "float16"',
      },
    ]);
    expect(
      refusal(() => tfjsWeightsToTensors(spec, [{ paths: ["w"], weights: [k, b] }], new Uint8Array(8), at)),
    ).toEqual([
      { path: "weightData", message: "the manifest describes 12 bytes (3 float32 values), the data has 8" },
    ]);
    expect(
      refusal(() =>
        tfjsWeightsToTensors(spec, [{ paths: ["w"], weights: [{ ...k, shape: [1, 2] }, b] }], data, at),
      ),
    ).toEqual([
      {
        path: "weightsManifest[0].weights[0].shape",
        message: 'weight "dense_0/kernel" has shape [1, 2], the model expects [2, 1]',
      },
    ]);
    expect(
      refusal(() => tfjsWeightsToTensors(spec, [{ paths: ["w"], weights: [k] }], new Uint8Array(8), at)),
    ).toEqual([{ path: "weightsManifest", message: 'the manifest lacks the weights "dense_0/bias" [1]' }]);
  });
});
