/**
 * One layer of the engine's language as a Keras / tfjs-layers `{ class_name, config }` for the
 * TensorFlow.js export (docs/models.md), or the 422 saying why tfjs cannot hold it.
 */
import { EMBEDDINGS_INITIALIZER, type LayerSpec } from "../../../engine/index.js";
import { fieldError, UnprocessableError } from "../../errors.js";
import {
  type KerasObject,
  kerasActivation,
  kerasConstraint,
  kerasInitializer,
  kerasRegularizer,
} from "./keras-names.js";
import { kerasRecurrent } from "./tfjs-recurrent.js";
import { kerasWrapper } from "./tfjs-wrappers.js";

const pair = (v: number | [number, number]): [number, number] => (typeof v === "number" ? [v, v] : [...v]);

/** The 422 for what tfjs cannot express, at `model.layers[i]` (and `field` below it). */
export function refuse(
  i: number,
  layer: LayerSpec,
  why: string,
  field?: string | string[],
): UnprocessableError {
  const where = `model.layers[${i}] (${layer.type})`;
  return new UnprocessableError(`${where} cannot be exported to TensorFlow.js: ${why}`, [
    fieldError(
      ["model", "layers", i, ...(field === undefined ? [] : typeof field === "string" ? [field] : field)],
      `cannot be exported to TensorFlow.js: ${why}`,
    ),
  ]);
}

/**
 * Dense's, Conv2D's and Conv1D's initialiser, regulariser and constraint keys, tfjs' order after `use_bias`.
 * An activity regulariser is left out (docs/models.md): tfjs-layers refuses to call a layer that
 * has one, and it only adds to the training loss, so predictions are the same without it.
 */
function weightOptions(l: LayerSpec & { type: "dense" | "conv2d" | "conv1d" }) {
  return {
    kernel_initializer: kerasInitializer(l.kernelInitializer ?? "glorotUniform"),
    bias_initializer: kerasInitializer(l.biasInitializer ?? "zeros"),
    kernel_regularizer: kerasRegularizer(l.kernelRegularizer),
    bias_regularizer: kerasRegularizer(l.biasRegularizer),
    activity_regularizer: null,
    kernel_constraint: kerasConstraint(l.kernelConstraint),
    bias_constraint: null,
  };
}

/** One layer's Keras class name and config (without name/trainable), given its input and output shapes. */
export function kerasLayer(
  i: number,
  l: LayerSpec,
  inShape: number[],
  outShape: number[],
): { class_name: string; config: Record<string, unknown> } {
  switch (l.type) {
    case "dense": {
      const { kernel_initializer, bias_initializer, ...rest } = weightOptions(l);
      return {
        class_name: "Dense",
        config: {
          units: l.units,
          activation: kerasActivation(l.activation),
          use_bias: l.useBias ?? true,
          kernel_initializer,
          bias_initializer,
          ...rest,
        },
      };
    }
    case "conv2d": {
      const w = weightOptions(l);
      return {
        class_name: "Conv2D",
        config: {
          filters: l.filters,
          kernel_initializer: w.kernel_initializer,
          kernel_regularizer: w.kernel_regularizer,
          kernel_constraint: w.kernel_constraint,
          kernel_size: pair(l.kernelSize),
          strides: pair(l.strides ?? 1),
          padding: l.padding ?? "valid",
          data_format: "channels_last",
          dilation_rate: [1, 1],
          activation: kerasActivation(l.activation),
          use_bias: l.useBias ?? true,
          bias_initializer: w.bias_initializer,
          bias_regularizer: w.bias_regularizer,
          activity_regularizer: null,
          bias_constraint: null,
        },
      };
    }
    case "maxPooling2d":
    case "averagePooling2d":
      return {
        class_name: l.type === "maxPooling2d" ? "MaxPooling2D" : "AveragePooling2D",
        config: {
          pool_size: pair(l.poolSize),
          padding: l.padding ?? "valid",
          strides: pair(l.strides ?? l.poolSize),
          data_format: "channels_last",
        },
      };
    case "flatten":
      return { class_name: "Flatten", config: {} };
    case "activation":
      return { class_name: "Activation", config: { activation: kerasActivation(l.activation) } };
    case "leakyReLU":
      return { class_name: "LeakyReLU", config: { alpha: l.alpha ?? 0.3 } };
    case "prelu": {
      const shared =
        l.sharedAxes === undefined ? null : typeof l.sharedAxes === "number" ? [l.sharedAxes] : l.sharedAxes;
      return {
        class_name: "PReLU",
        config: {
          alpha_initializer: { class_name: "Zeros", config: {} },
          alpha_regularizer: null,
          alpha_constraint: null,
          shared_axes: shared,
        },
      };
    }
    case "elu":
      if ((l.alpha ?? 1) !== 1)
        throw refuse(i, l, `tfjs-layers' ELU layer supports only alpha 1, this one has ${l.alpha}`, "alpha");
      return { class_name: "ELU", config: { alpha: 1 } };
    case "softmax":
      return { class_name: "Softmax", config: { axis: l.axis ?? -1 } };
    case "globalAveragePooling2d":
    case "globalMaxPooling2d":
      return {
        class_name: l.type === "globalAveragePooling2d" ? "GlobalAveragePooling2D" : "GlobalMaxPooling2D",
        config: { data_format: "channels_last" },
      };
    case "reshape":
      // Resolved: tfjs' LayerNormalization cannot build on a Reshape output whose -1 it left unresolved.
      return { class_name: "Reshape", config: { target_shape: [...outShape] } };
    case "zeroPadding2d": {
      const p = l.padding ?? 1;
      const padding =
        typeof p === "number"
          ? [
              [p, p],
              [p, p],
            ]
          : typeof p[0] === "number"
            ? [
                [p[0], p[0]],
                [p[1], p[1]],
              ]
            : p;
      return { class_name: "ZeroPadding2D", config: { padding, data_format: "channels_last" } };
    }
    case "batchNormalization":
      if ((l.axis ?? -1) !== -1 && l.axis !== inShape.length)
        throw refuse(
          i,
          l,
          `tfjs-layers' batch normalisation over axis ${l.axis}, not the last, gives wrong outputs (its kernel reads the statistics as if the channels were last)`,
          "axis",
        );
      return {
        class_name: "BatchNormalization",
        config: {
          axis: l.axis ?? -1,
          momentum: l.momentum ?? 0.99,
          epsilon: l.epsilon ?? 1e-3,
          center: l.center ?? true,
          scale: l.scale ?? true,
          beta_initializer: kerasInitializer(l.betaInitializer ?? "zeros"),
          gamma_initializer: kerasInitializer(l.gammaInitializer ?? "ones"),
          moving_mean_initializer: kerasInitializer(l.movingMeanInitializer ?? "zeros"),
          moving_variance_initializer: kerasInitializer(l.movingVarianceInitializer ?? "ones"),
          beta_regularizer: null,
          gamma_regularizer: null,
          beta_constraint: null,
          gamma_constraint: null,
        },
      };
    case "layerNormalization":
      return {
        class_name: "LayerNormalization",
        config: {
          axis: l.axis ?? -1,
          epsilon: l.epsilon ?? 1e-3,
          center: l.center ?? true,
          scale: l.scale ?? true,
          beta_initializer: { class_name: "Zeros", config: {} } satisfies KerasObject,
          gamma_initializer: { class_name: "Ones", config: {} } satisfies KerasObject,
          beta_regularizer: null,
          gamma_regularizer: null,
        },
      };
    case "embedding":
      return {
        class_name: "Embedding",
        config: {
          input_dim: l.inputDim,
          output_dim: l.outputDim,
          embeddings_initializer: kerasInitializer(l.embeddingsInitializer ?? EMBEDDINGS_INITIALIZER),
          embeddings_regularizer: null,
          activity_regularizer: null,
          embeddings_constraint: null,
          // Set by `toTfjs`: true when a recurrent layer reads the mask (`tfjsMaskZero`).
          mask_zero: false,
          input_length: l.inputLength ?? null,
        },
      };
    case "conv1d": {
      if (l.padding === "causal")
        throw refuse(
          i,
          l,
          "tfjs-layers' Conv1D does not implement causal padding (it throws NotImplementedError when called)",
          "padding",
        );
      const w = weightOptions(l);
      const list = (v: number | [number] | undefined) => [typeof v === "object" ? v[0] : (v ?? 1)];
      return {
        class_name: "Conv1D",
        config: {
          filters: l.filters,
          kernel_initializer: w.kernel_initializer,
          kernel_regularizer: w.kernel_regularizer,
          kernel_constraint: w.kernel_constraint,
          kernel_size: list(l.kernelSize),
          strides: list(l.strides),
          padding: l.padding ?? "valid",
          dilation_rate: list(l.dilationRate),
          activation: kerasActivation(l.activation),
          use_bias: l.useBias ?? true,
          bias_initializer: w.bias_initializer,
          bias_regularizer: w.bias_regularizer,
          activity_regularizer: null,
          bias_constraint: null,
        },
      };
    }
    case "maxPooling1d":
    case "averagePooling1d": {
      const pool = typeof l.poolSize === "object" ? l.poolSize[0] : (l.poolSize ?? 2);
      const strides = typeof l.strides === "object" ? l.strides[0] : (l.strides ?? pool);
      return {
        class_name: l.type === "maxPooling1d" ? "MaxPooling1D" : "AveragePooling1D",
        config: { pool_size: [pool], padding: l.padding ?? "valid", strides: [strides] },
      };
    }
    case "globalAveragePooling1d":
    case "globalMaxPooling1d":
      return {
        class_name: l.type === "globalAveragePooling1d" ? "GlobalAveragePooling1D" : "GlobalMaxPooling1D",
        config: {},
      };
    case "dropout": {
      // Keras' noise_shape has the batch axis first; tfjs fills a null entry with the input's extent.
      const ns = l.noiseShape?.map((d) => (d === -1 ? null : d));
      const noise_shape = ns === undefined ? null : ns.length === inShape.length ? [null, ...ns] : ns;
      return { class_name: "Dropout", config: { rate: l.rate, noise_shape, seed: l.seed ?? null } };
    }
    case "simpleRNN":
    case "lstm":
    case "gru": {
      const k = kerasRecurrent(l);
      if ("refuse" in k) throw refuse(i, l, k.refuse, k.field);
      return k;
    }
    case "bidirectional":
    case "timeDistributed": {
      const k = kerasWrapper(l, inShape, (d, dIn) => kerasLayer(i, d, dIn, [d.units]));
      if ("refuse" in k) throw refuse(i, l, k.refuse, k.field);
      return k;
    }
  }
}
