/**
 * Ready-to-run request bodies: Swagger UI pre-fills "Try it out" with them, the README's curl
 * commands use them, and the tests check that each one succeeds.
 */

import { storeTaggedSequencesExample, storeXorExample } from "./examples-datasets.js";
import { importModelJsonExample } from "./examples-models.js";
import { gradientsLstmExample, trainAddingLstmExample, trainSineGruExample } from "./examples-sequences.js";

/** Fisher's iris, 4 → dense(8, tanh) → dense(3, softmax), sparse cross-entropy, Adam. */
export const trainExample = {
  model: {
    inputShape: [4],
    layers: [
      { type: "dense", units: 8, activation: "tanh" },
      { type: "dense", units: 3, activation: "softmax" },
    ],
    loss: "sparseCategoricalCrossentropy",
  },
  dataset: { name: "iris" },
  optimizer: { type: "adam", learningRate: 0.01 },
  epochs: 200,
  batchSize: 16,
  seed: 42,
} as const;

/**
 * Iris with Keras' fit arguments: a validation split, per-epoch precision, recall and (exact) AUC
 * besides accuracy, and versicolor and virginica (classes 1 and 2, the two that overlap) weighted
 * double in the loss. The answer adds `confusionMatrix` (training and validation).
 */
export const trainIrisMetricsExample = {
  ...trainExample,
  epochs: 100,
  validationSplit: 0.2,
  metrics: ["accuracy", "precision", "recall", "auc"],
  classWeight: { "0": 1, "1": 2, "2": 2 },
} as const;

/**
 * Iris trained in float32 (docs/precision.md): every weight, gradient, activation and optimiser
 * moment a float32; `engineVersion` ends in `+float32`, and the weights are float32 numbers.
 */
export const trainFloat32Example = { ...trainExample, dtype: "float32" } as const;

/**
 * The seed network (docs/backprop.md §1.2): 2 inputs → dense(3, sigmoid) → dense(3, sigmoid) → softmax, categorical
 * cross-entropy, one sample; backprop's gradients checked against central differences.
 */
export const gradientsExample = {
  model: {
    inputShape: [2],
    layers: [
      { type: "dense", units: 3, activation: "sigmoid" },
      { type: "dense", units: 3, activation: "sigmoid" },
      { type: "activation", activation: "softmax" },
    ],
    loss: "categoricalCrossentropy",
  },
  seed: 7,
  x: [0.5, -1.2],
  y: [0, 1, 0],
  numericalCheck: true,
} as const;

/**
 * One step of a small CNN as training sees it: a 4×4 image → conv2d(2, 3×3, no bias) →
 * batchNormalization → relu → dropout(0.5) → flatten → dense(3, softmax). Batch normalisation
 * normalises each channel over the conv's 2×2 positions (one sample of a dense layer's features
 * would give it one value per channel: see the answer's `warnings`); the dropout mask drawn from
 * the seed is in `dropoutMasks`, and the numerical check reuses it (docs/backprop.md §18.4).
 */
export const gradientsTrainingExample = {
  model: {
    inputShape: [4, 4, 1],
    layers: [
      { type: "conv2d", filters: 2, kernelSize: 3, useBias: false },
      { type: "batchNormalization" },
      { type: "activation", activation: "relu" },
      { type: "dropout", rate: 0.5 },
      { type: "flatten" },
      { type: "dense", units: 3, activation: "softmax" },
    ],
    loss: "sparseCategoricalCrossentropy",
  },
  seed: 16,
  x: [
    [[1], [0], [0], [0]],
    [[0], [1], [0], [0]],
    [[0], [0], [1], [0]],
    [[0], [0], [0], [1]],
  ],
  y: 1,
  training: true,
  numericalCheck: true,
} as const;

/** XOR with hand-set weights: OR and NAND hidden units, AND on top. */
export const predictExample = {
  model: {
    inputShape: [2],
    layers: [
      { type: "dense", units: 2, activation: "sigmoid" },
      { type: "dense", units: 1, activation: "sigmoid" },
    ],
    loss: "binaryCrossentropy",
  },
  weights: {
    "dense_0/kernel": [
      [20, -20],
      [20, -20],
    ],
    "dense_0/bias": [-10, 30],
    "dense_1/kernel": [[20], [20]],
    "dense_1/bias": [-30],
  },
  x: [
    [0, 0],
    [0, 1],
    [1, 0],
    [1, 1],
  ],
} as const;

/** POST /models in the service's own form: `predictExample`'s XOR model and its weights. */
export const importNativeExample = { model: predictExample.model, weights: predictExample.weights };

/**
 * The issue-3 CNN on the built-in MNIST digits: conv2d(8, 3×3, relu) → maxPooling2d(2) →
 * flatten → dense(10, softmax), 2,000 digits held out for validation.
 */
export const trainMnistCnnExample = {
  model: {
    inputShape: [28, 28, 1],
    layers: [
      { type: "conv2d", filters: 8, kernelSize: 3, activation: "relu" },
      { type: "maxPooling2d", poolSize: 2 },
      { type: "flatten" },
      { type: "dense", units: 10, activation: "softmax" },
    ],
    loss: "sparseCategoricalCrossentropy",
  },
  dataset: { name: "mnist" },
  optimizer: { type: "adam", learningRate: 0.003 },
  epochs: 3,
  batchSize: 32,
  validationSplit: 0.2,
  seed: 1,
} as const;

/**
 * A regularised MLP on the built-in MNIST digits, as a Keras user writes it: flatten →
 * dense(128, heNormal, L2 1e-4) → batchNormalization → relu → dropout(0.2) → dense(10, softmax),
 * Adam, 5 epochs, 2,000 digits held out (validation accuracy 0.9435 with this seed).
 */
export const trainMnistMlpExample = {
  model: {
    inputShape: [28, 28, 1],
    layers: [
      { type: "flatten" },
      { type: "dense", units: 128, kernelInitializer: "heNormal", kernelRegularizer: { l2: 1e-4 } },
      { type: "batchNormalization" },
      { type: "activation", activation: "relu" },
      { type: "dropout", rate: 0.2 },
      { type: "dense", units: 10, activation: "softmax" },
    ],
    loss: "sparseCategoricalCrossentropy",
  },
  dataset: { name: "mnist" },
  optimizer: { type: "adam", learningRate: 0.001 },
  epochs: 5,
  batchSize: 64,
  validationSplit: 0.2,
  seed: 1,
} as const;

/** XOR, 2 → dense(2, tanh) → dense(1, sigmoid), Adam, 3 epochs: small enough to show whole. */
export const trainXorExample = {
  model: {
    inputShape: [2],
    layers: [
      { type: "dense", units: 2, activation: "tanh" },
      { type: "dense", units: 1, activation: "sigmoid" },
    ],
    loss: "binaryCrossentropy",
  },
  dataset: { name: "xor" },
  optimizer: { type: "adam", learningRate: 0.1 },
  epochs: 3,
  seed: 42,
} as const;

/**
 * A regression with the Huber loss: y = 2x + 1 on eight points, one of them an outlier (y = 30 at
 * x = 1.5). Past `delta` the loss grows linearly, so the outlier pulls the fit far less than under
 * squared error: the fitted line stays near slope 2, intercept 1.
 */
export const trainHuberExample = {
  model: {
    inputShape: [1],
    layers: [{ type: "dense", units: 1 }],
    loss: { type: "huber", delta: 1 },
  },
  dataset: {
    x: [[-2], [-1.5], [-1], [-0.5], [0], [0.5], [1], [1.5]],
    y: [-3, -2, -1, 0, 1, 2, 3, 30],
  },
  optimizer: { type: "sgd", learningRate: 0.1 },
  epochs: 300,
  batchSize: 8,
  seed: 1,
} as const;

/**
 * Named request examples per route, offered in Swagger UI's "Examples" menu (the first is the
 * default). The OpenAPI transform puts them on each operation's `application/json` body.
 */
export const namedRequestExamples: Record<string, Record<string, { summary: string; value: unknown }>> = {
  "/train": {
    iris: { summary: "Iris: dense(8, tanh) → dense(3, softmax), Adam, 200 epochs", value: trainExample },
    irisMetrics: {
      summary: "Iris with metrics (precision, recall, AUC), classWeight and a validation split",
      value: trainIrisMetricsExample,
    },
    float32: {
      summary: "Iris in float32 (single precision, as PyTorch trains by default): float32 weights",
      value: trainFloat32Example,
    },
    mnistCnn: {
      summary:
        "MNIST digits: conv2d(8, 3×3) → maxPooling2d(2) → flatten → dense(10), 3 epochs (2–3.5 s on 2 cores)",
      value: trainMnistCnnExample,
    },
    mnistMlp: {
      summary:
        "MNIST digits: dense(128, L2) → batchNormalization → relu → dropout(0.2) → dense(10), 5 epochs (3–5 s on 2 cores)",
      value: trainMnistMlpExample,
    },
    xor: { summary: "XOR: dense(2, tanh) → dense(1, sigmoid), Adam, 3 epochs", value: trainXorExample },
    saveLean: {
      summary:
        "Iris, the model saved in the registry (modelId), a lean answer: history and metrics, no weights or gradients",
      value: { ...trainExample, saveModel: true, return: ["history", "metrics"] },
    },
    huber: {
      summary: "Regression with the Huber loss: a line through 8 points, one an outlier",
      value: trainHuberExample,
    },
    addingLstm: {
      summary:
        "The adding problem (T = 20): lstm(8) → dense(1) to a validation MSE of 0.0033 (the mean's: 1/6), 0.5–1.5 s on 2 cores; gradient flow in telemetry",
      value: trainAddingLstmExample,
    },
    sineGru: {
      summary:
        "Sequence classification: noisy sine waves by period, gru(8) → dense(3); validation accuracy 1, 0.5–1 s on 2 cores",
      value: trainSineGruExample,
    },
  },
  "/gradients": {
    seedNetwork: { summary: "The seed network (2→3→3), checked numerically", value: gradientsExample },
    convDropoutBatchNorm: {
      summary:
        "Training mode: conv2d → batchNormalization → relu → dropout(0.5) → dense(3), the mask shown and checked numerically",
      value: gradientsTrainingExample,
    },
    lstmFlow: {
      summary: "An lstm over 8 steps: the states h_t and ‖∂L/∂h_t‖ per step (recurrent)",
      value: gradientsLstmExample,
    },
  },
  "/predict": { xor: { summary: "XOR with hand-set weights", value: predictExample } },
  "/datasets": {
    xor: { summary: "XOR: 4 samples, a class label each, with the classes' names", value: storeXorExample },
    taggedSequences: {
      summary:
        "Token ids padded with 0 to 10 steps, a label per step (targetShape [10]) for a maskZero tagger",
      value: storeTaggedSequencesExample,
    },
  },
  "/models": {
    native: {
      summary: "The service's own form, { model, weights }: XOR with hand-set weights",
      value: importNativeExample,
    },
    modelJson: {
      summary: "A TensorFlow.js model.json's fields, the weights in base64 weightData: the same XOR model",
      value: importModelJsonExample,
    },
  },
};
