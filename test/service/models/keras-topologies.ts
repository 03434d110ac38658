/**
 * Sequential topologies as Keras (Python) writes them with `model.to_json()`: tf.keras 2.15 and
 * Keras 3.4 (module/registered_name wrappers, DTypePolicy, InputLayer with batch_shape). Only for
 * tests.
 */

const dtype = {
  module: "keras",
  class_name: "DTypePolicy",
  config: { name: "float32" },
  registered_name: null,
};

/** tf.keras 2.x: an InputLayer, Conv2D with an L2 kernel penalty, pooling, flatten, dropout, dense. */
export const KERAS2_CNN = {
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

/** Keras 3: InputLayer with batch_shape, Dense (silu, NonNeg), BatchNormalization, LeakyReLU's negative_slope. */
export const KERAS3_MLP = {
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
