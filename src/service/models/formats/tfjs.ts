/**
 * The TensorFlow.js LayersModel format (docs/models.md): a model in the engine's language and
 * its weights as `model.json` + `weights.bin`, and back.
 */
import { describeModel, ENGINE_VERSION, type ModelSpec, type NamedTensors } from "../../../engine/index.js";
import { fieldError, UnprocessableError } from "../../errors.js";
import { camel, kerasLoss, TFJS_LOSSES } from "./keras-names.js";
import { kerasLayer, refuse } from "./tfjs-layers.js";
import { tfjsMaskZero } from "./tfjs-mask.js";
import { kerasOptimizer } from "./tfjs-optimizer.js";

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
