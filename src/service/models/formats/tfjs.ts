/**
 * The TensorFlow.js LayersModel format (docs/models.md): a model in the engine's language and
 * its weights as `model.json` + `weights.bin`, and back.
 */
import {
  describeModel,
  EMBEDDINGS_INITIALIZER,
  ENGINE_VERSION,
  type LayerSpec,
  type ModelSpec,
  type NamedTensors,
} from "../../../engine/index.js";
import { fieldError, UnprocessableError } from "../../errors.js";
import {
  camel,
  type KerasObject,
  kerasActivation,
  kerasConstraint,
  kerasInitializer,
  kerasLoss,
  kerasRegularizer,
  TFJS_LOSSES,
} from "./keras-names.js";
import { tfjsMaskZero } from "./tfjs-mask.js";
import { kerasOptimizer } from "./tfjs-optimizer.js";
import { kerasRecurrent } from "./tfjs-recurrent.js";
import { kerasWrapper } from "./tfjs-wrappers.js";

/** What `generatedBy` says: the service and its engine's version (as `engineVersion`). */
export const GENERATED_BY = `backprop-service (engine ${ENGINE_VERSION})`;

/** tfjs' `model.json` (`io.ModelJSON`), as far as this service writes and reads it. */
export interface TfjsModelJson {
  format: "layers-model";
  generatedBy: string;
  convertedBy: null;
  /** `{ class_name: "Sequential", config: { name, layers: [...] }, keras_version, backend }`. */
  modelTopology: KerasSequential;
  /**
   * `trainingConfig.loss` carries the model's loss (Keras' name), with the `optimizer_config` tfjs
   * needs to read it; written only when tfjs can compile that loss (a name it has, no options).
   */
  trainingConfig?: { loss: unknown; metrics?: unknown; optimizer_config?: unknown };
  /** `{ loss }` when `trainingConfig` cannot hold the loss (tfjs ignores this field). */
  userDefinedMetadata?: { loss?: unknown };
  weightsManifest: { paths: string[]; weights: { name: string; shape: number[]; dtype: "float32" }[] }[];
}

/** A Keras `Sequential` config as `model.json` holds it (snake_case keys). */
export interface KerasSequential {
  class_name: "Sequential";
  config: { name?: string; layers: { class_name: string; config: Record<string, unknown> }[] };
  keras_version?: string;
  backend?: string;
}

/** The loss a `model.json` carries: `trainingConfig.loss`, else `userDefinedMetadata.loss`. */
export function lossOfModelJson(modelJson: unknown): unknown {
  if (typeof modelJson !== "object" || modelJson === null) return undefined;
  const m = modelJson as { trainingConfig?: { loss?: unknown }; userDefinedMetadata?: { loss?: unknown } };
  return m.trainingConfig?.loss ?? m.userDefinedMetadata?.loss;
}

const pair = (v: number | [number, number]): [number, number] => (typeof v === "number" ? [v, v] : [...v]);

/** The 422 for what tfjs cannot express, at `model.layers[i]` (and `field` below it). */
function refuse(i: number, layer: LayerSpec, why: string, field?: string | string[]): UnprocessableError {
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
function kerasLayer(
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

/**
 * The model as tfjs' `model.json` (manifest path `weightsPath`, default "weights.bin") and its
 * weights, float32 little-endian, in manifest order (rounded once from float64). The manifest
 * lists the weights as tfjs' `model.save` does: every layer's trainable weights in layer order
 * (kernel, bias; gamma, beta; alpha), then the non-trainable ones (batch normalisation's
 * moving_mean, moving_variance). The same model gives byte-identical output. An activity
 * regulariser is not written (it changes training only, and tfjs cannot call a layer that has one).
 * @param options.name the Sequential's name (default "sequential"); `options.optimizer` the
 *   optimiser it was trained with, for `trainingConfig.optimizer_config` (see `kerasOptimizer`).
 * @throws UnprocessableError (422) naming the layer (`model.layers[i]`) and the format, for a
 *   kind or option tfjs cannot express, at `weights[key]` for a missing or misshapen weight, and
 *   at `weights[key][i]` for a value beyond float32's range.
 */
export function toTfjs(
  spec: ModelSpec,
  weights: NamedTensors,
  weightsPath = "weights.bin",
  options: { name?: string; optimizer?: unknown; lossGiven?: boolean } = {},
): { modelJson: TfjsModelJson; weightsBin: Uint8Array } {
  const summary = describeModel(spec);
  const maskZero = tfjsMaskZero(spec, refuse);
  const layers = spec.layers.map((l, i) => {
    const inShape = i === 0 ? spec.inputShape : summary.layers[i - 1]!.outputShape;
    const { class_name, config } = kerasLayer(i, l, inShape, summary.layers[i]!.outputShape);
    if (l.type === "embedding") config.mask_zero = maskZero;
    const first = i === 0 ? { batch_input_shape: [null, ...spec.inputShape], dtype: "float32" } : {};
    return { class_name, config: { ...config, name: summary.layers[i]!.name, trainable: true, ...first } };
  });
  const specs = [...summary.layers.flatMap((l) => l.params), ...summary.layers.flatMap((l) => l.state ?? [])];
  let size = 0;
  for (const p of specs) {
    const w = weights[p.key];
    const n = p.shape.reduce((a, b) => a * b, 1);
    if (!w || w.data.length !== n || w.shape.join() !== p.shape.join())
      throw new UnprocessableError(`weight "${p.key}" is missing or not of shape [${p.shape.join(", ")}]`, [
        fieldError(["weights", p.key], `expected a tensor of shape [${p.shape.join(", ")}]`),
      ]);
    size += n;
  }
  const bin = new Uint8Array(size * 4);
  const view = new DataView(bin.buffer);
  let offset = 0;
  for (const p of specs)
    weights[p.key]!.data.forEach((v, i) => {
      // Beyond ±3.4·10³⁸ float32 has only infinities: a weight there is refused, not changed.
      if (!Number.isFinite(Math.fround(v)))
        throw new UnprocessableError(`weight "${p.key}"[${i}] = ${v} does not fit in float32`, [
          fieldError(["weights", p.key, i], `${v} does not fit in float32 (|x| ≤ 3.4028234663852886e38)`),
        ]);
      view.setFloat32(offset, v, true);
      offset += 4;
    });
  const loss = kerasLoss(spec.loss);
  const compilable = typeof loss === "string" && TFJS_LOSSES.has(camel(loss));
  const modelJson: TfjsModelJson = {
    format: "layers-model",
    generatedBy: GENERATED_BY,
    convertedBy: null,
    modelTopology: {
      class_name: "Sequential",
      config: { name: options.name ?? "sequential", layers },
      keras_version: "tfjs-layers 4.22.0",
      backend: "tensor_flow.js",
    },
    // A model imported without a loss is written without one (uncompiled, as it came), so it
    // comes back without one too.
    ...(options.lossGiven === false
      ? {}
      : compilable
        ? { trainingConfig: { loss, metrics: null, optimizer_config: kerasOptimizer(options.optimizer) } }
        : { userDefinedMetadata: { loss } }),
    weightsManifest: [
      {
        paths: [weightsPath],
        weights: specs.map((p) => ({ name: p.key, shape: [...p.shape], dtype: "float32" })),
      },
    ],
  };
  return { modelJson, weightsBin: bin };
}
