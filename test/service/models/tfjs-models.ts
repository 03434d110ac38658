/**
 * Models that together cover every layer kind and the main options, weights that exercise them
 * (gamma ≠ 1, beta ≠ 0, moving statistics not 0/1, alpha ≠ 0), and TensorFlow.js loading what
 * `toTfjs` writes. Only for tests.
 */
import * as tf from "@tensorflow/tfjs";
import { initWeights, type ModelSpec, type NamedTensors } from "../../../src/engine/index.js";
import { Rng } from "../../../src/engine/rng.js";
import type { TfjsModelJson } from "../../../src/service/models/formats/tfjs.js";
import { tfReady } from "../../engine/tfjs-reference.js";

/** A CNN: both convolutions' options, zero padding, both poolings, batch norm, shared-axes prelu, dropout. */
export const CNN: ModelSpec = {
  inputShape: [6, 6, 2],
  layers: [
    {
      type: "conv2d",
      filters: 3,
      kernelSize: 3,
      padding: "same",
      activation: "relu",
      kernelInitializer: "heNormal",
      kernelRegularizer: { l2: 1e-4 },
      kernelConstraint: { type: "maxNorm", maxValue: 3, axis: [0, 1, 2] },
    },
    {
      type: "zeroPadding2d",
      padding: [
        [1, 0],
        [0, 1],
      ],
    },
    { type: "maxPooling2d", poolSize: 2 },
    { type: "batchNormalization", momentum: 0.9, epsilon: 0.01 },
    { type: "prelu", sharedAxes: [1, 2] },
    {
      type: "conv2d",
      filters: 4,
      kernelSize: [2, 1],
      strides: [1, 1],
      useBias: false,
      activation: "gelu",
      biasRegularizer: "l1",
    },
    { type: "averagePooling2d", poolSize: [2, 1], strides: 1, padding: "same" },
    { type: "flatten" },
    { type: "dense", units: 5, activation: "selu", kernelInitializer: { type: "randomNormal", stddev: 0.1 } },
    { type: "dropout", rate: 0.3, noiseShape: [1], seed: 7 },
    { type: "dense", units: 3, activation: "softmax", name: "probabilities" },
  ],
  loss: "sparseCategoricalCrossentropy",
};

/** Global poolings, reshape, the advanced activations, layer normalisation; a loss with options. */
export const ACTIVATIONS: ModelSpec = {
  inputShape: [4, 4, 3],
  layers: [
    { type: "conv2d", filters: 2, kernelSize: 1 },
    { type: "batchNormalization", center: false, gammaInitializer: { type: "constant", value: 0.5 } },
    { type: "globalMaxPooling2d" },
    { type: "reshape", targetShape: [2, 1] },
    { type: "flatten" },
    {
      type: "dense",
      units: 6,
      activation: "swish",
      kernelInitializer: { type: "varianceScaling", scale: 0.5, mode: "fanOut", distribution: "uniform" },
    },
    { type: "leakyReLU", alpha: 0.2 },
    { type: "prelu" },
    { type: "elu" },
    { type: "layerNormalization", epsilon: 1e-5 },
    { type: "dense", units: 3, activation: "mish" },
    { type: "activation", activation: "softplus" },
    { type: "softmax" },
  ],
  loss: { type: "categoricalCrossentropy", labelSmoothing: 0.1 },
};

/** An MLP of the remaining activations, reshape with -1, global average pooling, layer norm over two axes. */
export const MLP: ModelSpec = {
  inputShape: [5],
  layers: [
    {
      type: "dense",
      units: 8,
      activation: "relu6",
      biasInitializer: { type: "constant", value: 0.1 },
      kernelConstraint: "nonNeg",
    },
    { type: "reshape", targetShape: [2, -1, 2] },
    { type: "layerNormalization", axis: [2, 3], scale: false },
    { type: "globalAveragePooling2d" },
    { type: "activation", activation: "softsign" },
    { type: "dense", units: 4, activation: "tanh", kernelRegularizer: { l1: 0.01, l2: 0.02 } },
    { type: "activation", activation: "elu" },
    { type: "dense", units: 3, activation: "hardSigmoid" },
    { type: "dense", units: 1, activation: "sigmoid" },
  ],
  loss: "binaryCrossentropy",
};

/**
 * Seeded weights, every one redrawn in [-1, 1] (moving variances in [0.5, 1.5]); a kernel under
 * `nonNeg` in [0, 1], as training leaves it: tfjs applies a layer's constraint when it loads
 * weights. (CNN's maxNorm of 3 over 18 values in [-1, 1] holds, norm ≤ √18 · ... ≈ 2.5 on average,
 * and is re-applied by tfjs as a factor norm / (norm + 1e-7).)
 */
export function someWeights(spec: ModelSpec, seed: number): NamedTensors {
  const weights = initWeights(spec, seed);
  const rng = new Rng(seed + 1);
  const nonNeg = new Set(
    spec.layers.flatMap((l, i) =>
      "kernelConstraint" in l && l.kernelConstraint === "nonNeg"
        ? [`${l.name ?? `${l.type}_${i}`}/kernel`]
        : [],
    ),
  );
  for (const [key, t] of Object.entries(weights))
    for (let i = 0; i < t.data.length; i++)
      t.data[i] = key.endsWith("/moving_variance")
        ? rng.uniform(0.5, 1.5)
        : rng.uniform(nonNeg.has(key) ? 0 : -1, 1);
  return weights;
}

/** `n` samples of `inputShape`, uniform in [-2, 2]. */
export function someInputs(spec: ModelSpec, n: number, seed: number): Float64Array {
  const rng = new Rng(seed);
  const x = new Float64Array(n * spec.inputShape.reduce((a, b) => a * b, 1));
  for (let i = 0; i < x.length; i++) x[i] = rng.uniform(-2, 2);
  return x;
}

/** tfjs' model from `model.json` and `weights.bin` as `loadLayersModel` reads them (trainingConfig too). */
export async function loadInTfjs(modelJson: TfjsModelJson, weightsBin: Uint8Array): Promise<tf.LayersModel> {
  await tfReady();
  const weightData = weightsBin.buffer.slice(
    weightsBin.byteOffset,
    weightsBin.byteOffset + weightsBin.byteLength,
  );
  return tf.loadLayersModel(
    tf.io.fromMemory({
      modelTopology: modelJson.modelTopology as unknown as tf.io.ModelArtifacts["modelTopology"],
      weightSpecs: modelJson.weightsManifest.flatMap((g) => g.weights),
      weightData,
      trainingConfig: modelJson.trainingConfig as tf.io.TrainingConfig | undefined,
    }),
  );
}

/** tfjs' predictions (inference mode) for `n` samples. */
export function tfjsPredict(
  model: tf.LayersModel,
  spec: ModelSpec,
  x: Float64Array,
  n: number,
): Float32Array {
  return tf.tidy(() => {
    const out = model.predict(tf.tensor(Float32Array.from(x), [n, ...spec.inputShape])) as tf.Tensor;
    return out.dataSync() as Float32Array;
  });
}
