/**
 * Ready-to-run request bodies: Swagger UI pre-fills "Try it out" with them, the README's curl
 * commands use them, and the tests check that each one succeeds.
 */

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
 * The seed's network: 2 inputs → dense(3, sigmoid) → dense(3, sigmoid) → softmax, categorical
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
 * Named request examples per route, offered in Swagger UI's "Examples" menu (the first is the
 * default). The OpenAPI transform puts them on each operation's `application/json` body.
 */
export const namedRequestExamples: Record<string, Record<string, { summary: string; value: unknown }>> = {
  "/train": {
    iris: { summary: "Iris: dense(8, tanh) → dense(3, softmax), Adam, 200 epochs", value: trainExample },
    mnistCnn: {
      summary:
        "MNIST digits: conv2d(8, 3×3) → maxPooling2d(2) → flatten → dense(10), 3 epochs (≈ 20 s on 2 cores)",
      value: trainMnistCnnExample,
    },
  },
  "/gradients": {
    seedNetwork: { summary: "The seed's 2→3→3 network, checked numerically", value: gradientsExample },
  },
  "/predict": { xor: { summary: "XOR with hand-set weights", value: predictExample } },
};
