/**
 * The request examples of the model registry's routes (Swagger UI's "Try it out" bodies; the
 * contract test sends them): a stored model's predict and gradients, and an import as a
 * TensorFlow.js model.json's fields.
 */

/** A sample of the iris data set (4 features): what a model stored by `/train`'s `saveLean` example takes. */
export const irisSample = [5.1, 3.5, 1.4, 0.2] as const;

/** POST /models/{id}/predict and /gradients for the model the `saveLean` /train example stores. */
export const modelPredictExample = { x: [irisSample] };
export const modelGradientsExample = { x: irisSample, y: 0 };

/**
 * POST /models as a TensorFlow.js model.json's fields: `predictExample`'s XOR model as tfjs names
 * it, with its 9 float32 weights (kernels, then biases, in manifest order) in base64.
 */
export const importModelJsonExample = {
  format: "layers-model",
  modelTopology: {
    class_name: "Sequential",
    config: {
      name: "xor",
      layers: [
        {
          class_name: "Dense",
          config: { name: "dense_Dense1", units: 2, activation: "sigmoid", batch_input_shape: [null, 2] },
        },
        { class_name: "Dense", config: { name: "dense_Dense2", units: 1, activation: "sigmoid" } },
      ],
    },
  },
  trainingConfig: { loss: "binary_crossentropy" },
  weightsManifest: [
    {
      paths: ["weights.bin"],
      weights: [
        { name: "dense_Dense1/kernel", shape: [2, 2], dtype: "float32" },
        { name: "dense_Dense1/bias", shape: [2], dtype: "float32" },
        { name: "dense_Dense2/kernel", shape: [2, 1], dtype: "float32" },
        { name: "dense_Dense2/bias", shape: [1], dtype: "float32" },
      ],
    },
  ],
  // Float32Array [20, -20, 20, -20, -10, 30, 20, 20, -30], little-endian.
  weightData: "AACgQQAAoMEAAKBBAACgwQAAIMEAAPBBAACgQQAAoEEAAPDB",
};
