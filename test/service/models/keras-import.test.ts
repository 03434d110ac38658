/**
 * `kerasToSpec` and `tfjsWeightsToTensors`: a model TensorFlow.js builds and saves itself is
 * imported and predicts what tfjs predicts; topologies as Keras (Python) writes them become the
 * expected specs (the refusals are in keras-import-errors.test.ts).
 */
import * as tf from "@tensorflow/tfjs";
import { describe, expect, it } from "vitest";
import { type ModelSpec, predict } from "../../../src/engine/index.js";
import { kerasToSpec, tfjsWeightsToTensors } from "../../../src/service/models/formats/keras-import.js";
import { lossOfModelJson, toTfjs } from "../../../src/service/models/formats/tfjs.js";
import { maxRelativeError, tfReady } from "../../engine/tfjs-reference.js";
import { KERAS2_CNN, KERAS3_MLP } from "./keras-topologies.js";
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
    // Exported again, the manifest and the bytes are tfjs' own (its optimiser state left out).
    const own = saved.weightSpecs!.filter((w) => w.group !== "optimizer");
    const again = toTfjs(spec, weights);
    expect(again.modelJson.weightsManifest[0]!.weights).toEqual(
      own.map(({ name, shape, dtype }) => ({ name, shape, dtype })),
    );
    expect(
      Buffer.from(again.weightsBin).equals(Buffer.from(data.subarray(0, again.weightsBin.byteLength))),
    ).toBe(true);

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
    const topology = KERAS2_CNN;
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
    const topology = KERAS3_MLP;
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
      path: expect.any(Function),
    });
  });
});

const topo = (...layers: unknown[]) => ({ class_name: "Sequential", config: { name: "s", layers } });

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
