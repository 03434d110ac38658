/**
 * One Keras layer config (`{ class_name, config }` of a Sequential, as tfjs or Keras writes it)
 * as one layer of the engine's language (docs/models.md, "Importing Keras/tfjs models").
 */
import type { LayerSpec } from "../../../engine/index.js";
import {
  ConfigReader,
  channelsLast,
  compact,
  LayerOptionError,
  size2d,
  weightOptions,
} from "./keras-config.js";
import { initializerFromKeras } from "./keras-names.js";
import { recurrentFromKeras } from "./keras-recurrent.js";
import { wrapperFromKeras } from "./keras-wrappers.js";

export { LayerOptionError } from "./keras-config.js";

/** The Keras class names read, and the engine kind each becomes. */
export const KERAS_CLASSES: Record<string, LayerSpec["type"]> = {
  Dense: "dense",
  Conv2D: "conv2d",
  MaxPooling2D: "maxPooling2d",
  AveragePooling2D: "averagePooling2d",
  Flatten: "flatten",
  Activation: "activation",
  LeakyReLU: "leakyReLU",
  PReLU: "prelu",
  ELU: "elu",
  Softmax: "softmax",
  GlobalAveragePooling2D: "globalAveragePooling2d",
  GlobalMaxPooling2D: "globalMaxPooling2d",
  Reshape: "reshape",
  ZeroPadding2D: "zeroPadding2d",
  BatchNormalization: "batchNormalization",
  LayerNormalization: "layerNormalization",
  Dropout: "dropout",
  Embedding: "embedding",
  Conv1D: "conv1d",
  MaxPooling1D: "maxPooling1d",
  AveragePooling1D: "averagePooling1d",
  GlobalAveragePooling1D: "globalAveragePooling1d",
  GlobalMaxPooling1D: "globalMaxPooling1d",
  SimpleRNN: "simpleRNN",
  LSTM: "lstm",
  GRU: "gru",
  Bidirectional: "bidirectional",
  TimeDistributed: "timeDistributed",
};

/** Keras' aliases of those classes. */
const CLASS_ALIASES: Record<string, string> = {
  Convolution2D: "Conv2D",
  MaxPool2D: "MaxPooling2D",
  AvgPool2D: "AveragePooling2D",
  GlobalAvgPool2D: "GlobalAveragePooling2D",
  GlobalMaxPool2D: "GlobalMaxPooling2D",
  Convolution1D: "Conv1D",
  MaxPool1D: "MaxPooling1D",
  AvgPool1D: "AveragePooling1D",
  GlobalAvgPool1D: "GlobalAveragePooling1D",
  GlobalMaxPool1D: "GlobalMaxPooling1D",
};

/** Whether `cls` is a class (or an alias of one) `layerFromKeras` reads. */
export function isKerasClass(cls: string): boolean {
  return (CLASS_ALIASES[cls] ?? cls) in KERAS_CLASSES;
}

/**
 * A Keras layer's config as a `LayerSpec` candidate (checked by `ModelSpecSchema` afterwards).
 * @param kerasVersion the topology's `keras_version` ("3.…": hard_sigmoid differs and is refused).
 * @throws LayerOptionError naming the config key for an option the engine does not have.
 */
export function layerFromKeras(cls: string, cfg: Record<string, unknown>, kerasVersion: string): LayerSpec {
  const r = new ConfigReader(cls, cfg);
  const type = KERAS_CLASSES[CLASS_ALIASES[cls] ?? cls]!;
  const k3 = kerasVersion.startsWith("3.");
  r.fixed("trainable", [true], "every layer of the engine trains");
  const dtype = r.get("dtype");
  const dtypeName =
    typeof dtype === "object" && dtype !== null
      ? (dtype as { config?: { name?: unknown } }).config?.name
      : dtype;
  if (dtypeName !== undefined && dtypeName !== null && dtypeName !== "float32")
    throw new LayerOptionError(`${cls}: dtype ${JSON.stringify(dtypeName)} is not supported (float32 only)`, [
      "dtype",
    ]);
  const name = r.get("name");
  const base = { type, ...(typeof name === "string" ? { name } : {}) } as Record<string, unknown>;
  let spec: Record<string, unknown>;
  switch (type) {
    case "dense":
      spec = {
        ...base,
        units: r.get("units"),
        activation: r.activation("activation", k3),
        useBias: r.or("use_bias", true),
        ...weightOptions(r),
      };
      break;
    case "conv2d":
      channelsLast(r);
      r.fixed("dilation_rate", [1, [1, 1]], "the engine's convolutions are not dilated");
      r.fixed("groups", [1], "the engine's convolutions are not grouped");
      spec = {
        ...base,
        filters: r.get("filters"),
        kernelSize: size2d(r.get("kernel_size")),
        strides: size2d(r.or("strides", 1)),
        padding: r.or("padding", "valid"),
        activation: r.activation("activation", k3),
        useBias: r.or("use_bias", true),
        ...weightOptions(r),
      };
      break;
    case "maxPooling2d":
    case "averagePooling2d": {
      channelsLast(r);
      const poolSize = size2d(r.or("pool_size", 2));
      spec = {
        ...base,
        poolSize,
        strides: size2d(r.or("strides", poolSize)),
        padding: r.or("padding", "valid"),
      };
      break;
    }
    case "globalAveragePooling2d":
    case "globalMaxPooling2d":
      channelsLast(r);
      r.fixed("keepdims", [false], "the output is [channels]");
      spec = base;
      break;
    case "flatten":
      channelsLast(r);
      spec = base;
      break;
    case "activation":
      spec = { ...base, activation: r.activation("activation", k3) };
      break;
    case "leakyReLU":
      spec = { ...base, alpha: r.or("alpha", r.or("negative_slope", 0.3)) };
      break;
    case "prelu":
      r.fixed(
        "alpha_initializer",
        [{ class_name: "Zeros", config: {} }, "zeros"],
        "the engine starts alpha at 0",
      );
      r.fixed("alpha_regularizer", [], "the engine has no alpha regularizer");
      r.fixed("alpha_constraint", [], "the engine has no alpha constraint");
      spec = compact({ ...base, sharedAxes: r.get("shared_axes") ?? undefined });
      break;
    case "elu":
      spec = { ...base, alpha: r.or("alpha", 1) };
      break;
    case "softmax":
      spec = { ...base, axis: r.axis("axis", -1) };
      break;
    case "reshape":
      spec = { ...base, targetShape: r.get("target_shape") };
      break;
    case "zeroPadding2d":
      channelsLast(r);
      spec = { ...base, padding: r.or("padding", 1) };
      break;
    case "batchNormalization":
      for (const k of ["beta_regularizer", "gamma_regularizer", "beta_constraint", "gamma_constraint"])
        r.fixed(k, [], "the engine has no regularizer or constraint on gamma and beta");
      r.fixed("synchronized", [false], "one device");
      r.fixed("renorm", [false], "the engine has no batch renormalisation");
      spec = {
        ...base,
        axis: r.axis("axis", -1),
        momentum: r.or("momentum", 0.99),
        epsilon: r.or("epsilon", 1e-3),
        center: r.or("center", true),
        scale: r.or("scale", true),
        gammaInitializer: r.convert("gamma_initializer", (v) =>
          v == null ? "ones" : initializerFromKeras(v),
        ),
        betaInitializer: r.convert("beta_initializer", (v) =>
          v == null ? "zeros" : initializerFromKeras(v),
        ),
        movingMeanInitializer: r.convert("moving_mean_initializer", (v) =>
          v == null ? "zeros" : initializerFromKeras(v),
        ),
        movingVarianceInitializer: r.convert("moving_variance_initializer", (v) =>
          v == null ? "ones" : initializerFromKeras(v),
        ),
      };
      break;
    case "layerNormalization":
      for (const k of ["beta_regularizer", "gamma_regularizer", "beta_constraint", "gamma_constraint"])
        r.fixed(k, [], "the engine has no regularizer or constraint on gamma and beta");
      r.fixed(
        "beta_initializer",
        [{ class_name: "Zeros", config: {} }, "zeros"],
        "the engine starts beta at 0",
      );
      r.fixed(
        "gamma_initializer",
        [{ class_name: "Ones", config: {} }, "ones"],
        "the engine starts gamma at 1",
      );
      r.fixed("rms_scaling", [false], "the engine has no RMS scaling");
      spec = {
        ...base,
        axis: r.or("axis", -1),
        epsilon: r.or("epsilon", 1e-3),
        center: r.or("center", true),
        scale: r.or("scale", true),
      };
      break;
    case "embedding":
      for (const k of ["embeddings_regularizer", "activity_regularizer", "embeddings_constraint"])
        r.fixed(k, [], "the engine's embedding has no regularizer or constraint");
      r.fixed("sparse", [false], "the engine's embedding gradient is dense");
      r.fixed("lora_rank", [], "the engine has no LoRA");
      spec = compact({
        ...base,
        inputDim: r.get("input_dim"),
        outputDim: r.get("output_dim"),
        maskZero: r.or("mask_zero", false),
        embeddingsInitializer: r.convert("embeddings_initializer", (v) =>
          v == null ? undefined : initializerFromKeras(v),
        ),
        inputLength: r.get("input_length") ?? undefined,
      });
      break;
    case "conv1d":
      channelsLast(r);
      r.fixed("groups", [1], "the engine's convolutions are not grouped");
      spec = {
        ...base,
        filters: r.get("filters"),
        kernelSize: r.get("kernel_size"),
        strides: r.or("strides", 1),
        padding: r.or("padding", "valid"),
        dilationRate: r.or("dilation_rate", 1),
        activation: r.activation("activation", k3),
        useBias: r.or("use_bias", true),
        ...weightOptions(r),
      };
      break;
    case "maxPooling1d":
    case "averagePooling1d": {
      channelsLast(r);
      const poolSize = r.or("pool_size", 2);
      spec = { ...base, poolSize, strides: r.or("strides", poolSize), padding: r.or("padding", "valid") };
      break;
    }
    case "globalAveragePooling1d":
    case "globalMaxPooling1d":
      channelsLast(r);
      r.fixed("keepdims", [false], "the output is [channels]");
      spec = base;
      break;
    case "dropout":
      spec = compact({
        ...base,
        rate: r.get("rate"),
        noiseShape: r.get("noise_shape") ?? undefined,
        seed: r.get("seed") ?? undefined,
      });
      break;
    case "simpleRNN":
    case "lstm":
    case "gru":
      spec = recurrentFromKeras(r, base, k3);
      break;
    case "bidirectional":
    case "timeDistributed":
      spec = wrapperFromKeras(
        type,
        base,
        (k) => r.get(k),
        (c, cfg) => layerFromKeras(c, cfg, kerasVersion),
      );
      break;
  }
  r.rest();
  return spec as unknown as LayerSpec;
}
