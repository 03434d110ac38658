import { configureParams } from "../regularizers.js";
import type { LayerSpec } from "../spec.js";
import { Activation } from "./activation.js";
import { buildAdvancedActivation, preluParamCount } from "./advanced-activations.js";
import { batchNormalizationParamCount, buildBatchNormalization } from "./batch-normalization.js";
import { buildConvLayer } from "./conv-factory.js";
import { Dense } from "./dense.js";
import { buildDropout } from "./dropout.js";
import { Flatten } from "./flatten.js";
import type { Layer } from "./layer.js";
import { buildLayerNormalization, layerNormalizationParamCount } from "./layer-normalization.js";
import { buildRecurrent, recurrentParamCount } from "./recurrent-factory.js";
import { buildSequenceLayer, sequenceParamCount } from "./sequence-factory.js";
import { buildShapeLayer } from "./shape-factory.js";
import { buildWrapper, wrapperParamCount } from "./wrapper-factory.js";

/**
 * Trainable parameters a layer spec will have on `inShape`, from the shapes alone (0 when the
 * shapes are invalid: building the layer then reports why).
 */
export function paramsOf(ls: LayerSpec, inShape: readonly number[]): number {
  if (ls.type === "prelu") return preluParamCount(ls, inShape);
  if (ls.type === "batchNormalization") return batchNormalizationParamCount(ls, inShape);
  if (ls.type === "layerNormalization") return layerNormalizationParamCount(ls, inShape);
  switch (ls.type) {
    case "embedding":
    case "conv1d":
    case "maxPooling1d":
    case "averagePooling1d":
    case "globalAveragePooling1d":
    case "globalMaxPooling1d":
      return sequenceParamCount(ls, inShape);
    case "simpleRNN":
    case "lstm":
    case "gru":
      return recurrentParamCount(ls, inShape);
    case "bidirectional":
    case "timeDistributed":
      return wrapperParamCount(ls, inShape);
  }
  const bias = (units: number) =>
    ls.type !== "dense" && ls.type !== "conv2d" ? 0 : ls.useBias === false ? 0 : units;
  // A dense layer reads the last axis (docs/backprop.md §4.4).
  if (ls.type === "dense") return inShape.length >= 1 ? inShape.at(-1)! * ls.units + bias(ls.units) : 0;
  if (ls.type === "conv2d" && inShape.length === 3) {
    const [kH, kW] = typeof ls.kernelSize === "number" ? [ls.kernelSize, ls.kernelSize] : ls.kernelSize;
    const n = kH * kW * inShape[2]! * ls.filters + bias(ls.filters);
    return Number.isFinite(n) ? n : 0;
  }
  return 0;
}

/**
 * The layers one spec becomes on `inShape` (a layer with an `activation` is the layer followed by
 * an `Activation` layer), named `name`.
 * @throws EngineError at `["layers", i]` when the spec does not fit `inShape`.
 */
export function buildLayer(ls: LayerSpec, name: string, inShape: number[], i: number): Layer[] {
  switch (ls.type) {
    case "dense": {
      const dense = new Dense(name, inShape, ls.units, ls.useBias ?? true);
      configureParams(ls, dense.kernel, dense.bias, i);
      return ls.activation && ls.activation !== "linear"
        ? [dense, new Activation(`${name}/activation`, dense.outputShape, ls.activation)]
        : [dense];
    }
    case "activation":
      return [new Activation(name, inShape, ls.activation)];
    case "flatten":
      return [new Flatten(name, inShape)];
    case "conv2d":
    case "maxPooling2d":
    case "averagePooling2d":
      return buildConvLayer(ls, name, inShape, i);
    case "leakyReLU":
    case "prelu":
    case "elu":
    case "softmax":
      return [buildAdvancedActivation(ls, name, inShape, i)];
    case "globalAveragePooling2d":
    case "globalMaxPooling2d":
    case "reshape":
    case "zeroPadding2d":
      return [buildShapeLayer(ls, name, inShape, i)];
    case "dropout":
      return [buildDropout(ls, name, inShape, i)];
    case "batchNormalization":
      return [buildBatchNormalization(ls, name, inShape, i)];
    case "layerNormalization":
      return [buildLayerNormalization(ls, name, inShape, i)];
    case "simpleRNN":
    case "lstm":
    case "gru":
      return [buildRecurrent(ls, name, inShape, i)];
    case "embedding":
    case "conv1d":
    case "maxPooling1d":
    case "averagePooling1d":
    case "globalAveragePooling1d":
    case "globalMaxPooling1d":
      return buildSequenceLayer(ls, name, inShape, i);
    case "bidirectional":
    case "timeDistributed":
      return buildWrapper(ls, name, inShape, i);
  }
}
