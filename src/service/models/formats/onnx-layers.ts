/**
 * Each layer kind of the engine (src/engine/layers) as ONNX opset-18 nodes (docs/onnx.md, the
 * mapping table). Conv and pooling run in NCHW; the others in whichever layout their input has
 * when they can, in the engine's order otherwise (see `Value`).
 */
import {
  type ActivationName,
  BATCH_NORM_DEFAULTS,
  type BatchNormalizationSpec,
  LAYER_NORM_DEFAULTS,
  type LayerNormalizationSpec,
  type LayerSpec,
  LEAKY_RELU_ALPHA,
  type NamedTensors,
  type Tensor,
  windowGeometry,
  type ZeroPadding2dPadding,
} from "../../../engine/index.js";
import { emitActivation } from "./onnx-activations.js";
import { type OnnxGraph, positionOf, type Value } from "./onnx-graph.js";
import { emitRecurrent } from "./onnx-recurrent.js";
import { emitSequenceLayer } from "./onnx-sequence.js";

/** What a layer's emitter knows: its name, per-sample shapes and a way to its weights. */
export interface LayerContext {
  name: string;
  inShape: number[];
  outShape: number[];
  /** The weight `<name>/<param>` as an initializer (added once), or undefined when absent. */
  weight(param: string): { key: string; tensor: Tensor } | undefined;
  /** The layer reads the time-step mask of an embedding with `maskZero` (docs/backprop.md §21.1). */
  masked?: boolean;
}

/** A layer's weights as initializers: `need` throws when one is absent, `optional` gives undefined. */
interface Initializers {
  need(param: string): string;
  optional(param: string): string | undefined;
}

/**
 * A dense layer over the last axis of an input of more than one axis (docs/backprop.md §4.4,
 * §23.2): MatMul broadcasts `[batch, ..., F]·[F, units]` over the leading axes (an image first back
 * in the engine's `[h, w, c]` order), Add the bias, then the activation.
 */
function emitLastAxisDense(
  g: OnnxGraph,
  p: string,
  x: Value,
  kernel: string,
  bias: string | undefined,
  activation: ActivationName | undefined,
  outShape: number[],
): Value {
  let y = g.op("MatMul", p, [g.toNhwc(x, p).name, kernel]);
  if (bias) y = g.op("Add", p, [y, bias], {}, "bias_add");
  return emitActivation(g, p, activation ?? "linear", { name: y, shape: outShape, nchw: false });
}

/** Keras' int-or-pair as a pair. */
const pair = (v: number | [number, number]): [number, number] => (typeof v === "number" ? [v, v] : v);

/**
 * The nodes of one spec layer on `x`; the returned value is the layer's output.
 * @throws Error for a weight the layer needs and `weights` lacks (the caller checks them first).
 */
export function emitLayer(g: OnnxGraph, ls: LayerSpec, ctx: LayerContext, x: Value): Value {
  const p = ctx.name;
  const need = (param: string): string => {
    const w = ctx.weight(param);
    if (!w) throw new Error(`weight ${p}/${param} is missing`);
    return g.weight(w.key, w.tensor);
  };
  const optional = (param: string): string | undefined => (ctx.weight(param) ? need(param) : undefined);
  switch (ls.type) {
    case "simpleRNN":
    case "lstm":
    case "gru":
    case "bidirectional":
      // ONNX's RNN, LSTM and GRU operators; the mask comes from the ids, the graph input.
      return emitRecurrent(g, ls, ctx, x, need, optional, "input");
    case "timeDistributed":
      // The dense layer on [T, F] (docs/backprop.md §23.2).
      return emitLastAxisDense(g, p, x, need("kernel"), optional("bias"), ls.layer.activation, ctx.outShape);
    case "dense": {
      if (ctx.inShape.length > 1)
        return emitLastAxisDense(g, p, x, need("kernel"), optional("bias"), ls.activation, ctx.outShape);
      // Gemm: Y = X·W + b with W the engine's [in, units] kernel as it is (docs/backprop.md §4).
      const kernel = need("kernel");
      const bias = optional("bias");
      const y = g.op("Gemm", p, [x.name, kernel, ...(bias ? [bias] : [])]);
      return emitActivation(g, p, ls.activation ?? "linear", { name: y, shape: ctx.outShape, nchw: false });
    }
    case "activation":
      return emitActivation(g, p, ls.activation, x);
    case "conv2d": {
      const xc = g.toNchw(x, p);
      const geo = windowGeometry(
        ctx.inShape,
        pair(ls.kernelSize),
        pair(ls.strides ?? 1),
        ls.padding ?? "valid",
      );
      // ONNX's weight is [filters, inC, kH, kW]; the initializer keeps Keras' [kH, kW, inC, filters].
      const w = g.op("Transpose", p, [need("kernel")], { perm: [3, 2, 0, 1] }, "kernel_oihw");
      const bias = optional("bias");
      const y = g.op("Conv", p, [xc.name, w, ...(bias ? [bias] : [])], {
        kernel_shape: [geo.kH, geo.kW],
        strides: [geo.strideH, geo.strideW],
        pads: [geo.padTop, geo.padLeft, geo.padBottom, geo.padRight],
      });
      return emitActivation(g, p, ls.activation ?? "linear", { name: y, shape: ctx.outShape, nchw: true });
    }
    case "maxPooling2d":
    case "averagePooling2d": {
      const xc = g.toNchw(x, p);
      const pool = pair(ls.poolSize);
      const geo = windowGeometry(ctx.inShape, pool, pair(ls.strides ?? ls.poolSize), ls.padding ?? "valid");
      const attrs = {
        kernel_shape: [geo.kH, geo.kW],
        strides: [geo.strideH, geo.strideW],
        pads: [geo.padTop, geo.padLeft, geo.padBottom, geo.padRight],
      };
      // Padded cells are never read: max ignores them, the average counts only real cells (TF).
      const y =
        ls.type === "maxPooling2d"
          ? g.op("MaxPool", p, [xc.name], attrs)
          : g.op("AveragePool", p, [xc.name], { ...attrs, count_include_pad: 0 });
      return { name: y, shape: ctx.outShape, nchw: true };
    }
    case "globalAveragePooling2d":
    case "globalMaxPooling2d": {
      const avg = ls.type === "globalAveragePooling2d";
      if (x.nchw) {
        const pooled = g.op(avg ? "GlobalAveragePool" : "GlobalMaxPool", p, [x.name]);
        return { name: g.op("Flatten", p, [pooled], { axis: 1 }), shape: ctx.outShape, nchw: false };
      }
      const axes = g.ints(p, "axes", [1, 2]);
      const y = g.op(avg ? "ReduceMean" : "ReduceMax", p, [x.name, axes], { keepdims: 0 });
      return { name: y, shape: ctx.outShape, nchw: false };
    }
    case "flatten":
    case "reshape": {
      // The engine's row-major [h, w, c] order: back from NCHW first.
      const xn = g.toNhwc(x, p);
      const y =
        ls.type === "flatten"
          ? g.op("Flatten", p, [xn.name], { axis: 1 })
          : g.op("Reshape", p, [xn.name, g.ints(p, "shape", [0, ...ctx.outShape])]);
      return { name: y, shape: ctx.outShape, nchw: false };
    }
    case "zeroPadding2d": {
      const [[top, bottom], [left, right]] = paddingOf(ls.padding);
      const pads = x.nchw ? [0, 0, top, left, 0, 0, bottom, right] : [0, top, left, 0, 0, bottom, right, 0];
      return { ...x, name: g.op("Pad", p, [x.name, g.ints(p, "pads", pads)]), shape: ctx.outShape };
    }
    case "leakyReLU":
      return { ...x, name: g.op("LeakyRelu", p, [x.name], { alpha: { f: ls.alpha ?? LEAKY_RELU_ALPHA } }) };
    case "elu":
      return { ...x, name: g.op("Elu", p, [x.name], { alpha: { f: ls.alpha ?? 1 } }) };
    case "softmax":
      return emitActivation(g, p, "softmax", x);
    case "prelu": {
      // alpha has the sample's shape (1 on the shared axes); in NCHW its axes move as the data's.
      let slope = need("alpha");
      if (x.nchw) slope = g.op("Transpose", p, [slope], { perm: [2, 0, 1] }, "alpha_chw");
      return { ...x, name: g.op("PRelu", p, [x.name, slope]) };
    }
    case "batchNormalization":
      return emitBatchNorm(g, ls, ctx, x, { need, optional });
    case "layerNormalization":
      return emitLayerNorm(g, ls, ctx, x, { need, optional });
    case "dropout":
      return x;
    case "embedding":
    case "conv1d":
    case "maxPooling1d":
    case "averagePooling1d":
    case "globalAveragePooling1d":
    case "globalMaxPooling1d":
      // The ids are the graph input: an embedding is always the first layer.
      return emitSequenceLayer(g, ls, { ...ctx, masked: ctx.masked ?? false }, x, need, optional, "input");
  }
}

/** tfjs' three forms of `zeroPadding2d`'s padding (default 1) as `[[top, bottom], [left, right]]`. */
function paddingOf(v: ZeroPadding2dPadding | undefined): [[number, number], [number, number]] {
  const p = v ?? 1;
  if (typeof p === "number")
    return [
      [p, p],
      [p, p],
    ];
  const [a, b] = p;
  return typeof a === "number" && typeof b === "number"
    ? [
        [a, a],
        [b, b],
      ]
    : (p as [[number, number], [number, number]]);
}

/** A Keras axis (batch = 0, negative from the end) as a 0-based sample axis. */
const sampleAxis = (axis: number, rank: number) => (axis < 0 ? axis + rank : axis - 1);

/**
 * Batch normalisation in inference (docs/backprop.md §19.3): ONNX's BatchNormalization, whose
 * channels are axis 1; another channel axis is swapped to 1 and back. A negative moving variance
 * counts as 0, as the engine takes it (a Relu on that initializer); scale or center turned off
 * are ones or zeros.
 */
function emitBatchNorm(
  g: OnnxGraph,
  ls: BatchNormalizationSpec,
  ctx: LayerContext,
  x: Value,
  { need, optional }: Initializers,
): Value {
  const p = ctx.name;
  const axis = ls.axis ?? BATCH_NORM_DEFAULTS.axis;
  const epsilon = ls.epsilon ?? BATCH_NORM_DEFAULTS.epsilon;
  const rank = ctx.inShape.length;
  const k = sampleAxis(axis, rank);
  const c = ctx.inShape[k]!;
  const at = positionOf(x, k);
  const gamma = optional("gamma") ?? g.floats(p, "ones", new Array<number>(c).fill(1), [c]);
  const beta = optional("beta") ?? g.floats(p, "zeros", new Array<number>(c).fill(0), [c]);
  const mean = need("moving_mean");
  let variance = need("moving_variance");
  if (ctx.weight("moving_variance")!.tensor.data.some((v) => v < 0)) variance = g.op("Relu", p, [variance]);
  const swap = (name: string) => {
    const perm = Array.from({ length: rank + 1 }, (_, i) => (i === 1 ? at : i === at ? 1 : i));
    return g.op("Transpose", p, [name], { perm }, "swap_channels");
  };
  // [N, C, D1…Dn] with n ≥ 0: a vector sample [N, C] needs nothing more.
  const input = at === 1 ? x.name : swap(x.name);
  const y = g.op("BatchNormalization", p, [input, gamma, beta, mean, variance], { epsilon: { f: epsilon } });
  return { ...x, name: at === 1 ? y : swap(y) };
}

/**
 * Layer normalisation (docs/backprop.md §19.4) over any set of axes, in the engine's order:
 * `x̂ = (x − mean)/√(var + ε)` with ReduceMean over the axes (biased variance), then `γ·x̂ + β`
 * with γ, β reshaped to broadcast (their data is row-major over the sorted axes, as the engine
 * indexes them).
 */
function emitLayerNorm(
  g: OnnxGraph,
  ls: LayerNormalizationSpec,
  ctx: LayerContext,
  x: Value,
  { optional }: Initializers,
): Value {
  const p = ctx.name;
  const axis = ls.axis ?? LAYER_NORM_DEFAULTS.axis;
  const epsilon = ls.epsilon ?? LAYER_NORM_DEFAULTS.epsilon;
  const xn = g.toNhwc(x, p);
  const rank = ctx.inShape.length;
  const axes = (Array.isArray(axis) ? axis : [axis]).map((a) => sampleAxis(a, rank)).sort((a, b) => a - b);
  const reduce = g.ints(
    p,
    "axes",
    axes.map((k) => k + 1),
  );
  const mean = g.op("ReduceMean", p, [xn.name, reduce], { keepdims: 1 });
  const d = g.op("Sub", p, [xn.name, mean]);
  const variance = g.op("ReduceMean", p, [g.op("Mul", p, [d, d]), reduce], { keepdims: 1 });
  const std = g.op("Sqrt", p, [g.op("Add", p, [variance, g.floats(p, "epsilon", [epsilon])])]);
  let y = g.op("Div", p, [d, std]);
  const broadcast = ctx.inShape.map((n, k) => (axes.includes(k) ? n : 1));
  const shaped = (name: string) => g.op("Reshape", p, [name, g.ints(p, "shape", broadcast)]);
  const gamma = optional("gamma");
  if (gamma) y = g.op("Mul", p, [y, shaped(gamma)]);
  const beta = optional("beta");
  if (beta) y = g.op("Add", p, [y, shaped(beta)]);
  return { name: y, shape: ctx.outShape, nchw: false };
}

/**
 * The weights of one layer as `LayerContext.weight` reads them: only the keys the engine gives
 * the layer (`keys`, from its summary), so an option turned off (`useBias: false`) is absent
 * whatever else `weights` holds.
 */
export function weightReader(
  weights: NamedTensors,
  name: string,
  keys: readonly string[],
): LayerContext["weight"] {
  return (param) => {
    const key = `${name}/${param}`;
    const tensor = weights[key];
    return tensor && keys.includes(key) ? { key, tensor } : undefined;
  };
}
