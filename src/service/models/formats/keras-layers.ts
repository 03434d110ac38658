/**
 * One Keras layer config (`{ class_name, config }` of a Sequential, as tfjs or Keras writes it)
 * as one layer of the engine's language (docs/models.md, "Importing Keras/tfjs models").
 */
import type { LayerSpec } from "../../../engine/index.js";
import {
  activationFromKeras,
  constraintFromKeras,
  initializerFromKeras,
  KerasValueError,
  regularizerFromKeras,
} from "./keras-names.js";
import { wrapperFromKeras } from "./keras-wrappers.js";

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

/** The keys every layer may carry that say nothing about its computation. */
const NEUTRAL = new Set([
  "name",
  "batch_input_shape",
  "batch_shape",
  "input_shape",
  "dtype",
  "trainable",
  "batch_size",
]);

/** A problem at a key of the layer's config (`[..., "config", key]`). */
export class LayerOptionError extends Error {
  constructor(
    message: string,
    readonly key: (string | number)[],
  ) {
    super(message);
  }
}

/** Reads a layer's config, remembering which keys were read; `rest` checks the others. */
class ConfigReader {
  private readonly read = new Set<string>(NEUTRAL);
  constructor(
    readonly cls: string,
    readonly cfg: Record<string, unknown>,
  ) {}

  /** The raw value (undefined when absent). */
  get(key: string): unknown {
    this.read.add(key);
    return this.cfg[key];
  }

  /** The value, or `dflt` when absent or null. */
  or<T>(key: string, dflt: T): T | unknown {
    const v = this.get(key);
    return v === undefined || v === null ? dflt : v;
  }

  /** A key that must hold Keras' default (or be absent/null) because the engine has no other. */
  fixed(key: string, allowed: unknown[], why: string): void {
    const v = this.get(key);
    if (v === undefined || v === null) return;
    if (!allowed.some((a) => JSON.stringify(a) === JSON.stringify(v)))
      throw new LayerOptionError(`${this.cls}: ${key} ${JSON.stringify(v)} is not supported (${why})`, [key]);
  }

  /** Runs a Keras-object conversion, naming this key (and the object's own key) on failure. */
  convert<T>(key: string, f: (v: unknown) => T): T {
    try {
      return f(this.get(key));
    } catch (e) {
      if (e instanceof KerasValueError)
        throw new LayerOptionError(`${this.cls}: ${key}: ${e.message}`, [key, ...e.key]);
      throw e;
    }
  }

  /** An activation name. */
  activation(key: string, hardSigmoidDiffers: boolean) {
    const v = this.get(key);
    const a = activationFromKeras(v ?? "linear");
    if (a === undefined || (hardSigmoidDiffers && a === "hardSigmoid"))
      throw new LayerOptionError(
        hardSigmoidDiffers && a === "hardSigmoid"
          ? `${this.cls}: Keras 3's hard_sigmoid is relu6(x + 3)/6, not the engine's (and tfjs') clip(0.2·x + 0.5, 0, 1)`
          : `${this.cls}: unsupported activation ${JSON.stringify(v)}; supported: linear, sigmoid, tanh, relu, softmax, elu, selu, softplus, softsign, relu6, hard_sigmoid, swish (silu), mish, gelu`,
        [key],
      );
    return a;
  }

  /**
   * One axis, which Keras writes as an integer or (Keras 2's BatchNormalization, tf.keras'
   * Softmax) a list of one: `[3]` is 3; `dflt` when absent or null.
   * @throws LayerOptionError for a list of several axes (the engine's layer takes one).
   */
  axis(key: string, dflt: number): unknown {
    const v = this.or(key, dflt);
    if (!Array.isArray(v)) return v;
    if (v.length === 1) return v[0];
    throw new LayerOptionError(
      `${this.cls}: ${key} ${JSON.stringify(v)} is not supported (one axis only, an integer or a list of one)`,
      [key],
    );
  }

  /** Refuses every key not read whose value is not null (an option the engine would ignore). */
  rest(): void {
    for (const [key, v] of Object.entries(this.cfg))
      if (!this.read.has(key) && v !== null && v !== undefined)
        throw new LayerOptionError(`${this.cls}: option ${key} = ${JSON.stringify(v)} is not supported`, [
          key,
        ]);
  }
}

/** Drops undefined fields (absent options stay absent). */
function compact<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}

/** Dense's and Conv2D's weight options. */
function weightOptions(r: ConfigReader) {
  r.fixed("bias_constraint", [], "the engine constrains only the kernel");
  return compact({
    kernelInitializer: r.convert("kernel_initializer", (v) =>
      v == null ? undefined : initializerFromKeras(v),
    ),
    biasInitializer: r.convert("bias_initializer", (v) => (v == null ? undefined : initializerFromKeras(v))),
    kernelRegularizer: r.convert("kernel_regularizer", regularizerFromKeras),
    biasRegularizer: r.convert("bias_regularizer", regularizerFromKeras),
    activityRegularizer: r.convert("activity_regularizer", regularizerFromKeras),
    kernelConstraint: r.convert("kernel_constraint", constraintFromKeras),
  });
}

const size2d = (v: unknown): unknown => (Array.isArray(v) && v.length === 2 && v[0] === v[1] ? v[0] : v);

/** `data_format` must be channels_last (the engine's only layout). */
const channelsLast = (r: ConfigReader) =>
  r.fixed("data_format", ["channels_last"], "the engine's images are channels_last");

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

/**
 * SimpleRNN's, LSTM's and GRU's config (docs/models.md). An option absent from the config takes
 * tfjs-layers' default (Keras writes every one). `implementation`, `unroll` and `use_cudnn` change
 * how Keras computes, not what, and are read and dropped; `seed` only seeds dropout;
 * `zero_output_for_mask: true` is refused (a LayerOptionError at that key).
 */
function recurrentFromKeras(
  r: ConfigReader,
  base: Record<string, unknown>,
  k3: boolean,
): Record<string, unknown> {
  const why = "the engine has no regularizers or constraints on recurrent layers";
  for (const k of ["regularizer", "constraint"])
    for (const w of ["kernel", "recurrent", "bias"]) r.fixed(`${w}_${k}`, [], why);
  r.fixed("activity_regularizer", [], why);
  r.fixed("stateful", [false], "each batch starts from a zero state");
  r.fixed("time_major", [false], "inputs are [batch, timesteps, features]");
  // Keras' zero_output_for_mask gives 0 at a masked step where the engine (and tfjs-layers) repeat
  // the carried state (docs/backprop.md §22.6); inside a Bidirectional keras-wrappers.ts drops it.
  r.fixed(
    "zero_output_for_mask",
    [false],
    "the output at a masked step is the carried state, as in tfjs-layers; the engine does not zero it",
  );
  // How Keras computes, not what.
  for (const k of ["implementation", "unroll", "use_cudnn", "seed"]) r.get(k);
  const act = (key: string, dflt: string) => (r.cfg[key] == null ? dflt : r.activation(key, k3));
  const init = (key: string, dflt: string) =>
    r.convert(key, (v) => (v == null ? dflt : initializerFromKeras(v)));
  const type = base.type;
  return compact({
    ...base,
    units: r.get("units"),
    activation: act("activation", "tanh"),
    recurrentActivation: type === "simpleRNN" ? undefined : act("recurrent_activation", "hardSigmoid"),
    useBias: r.or("use_bias", true),
    returnSequences: r.or("return_sequences", false),
    returnState: r.or("return_state", false),
    goBackwards: r.or("go_backwards", false),
    unitForgetBias: type === "lstm" ? r.or("unit_forget_bias", false) : undefined,
    resetAfter: type === "gru" ? r.or("reset_after", false) : undefined,
    kernelInitializer: init("kernel_initializer", "glorotNormal"),
    recurrentInitializer: init("recurrent_initializer", "orthogonal"),
    biasInitializer: init("bias_initializer", "zeros"),
    dropout: r.or("dropout", 0),
    recurrentDropout: r.or("recurrent_dropout", 0),
  });
}
