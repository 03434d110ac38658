/**
 * A ready-to-run POST /tuning-jobs body (Swagger UI pre-fills "Try it out" with it; the README
 * uses it; a test runs it): iris, the learning rate on a log scale and the hidden width, 12
 * random trials two at a time, the validation loss minimised.
 */
export const tuningExample = {
  base: {
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
    epochs: 40,
    batchSize: 16,
    validationSplit: 0.2,
  },
  searchSpace: {
    "optimizer.learningRate": { type: "logUniform", min: 0.0005, max: 0.1 },
    "model.layers[0].units": { type: "int", min: 2, max: 32 },
  },
  objective: { metric: "valLoss", goal: "minimize" },
  algorithm: "random",
  maxTrials: 12,
  parallelTrials: 2,
  seed: 7,
} as const;
