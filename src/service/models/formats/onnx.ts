/**
 * ONNX export (docs/models.md): a model in the engine's language and its weights as a
 * `model.onnx` (opset 13, float32, input "input" and output "output" with a symbolic batch
 * dimension "batch"), encoded by onnx-proto's protobufjs classes.
 */
import type { ModelSpec, NamedTensors } from "../../../engine/index.js";

/**
 * @throws UnprocessableError (422) naming the layer (`model.layers[i]`) and the format, for a
 *   kind or option ONNX cannot express.
 */
export function toOnnx(spec: ModelSpec, weights: NamedTensors, name?: string): Uint8Array {
  void spec;
  void weights;
  void name;
  throw new Error("not implemented");
}
