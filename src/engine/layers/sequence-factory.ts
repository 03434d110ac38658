import { EngineError } from "../errors.js";
import { checkInitializer } from "../initializers.js";
import { configureParams } from "../regularizers.js";
import type { SequenceLayerSpec } from "../spec.js";
import { formatShape } from "../tensor.js";
import { Activation } from "./activation.js";
import { Conv1d, geometry1d } from "./conv1d.js";
import { EMBEDDINGS_INITIALIZER, Embedding } from "./embedding.js";
import type { Layer } from "./layer.js";
import { GlobalAveragePooling1d, GlobalMaxPooling1d, Pooling1d } from "./pooling1d.js";

/**
 * Trainable parameters of a sequence layer on `inShape`, from the shapes alone (0 when they do not
 * fit: building the layer then says why).
 */
export function sequenceParamCount(ls: SequenceLayerSpec, inShape: readonly number[]): number {
  let n = 0;
  if (ls.type === "embedding") n = ls.inputDim * ls.outputDim;
  else if (ls.type === "conv1d" && inShape.length === 2) {
    const k = typeof ls.kernelSize === "number" ? ls.kernelSize : ls.kernelSize[0];
    n = k * inShape[1]! * ls.filters + (ls.useBias === false ? 0 : ls.filters);
  }
  return Number.isFinite(n) && n > 0 ? n : 0;
}

/**
 * Builds a sequence layer (docs/backprop.md §21) for an input of shape `inShape`: `[timesteps]`
 * of token ids for an embedding, `[steps, channels]` for the others. A conv1d with a non-linear
 * `activation` becomes `[Conv1d, Activation]`, as dense does.
 * @param i the layer's index in the spec, for error paths.
 * @throws EngineError at `["layers", i, field]` for an option that is not valid (`inputDim`,
 *   `kernelSize`, `dilationRate` above 1 with `strides` above 1, an `inputLength` other than the
 *   input's steps, …), and at `["layers", i]` naming the layer and the shapes for an embedding that
 *   is not the first layer, an input of the wrong rank, or a window that does not fit.
 */
export function buildSequenceLayer(
  ls: SequenceLayerSpec,
  name: string,
  inShape: number[],
  i: number,
): Layer[] {
  if (ls.type === "embedding") return [buildEmbedding(ls, name, inShape, i)];
  const format: unknown = "dataFormat" in ls ? ls.dataFormat : undefined;
  if (format !== undefined && format !== "channelsLast")
    throw new EngineError(
      `layer ${name}: only dataFormat "channelsLast" ([steps, channels]) is supported, got ${JSON.stringify(format)}`,
      ["layers", i, "dataFormat"],
    );
  if (inShape.length !== 2)
    throw new EngineError(
      `layer ${name}: ${ls.type} needs [steps, channels] input, got ${formatShape(inShape)}` +
        (inShape.length === 1 ? "; put a reshape to [steps, 1] before it" : ""),
      ["layers", i],
    );
  const [steps, channels] = inShape as [number, number];
  switch (ls.type) {
    case "globalAveragePooling1d":
      return [new GlobalAveragePooling1d(name, inShape)];
    case "globalMaxPooling1d":
      return [new GlobalMaxPooling1d(name, inShape)];
    case "maxPooling1d":
    case "averagePooling1d": {
      const padding = ls.padding ?? "valid";
      if (padding !== "valid" && padding !== "same")
        throw new EngineError(
          `layer ${name}: padding must be "valid" or "same", got ${JSON.stringify(padding)}`,
          ["layers", i, "padding"],
        );
      const pool = size1d(ls.poolSize ?? 2, "poolSize", name, i);
      const stride = size1d(ls.strides ?? pool, "strides", name, i);
      const g = geometry1d(steps, channels, pool, stride, 1, padding);
      fits(g.outSteps, `pool of ${pool}`, ls.type, name, inShape, padding, i);
      return [new Pooling1d(ls.type, name, inShape, pool, stride, padding)];
    }
    case "conv1d": {
      const padding = ls.padding ?? "valid";
      if (padding !== "valid" && padding !== "same" && padding !== "causal")
        throw new EngineError(
          `layer ${name}: padding must be "valid", "same" or "causal", got ${JSON.stringify(padding)}`,
          ["layers", i, "padding"],
        );
      if (!isPositiveInteger(ls.filters))
        throw new EngineError(
          `layer ${name}: filters must be a positive integer, got ${JSON.stringify(ls.filters)}`,
          ["layers", i, "filters"],
        );
      const k = size1d(ls.kernelSize, "kernelSize", name, i);
      const stride = size1d(ls.strides ?? 1, "strides", name, i);
      const dilation = size1d(ls.dilationRate ?? 1, "dilationRate", name, i);
      if (stride > 1 && dilation > 1)
        throw new EngineError(
          `layer ${name}: dilationRate ${dilation} needs strides 1, got ${stride} (Keras and TensorFlow.js allow one of them above 1, not both)`,
          ["layers", i, "dilationRate"],
        );
      const g = geometry1d(steps, channels, k, stride, dilation, padding);
      const span = dilation * (k - 1) + 1;
      fits(g.outSteps, `kernel spanning ${span} steps`, ls.type, name, inShape, padding, i, ls.filters);
      const conv = new Conv1d(name, inShape, ls.filters, g, ls.useBias ?? true);
      configureParams(ls, conv.kernel, conv.bias, i);
      return ls.activation && ls.activation !== "linear"
        ? [conv, new Activation(`${name}/activation`, conv.outputShape, ls.activation)]
        : [conv];
    }
  }
}

function buildEmbedding(
  ls: Extract<SequenceLayerSpec, { type: "embedding" }>,
  name: string,
  inShape: number[],
  i: number,
): Embedding {
  if (i !== 0)
    throw new EngineError(
      `layer ${name}: an embedding must be the model's first layer: its inputs are integer token ids, which no layer produces (and which have no gradient)`,
      ["layers", i],
    );
  for (const field of ["inputDim", "outputDim"] as const)
    if (!isPositiveInteger(ls[field]))
      throw new EngineError(
        `layer ${name}: ${field} must be a positive integer, got ${JSON.stringify(ls[field])}`,
        ["layers", i, field],
      );
  if (inShape.length !== 1)
    throw new EngineError(
      `layer ${name}: embedding needs token ids [timesteps] as input (inputShape [timesteps]), got ${formatShape(inShape)}`,
      ["layers", i],
    );
  if (ls.inputLength !== undefined && ls.inputLength !== inShape[0])
    throw new EngineError(
      `layer ${name}: inputLength ${ls.inputLength} differs from the input's ${inShape[0]} timesteps (inputShape ${formatShape(inShape)})`,
      ["layers", i, "inputLength"],
    );
  const init = ls.embeddingsInitializer ?? EMBEDDINGS_INITIALIZER;
  const path = ["layers", i, "embeddingsInitializer"];
  const shape = [ls.inputDim, ls.outputDim];
  checkInitializer(init, shape, path);
  return new Embedding(name, inShape, ls.inputDim, ls.outputDim, ls.maskZero ?? false, init, path);
}

/** Refuses a window that leaves no output step. */
function fits(
  outSteps: number,
  what: string,
  type: string,
  name: string,
  inShape: number[],
  padding: string,
  i: number,
  filters?: number,
): void {
  if (outSteps >= 1) return;
  throw new EngineError(
    `layer ${name} (${type}): a ${what} is longer than its input ${formatShape(inShape)} with ${padding} padding, so the output ${formatShape([0, filters ?? inShape[1]!])} would be empty; use padding "same" or a smaller window`,
    ["layers", i],
  );
}

function isPositiveInteger(v: unknown): v is number {
  return typeof v === "number" && Number.isInteger(v) && v >= 1;
}

/** `n` or `[n]` (Keras writes 1-D sizes as a list of one) as `n`, a positive integer. */
function size1d(v: unknown, field: string, name: string, i: number): number {
  if (isPositiveInteger(v)) return v;
  if (Array.isArray(v) && v.length === 1 && isPositiveInteger(v[0])) return v[0];
  throw new EngineError(
    `layer ${name}: ${field} must be a positive integer or a list of one, got ${JSON.stringify(v)}`,
    ["layers", i, field],
  );
}
