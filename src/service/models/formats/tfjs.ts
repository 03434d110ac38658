/**
 * The TensorFlow.js LayersModel format (docs/models.md): a model in the engine's language and
 * its weights as `model.json` + `weights.bin`, and back.
 */
import type { ModelSpec, NamedTensors } from "../../../engine/index.js";

/** tfjs' `model.json` (`io.ModelJSON`), as far as this service writes and reads it. */
export interface TfjsModelJson {
  format: "layers-model";
  generatedBy: string;
  convertedBy: null;
  /** `{ class_name: "Sequential", config: { name, layers: [...] }, keras_version, backend }`. */
  modelTopology: KerasSequential;
  /** `trainingConfig.loss` carries the model's loss (Keras' name). */
  trainingConfig?: { loss: unknown; metrics?: unknown; optimizer_config?: unknown };
  weightsManifest: { paths: string[]; weights: { name: string; shape: number[]; dtype: "float32" }[] }[];
}

/** A Keras `Sequential` config as `model.json` holds it (snake_case keys). */
export interface KerasSequential {
  class_name: "Sequential";
  config: { name?: string; layers: { class_name: string; config: Record<string, unknown> }[] };
  keras_version?: string;
  backend?: string;
}

/**
 * The model as tfjs' `model.json` (manifest path `weightsPath`, default "weights.bin") and its
 * weights, float32 little-endian, in manifest order (rounded once from float64).
 * @throws UnprocessableError (422) naming the layer (`model.layers[i]`) and the format, for a
 *   kind or option tfjs cannot express.
 */
export function toTfjs(
  spec: ModelSpec,
  weights: NamedTensors,
  weightsPath?: string,
): { modelJson: TfjsModelJson; weightsBin: Uint8Array } {
  void spec;
  void weights;
  void weightsPath;
  throw new Error("not implemented");
}
