/**
 * The engine's activations (docs/backprop.md §5, §13.1) as ONNX opset-18 operators: those ONNX
 * has under the same definition, and the others composed from primitive ops (docs/onnx.md).
 */
import type { ActivationName } from "../../../engine/index.js";
import { type OnnxGraph, positionOf, type Value } from "./onnx-graph.js";

/** SELU's α from tfjs-core's constants: λ·α / λ (`selu_util`; docs/backprop.md §13.1). */
const SELU_SCALE = 1.0507009873554805;
const SELU_ALPHA = 1.758099340847377 / SELU_SCALE;

/**
 * `activation` applied to `x`, shape and layout unchanged; `linear` adds nothing. Softmax is over
 * the sample's last axis, wherever the layout puts it.
 * - gelu (exact, tfjs): `½·x·(1 + erf(x/√2))` with Erf (ONNX's Gelu needs opset 20);
 * - swish: `x·sigmoid(x)`; relu6: `Clip(x, 0, 6)`; hardSigmoid: HardSigmoid(α 0.2, β 0.5);
 * - selu: Selu with tfjs' λ and α; mish, elu, softplus, softsign: ONNX's own operators.
 */
export function emitActivation(g: OnnxGraph, prefix: string, activation: ActivationName, x: Value): Value {
  const to = (name: string): Value => ({ ...x, name });
  const unary = (op: string, attrs = {}) => to(g.op(op, prefix, [x.name], attrs));
  switch (activation) {
    case "linear":
      return x;
    case "sigmoid":
      return unary("Sigmoid");
    case "tanh":
      return unary("Tanh");
    case "relu":
      return unary("Relu");
    case "softmax":
      return unary("Softmax", { axis: positionOf(x, x.shape.length - 1) });
    case "elu":
      return unary("Elu", { alpha: { f: 1 } });
    case "selu":
      return unary("Selu", { alpha: { f: SELU_ALPHA }, gamma: { f: SELU_SCALE } });
    case "softplus":
      return unary("Softplus");
    case "softsign":
      return unary("Softsign");
    case "mish":
      return unary("Mish");
    case "relu6": {
      const lo = g.floats(prefix, "zero", [0]);
      const hi = g.floats(prefix, "six", [6]);
      return to(g.op("Clip", prefix, [x.name, lo, hi]));
    }
    case "hardSigmoid":
      return unary("HardSigmoid", { alpha: { f: 0.2 }, beta: { f: 0.5 } });
    case "swish": {
      const s = g.op("Sigmoid", prefix, [x.name]);
      return to(g.op("Mul", prefix, [x.name, s]));
    }
    case "gelu": {
      const scaled = g.op("Mul", prefix, [x.name, g.floats(prefix, "inv_sqrt2", [Math.SQRT1_2])]);
      const e = g.op("Erf", prefix, [scaled]);
      const onePlus = g.op("Add", prefix, [e, g.floats(prefix, "one", [1])]);
      const half = g.op("Mul", prefix, [x.name, g.floats(prefix, "half", [0.5])]);
      return to(g.op("Mul", prefix, [half, onePlus]));
    }
  }
}
