/**
 * TensorFlow.js (cpu, float32) reference for the wrapper layers: tfjs-layers' own `bidirectional`
 * and `timeDistributed` (so the merge, the time reversal and the weight order are theirs), and its
 * Dense on an input of any rank (`tfDense`), the layers reading the test's weight tensors so tfjs
 * differentiates with respect to them.
 * Used by `tfjsRecurrentReference`. Only for tests.
 */
import * as tf from "@tensorflow/tfjs";
import type { BidirectionalSpec, TimeDistributedSpec } from "../../src/engine/index.js";

/** Makes a built tfjs layer (or RNN cell) read `values` for its weights `fields`. */
function readFrom(target: Record<string, unknown>, fields: string[], values: tf.Tensor[]): void {
  fields.forEach((field, j) => {
    target[field] = { read: () => values[j]! };
  });
}

/**
 * tfjs-layers' Dense (linear: the activation is the caller's) on `a` of any rank, reading `kernel`
 * and `bias` for its weights: over the last axis, as its `call` does.
 */
export function tfDense(
  ls: { units: number; useBias?: boolean },
  a: tf.Tensor,
  kernel: tf.Tensor,
  bias: tf.Tensor | undefined,
): tf.Tensor {
  const layer = tf.layers.dense({ units: ls.units, useBias: ls.useBias ?? true });
  layer.apply(a); // builds it; its weights are replaced below
  readFrom(layer as never, ["kernel", ...(bias ? ["bias"] : [])], [kernel, ...(bias ? [bias] : [])]);
  return layer.apply(a) as tf.Tensor;
}

/**
 * Runs `ls` through tfjs-layers on `a`, its weights taken from `vars` (keyed as ours:
 * `<name>/forward_<inner>/kernel`…, `<name>/kernel`).
 * @param mask `[batch, T]` booleans handed to a bidirectional's call (tfjs passes it to both copies).
 */
export function tfWrapper(
  ls: BidirectionalSpec | TimeDistributedSpec,
  name: string,
  a: tf.Tensor,
  vars: Record<string, tf.Tensor>,
  mask?: tf.Tensor,
): tf.Tensor {
  if (ls.type === "timeDistributed") {
    const { type: _, name: __, ...args } = ls.layer;
    const layer = tf.layers.timeDistributed({ layer: tf.layers.dense(args as never) });
    layer.apply(a); // builds it; its weights are replaced below
    const bias = vars[`${name}/bias`];
    const own = [vars[`${name}/kernel`]!, ...(bias ? [bias] : [])];
    readFrom(layer.layer as never, ["kernel", ...(bias ? ["bias"] : [])], own);
    return layer.apply(a) as tf.Tensor;
  }
  const { type, name: innerName, ...args } = ls.layer;
  const make = { simpleRNN: tf.layers.simpleRNN, lstm: tf.layers.lstm, gru: tf.layers.gru }[type];
  const layer = tf.layers.bidirectional({
    layer: make(args as never) as never,
    ...(ls.mergeMode ? { mergeMode: ls.mergeMode } : {}),
  });
  layer.apply(a);
  const inner = innerName ?? type;
  const wrapped = layer as unknown as Record<
    "forwardLayer" | "backwardLayer",
    { cell: Record<string, unknown> }
  >;
  for (const [dir, copy] of [
    ["forward", wrapped.forwardLayer],
    ["backward", wrapped.backwardLayer],
  ] as const) {
    const key = (p: string) => `${name}/${dir}_${inner}/${p}`;
    const bias = vars[key("bias")];
    readFrom(
      copy.cell,
      ["kernel", "recurrentKernel", ...(bias ? ["bias"] : [])],
      [vars[key("kernel")]!, vars[key("recurrent_kernel")]!, ...(bias ? [bias] : [])],
    );
  }
  return layer.apply(a, mask ? { mask } : {}) as tf.Tensor;
}
