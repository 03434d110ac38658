/**
 * Keras/tfjs `Sequential` topologies into the engine's language (docs/models.md), and a tfjs
 * weights manifest with its binary into named tensors.
 */
import type { ModelSpec, NamedTensors } from "../../../engine/index.js";

/**
 * A Keras `Sequential` topology (`{ class_name: "Sequential", config: { layers } }`, as in a
 * `model.json`'s `modelTopology`) as a `ModelSpec`. The loss is `loss` when given, else the
 * topology's own `training_config.loss`, else none (`ModelSpec.loss` is then "meanSquaredError"
 * and `lossGiven` false: fine for inference, the caller refuses it for training).
 * @param at the path of `topology` in the request (e.g. `["model"]`): errors name
 *   `[...at, "config", "layers", 3, "class_name"]` and list what is supported.
 * @throws UnprocessableError (422) for an unsupported class_name or option; InvalidRequestError
 *   (400) for a topology that is not a Sequential config.
 */
export function kerasToSpec(
  topology: unknown,
  at: readonly (string | number)[],
  loss?: unknown,
): { spec: ModelSpec; lossGiven: boolean } {
  void topology;
  void at;
  void loss;
  throw new Error("not implemented");
}

/**
 * tfjs weights (a manifest's specs in order over one binary, float32 little-endian; float64
 * "float32" only) into named tensors keyed as the engine keys them (`<layer>/<param>`).
 * @throws UnprocessableError naming `weightsManifest…` or `weightData` for a size mismatch, an
 *   unknown dtype, or a weight the spec does not have.
 */
export function tfjsWeightsToTensors(
  spec: ModelSpec,
  manifest: unknown,
  weightData: Uint8Array,
  at: readonly (string | number)[],
): NamedTensors {
  void spec;
  void manifest;
  void weightData;
  void at;
  throw new Error("not implemented");
}

/** Whether a `model` field holds a Keras topology rather than the engine's `ModelSpec`. */
export function isKerasTopology(model: unknown): boolean {
  return typeof model === "object" && model !== null && "class_name" in model;
}
