/**
 * ONNX export (docs/onnx.md): a model in the engine's language and its weights as a
 * `model.onnx`, encoded by onnx-proto's protobufjs classes.
 */
import pkg from "onnx-proto";
import {
  describeModel,
  ENGINE_VERSION,
  EngineError,
  formatShape,
  type LayerSpec,
  type ModelSpec,
  type ModelSummary,
  maskedLayers,
  type NamedTensors,
  sameShape,
} from "../../../engine/index.js";
import { fieldError, UnprocessableError } from "../../errors.js";
import { OnnxGraph, type Value } from "./onnx-graph.js";
import { emitLayer, weightReader } from "./onnx-layers.js";
import { recurrentRefusal } from "./onnx-recurrent.js";

const { onnx } = pkg;

/**
 * Opset 18, the newest the bundled `onnx.proto` (onnx 1.10's, IR version 8) describes: it has
 * every operator the layers need under the engine's definitions (Mish 18, ReduceMean/ReduceMax
 * with their axes as an input 18, Pad 18, Erf for the exact gelu, Selu/Elu/HardSigmoid with
 * attributes), and onnxruntime-node runs it. Gelu itself (opset 20) would need IR 9.
 */
export const ONNX_OPSET = 18;
/** The IR version that goes with opset 18 (opsets 15–18 go with IR 8: docs/onnx.md, "Opset 18, IR version 8"). */
export const ONNX_IR_VERSION = 8;

/** The layer kinds `toOnnx` writes: all of `LayerSpec` (docs/onnx.md, the mapping table). */
const ONNX_KINDS: ReadonlySet<string> = new Set<LayerSpec["type"]>([
  "dense",
  "activation",
  "conv2d",
  "maxPooling2d",
  "averagePooling2d",
  "flatten",
  "leakyReLU",
  "prelu",
  "elu",
  "softmax",
  "globalAveragePooling2d",
  "globalMaxPooling2d",
  "reshape",
  "zeroPadding2d",
  "batchNormalization",
  "layerNormalization",
  "dropout",
  "embedding",
  "conv1d",
  "maxPooling1d",
  "averagePooling1d",
  "globalAveragePooling1d",
  "globalMaxPooling1d",
  "timeDistributed",
  "simpleRNN",
  "lstm",
  "gru",
  "bidirectional",
]);

/**
 * The model as ONNX bytes: graph input `input` `["batch", ...inputShape]` and output `output`
 * `["batch", ...outputShape]` (the engine's channels-last order; `dim_param` "batch"), float32,
 * the weights as initializers named by their engine keys (`dense_0/kernel`) in the engine's
 * shapes, rounded once from float64. Inference semantics: dropout is the identity, batch
 * normalisation uses the moving statistics. The same model gives the same bytes.
 * @param name the graph's name (default "model").
 * @throws UnprocessableError (422): at `model.layers[i]` naming the layer and "ONNX" for a kind
 *   ONNX cannot express, at `model.layers[i].<field>` for a recurrent activation ONNX's RNN,
 *   LSTM and GRU operators lack; at `model…` for a spec the engine refuses; at `weights["<key>"]` for a
 *   weight missing or of the wrong shape.
 */
export function toOnnx(spec: ModelSpec, weights: NamedTensors, name?: string): Uint8Array {
  spec.layers.forEach((ls, i) => {
    const layer = `layer ${ls.name ?? `${ls.type}_${i}`} (${ls.type})`;
    if (!ONNX_KINDS.has(ls.type))
      throw new UnprocessableError(`${layer} cannot be exported to ONNX`, [
        fieldError(["model", "layers", i], `${layer}: the ONNX export has no mapping for this kind`),
      ]);
    const refused = recurrentRefusal(ls);
    if (refused)
      throw new UnprocessableError(`${layer} cannot be exported to ONNX`, [
        fieldError(["model", "layers", i, ...refused.field], `${layer}: ${refused.why}`),
      ]);
  });
  const summary = summarise(spec);
  checkWeights(summary, weights);
  const g = new OnnxGraph();
  let x: Value = { name: "input", shape: [...spec.inputShape], nchw: false };
  const masked = new Set(maskedLayers(spec));
  summary.layers.forEach((layer, i) => {
    const keys = [...layer.params, ...(layer.state ?? [])].map((p) => p.key);
    const weight = weightReader(weights, layer.name, keys);
    x = emitLayer(
      g,
      spec.layers[i]!,
      { name: layer.name, inShape: x.shape, outShape: layer.outputShape, weight, masked: masked.has(i) },
      x,
    );
  });
  x = g.toNhwc(x, summary.layers.at(-1)!.name);
  if (!g.renameOutput(x.name, "output"))
    g.nodes.push({ opType: "Identity", name: "output", input: [x.name], output: ["output"] });
  const model = onnx.ModelProto.create({
    irVersion: ONNX_IR_VERSION,
    opsetImport: [{ domain: "", version: ONNX_OPSET }],
    producerName: "backprop-service",
    producerVersion: ENGINE_VERSION,
    graph: {
      name: name ?? "model",
      node: g.nodes,
      initializer: g.initializers,
      input: [valueInfo("input", spec.inputShape)],
      output: [valueInfo("output", summary.outputShape)],
    },
  });
  return onnx.ModelProto.encode(model).finish();
}

/** A float32 graph input or output `["batch", ...shape]`. */
function valueInfo(name: string, shape: readonly number[]): pkg.onnx.IValueInfoProto {
  return {
    name,
    type: {
      tensorType: {
        elemType: onnx.TensorProto.DataType.FLOAT,
        shape: { dim: [{ dimParam: "batch" }, ...shape.map((d) => ({ dimValue: d }))] },
      },
    },
  };
}

/** The engine's summary of `spec` (shapes per layer, weight keys), its refusals as 422s at `model…`. */
function summarise(spec: ModelSpec): ModelSummary {
  try {
    return describeModel(spec);
  } catch (e) {
    if (e instanceof EngineError)
      throw new UnprocessableError(e.message, [fieldError(["model", ...e.path], e.message)]);
    throw e;
  }
}

/** Every weight the layers have is in `weights` with its shape. */
function checkWeights(summary: ModelSummary, weights: NamedTensors): void {
  for (const layer of summary.layers)
    for (const { key, shape } of [...layer.params, ...(layer.state ?? [])]) {
      const t = weights[key];
      const problem = !t
        ? `the weight ${key} is missing`
        : !sameShape(t.shape, shape) || t.data.length !== t.shape.reduce((a, b) => a * b, 1)
          ? `the weight ${key} has shape ${formatShape(t.shape)}, expected ${formatShape(shape)}`
          : undefined;
      if (problem)
        throw new UnprocessableError(`${problem}: cannot export the model to ONNX`, [
          fieldError(["weights", key], `${problem} (layer ${layer.name})`),
        ]);
    }
}
