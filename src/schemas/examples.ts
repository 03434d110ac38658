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
