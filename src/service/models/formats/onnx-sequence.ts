/**
 * The sequence layers (docs/backprop.md §21) as ONNX opset-18 nodes (docs/onnx.md): embedding as
 * Gather, conv1d and the 1-D poolings as 1-D Conv/MaxPool/AveragePool in `[batch, channels, steps]`
 * between two Transposes, the global poolings as reductions over the steps, and the masked mean
 * after an embedding with `maskZero` from the ids themselves.
 */
import { type SequenceLayerSpec, windowGeometry } from "../../../engine/index.js";
import { emitActivation } from "./onnx-activations.js";
import type { OnnxGraph, Value } from "./onnx-graph.js";
import type { LayerContext } from "./onnx-layers.js";

const FLOAT = 1;
const INT64 = 7;

const one = (v: number | [number] | undefined, dflt: number): number =>
  v === undefined ? dflt : typeof v === "number" ? v : v[0];

/**
 * The zeros before and after a 1-D window of `k` taps `dilation` apart over `steps` (the engine's
 * `geometry1d`): none for valid, TensorFlow's split for same, all before for causal.
 */
function pads1d(
  steps: number,
  k: number,
  stride: number,
  dilation: number,
  padding: "valid" | "same" | "causal",
): [number, number] {
  const span = dilation * (k - 1) + 1;
  if (padding === "causal") return [span - 1, 0];
  if (padding === "valid") return [0, 0];
  // `windowGeometry` of a [1, steps] image with a [1, span] window: the same split.
  const g = windowGeometry([1, steps, 1], [1, span], [1, stride], "same");
  return [g.padLeft, g.padRight];
}

/**
 * The nodes of one sequence layer on `x` (a value in the engine's order `[batch, steps, C]`, or
 * the ids `[batch, T]` for an embedding); the returned value is the layer's output.
 * @param need the layer's weight as an initializer (throws when absent); `optional` undefined then.
 * @param ids the graph input holding the token ids, for the mask of `globalAveragePooling1d`
 *   when `ctx.masked`.
 */
export function emitSequenceLayer(
  g: OnnxGraph,
  ls: SequenceLayerSpec,
  ctx: LayerContext & { masked: boolean },
  x: Value,
  need: (param: string) => string,
  optional: (param: string) => string | undefined,
  ids: string,
): Value {
  const p = ctx.name;
  const out = (name: string): Value => ({ name, shape: ctx.outShape, nchw: false });
  const toChannelsFirst = (name: string) => g.op("Transpose", p, [name], { perm: [0, 2, 1] }, "to_ncw");
  const toStepsFirst = (name: string) => g.op("Transpose", p, [name], { perm: [0, 2, 1] }, "to_nwc");
  const xn = g.toNhwc(x, p).name;
  switch (ls.type) {
    case "embedding": {
      // The ids arrive as float32 (exact integers below 2^24); Gather wants integers.
      const index = g.op("Cast", p, [xn], { to: INT64 }, "ids");
      return out(g.op("Gather", p, [need("embeddings"), index], { axis: 0 }));
    }
    case "conv1d": {
      const k = one(ls.kernelSize, 1);
      const stride = one(ls.strides, 1);
      const dilation = one(ls.dilationRate, 1);
      // ONNX's weight is [filters, inC, k]; the initializer keeps Keras' [k, inC, filters].
      const w = g.op("Transpose", p, [need("kernel")], { perm: [2, 1, 0] }, "kernel_oik");
      const bias = optional("bias");
      const y = g.op("Conv", p, [toChannelsFirst(xn), w, ...(bias ? [bias] : [])], {
        kernel_shape: [k],
        strides: [stride],
        dilations: [dilation],
        pads: pads1d(ctx.inShape[0]!, k, stride, dilation, ls.padding ?? "valid"),
      });
      return emitActivation(g, p, ls.activation ?? "linear", out(toStepsFirst(y)));
    }
    case "maxPooling1d":
    case "averagePooling1d": {
      const pool = one(ls.poolSize, 2);
      const stride = one(ls.strides, pool);
      const attrs = {
        kernel_shape: [pool],
        strides: [stride],
        pads: pads1d(ctx.inShape[0]!, pool, stride, 1, ls.padding ?? "valid"),
      };
      // Padded steps are never read: max ignores them, the average counts only real steps.
      const y =
        ls.type === "maxPooling1d"
          ? g.op("MaxPool", p, [toChannelsFirst(xn)], attrs)
          : g.op("AveragePool", p, [toChannelsFirst(xn)], { ...attrs, count_include_pad: 0 });
      return out(toStepsFirst(y));
    }
    case "globalMaxPooling1d":
      return out(g.op("ReduceMax", p, [xn, g.ints(p, "axes", [1])], { keepdims: 0 }));
    case "globalAveragePooling1d": {
      const steps = g.ints(p, "axes", [1]);
      if (!ctx.masked) return out(g.op("ReduceMean", p, [xn, steps], { keepdims: 0 }));
      // Σ_t m·x / max(Σ_t m, 1) with m = (id ≠ 0): 0 for a sample with no real step, as the engine.
      const real = g.op("Not", p, [g.op("Equal", p, [ids, g.floats(p, "zero", [0])])]);
      const m = g.op("Unsqueeze", p, [g.op("Cast", p, [real], { to: FLOAT }, "mask"), g.ints(p, "at", [2])]);
      const sum = g.op("ReduceSum", p, [g.op("Mul", p, [xn, m]), steps], { keepdims: 0 });
      const count = g.op("ReduceSum", p, [m, steps], { keepdims: 0 });
      const atLeastOne = g.op("Max", p, [count, g.floats(p, "one", [1])]);
      return out(g.op("Div", p, [sum, atLeastOne]));
    }
  }
}
