/**
 * The sequence examples of the API description (the contract test sends them): an LSTM solving
 * the adding problem, a GRU classifying noisy sine waves by period, and /gradients' per-step
 * states and gradient norms of an LSTM (docs/backprop.md §22.5).
 */

/**
 * The adding problem with T = 20 (500 samples: 400 train, 100 validation): lstm(8) → dense(1),
 * 30 epochs of adam 0.02. The validation mean squared error falls from the mean's 1/6 to 0.0033
 * in 0.5–1.5 s on 2 cores (test/http/gradient-flow.test.ts), with `stateGradientNorm` in the telemetry.
 */
export const trainAddingLstmExample = {
  model: {
    inputShape: [20, 2],
    layers: [
      { type: "lstm", units: 8, unitForgetBias: true, recurrentActivation: "sigmoid" },
      { type: "dense", units: 1 },
    ],
    loss: "meanSquaredError",
  },
  dataset: { name: "addingProblem", timesteps: 20, samples: 500 },
  optimizer: { type: "adam", learningRate: 0.02 },
  epochs: 30,
  batchSize: 32,
  validationSplit: 0.2,
  seed: 1,
  telemetry: true,
  return: ["history", "metrics", "telemetry"],
} as const;

/**
 * Sequence classification: 1000 noisy sine waves of 20 steps, the class their period (6, 10 or
 * 16 steps): gru(8) → dense(3, softmax), 10 epochs of adam 0.01; validation accuracy 1 (200
 * samples) from the 5th epoch, in 0.5–1 s on 2 cores.
 */
export const trainSineGruExample = {
  model: {
    inputShape: [20, 1],
    layers: [
      { type: "gru", units: 8 },
      { type: "dense", units: 3, activation: "softmax" },
    ],
    loss: "sparseCategoricalCrossentropy",
  },
  dataset: { name: "sineWave" },
  optimizer: { type: "adam", learningRate: 0.01 },
  epochs: 10,
  batchSize: 32,
  validationSplit: 0.2,
  seed: 1,
  return: ["history", "metrics"],
} as const;

/**
 * One adding-problem sample of 8 steps (markers at steps 2 and 6, target 0.3 + 0.5) through a
 * seeded lstm(4): `recurrent.lstm_0` holds its states h_1 … h_8 and ‖∂L/∂h_t‖ for each step.
 */
export const gradientsLstmExample = {
  model: {
    inputShape: [8, 2],
    layers: [
      { type: "lstm", units: 4 },
      { type: "dense", units: 1 },
    ],
    loss: "meanSquaredError",
  },
  seed: 5,
  x: [
    [0.9, 0],
    [0.3, 1],
    [0.1, 0],
    [0.7, 0],
    [0.2, 0],
    [0.5, 1],
    [0.8, 0],
    [0.4, 0],
  ],
  y: 0.8,
} as const;
