/** Answers the browser tests mock with page.route, for what the service on this branch cannot answer yet. */

/** A /gradients answer for iris → dense(3) → batchNormalization → dropout(0.25) → dense(3, softmax). */
export const GRADIENTS_ANSWER = {
  loss: 1.1,
  output: [0.3, 0.3, 0.4],
  gradients: {
    "dense_0/kernel": [
      [0.1, 0.2, 0.3],
      [0.1, 0.2, 0.3],
      [0.1, 0.2, 0.3],
      [0.1, 0.2, 0.3],
    ],
    "dense_0/bias": [0.01, 0.02, 0.03],
    "batchNormalization_1/gamma": [0.5, -0.2, 0.1],
    "batchNormalization_1/beta": [0.3, 0.1, -0.4],
    "dense_3/kernel": [
      [0.1, 0.2, 0.3],
      [0.1, 0.2, 0.3],
      [0.1, 0.2, 0.3],
    ],
    "dense_3/bias": [0.3, 0.3, -0.6],
  },
  activations: [
    { layer: "dense_0", output: [0.5, -0.5, 0.2] },
    { layer: "batchNormalization_1", output: [0.4, -0.4, 0.1] },
    { layer: "dropout_2", output: [0.533, 0, 0.133] },
    { layer: "dense_3", output: [0.3, 0.3, 0.4] },
  ],
  weights: {
    "dense_0/kernel": [
      [1, 0, 0],
      [0, 1, 0],
      [0, 0, 1],
      [1, 1, 1],
    ],
    "dense_0/bias": [0, 0, 0],
    "batchNormalization_1/gamma": [1, 1, 1],
    "batchNormalization_1/beta": [0, 0, 0],
    "batchNormalization_1/moving_mean": [0, 0, 0],
    "batchNormalization_1/moving_variance": [1, 1, 1],
    "dense_3/kernel": [
      [1, 0, 0],
      [0, 1, 0],
      [0, 0, 1],
    ],
    "dense_3/bias": [0, 0, 0],
  },
  dropoutMasks: { dropout_2: [1.3333333333333333, 0, 1.3333333333333333] },
  seed: 1,
  numerical: {
    method: "central",
    epsilon: 1e-5,
    maxRelError: 1e-9,
    maxAbsError: 1e-12,
    worst: { key: "dense_0/kernel", index: [0, 0], analytic: 0.1, numerical: 0.1 },
    gradients: {},
  },
};
