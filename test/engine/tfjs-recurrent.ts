/**
 * TensorFlow.js (cpu, float32) reference for recurrent models: `simpleRNN`, `lstm` and `gru` from
 * tfjs-layers' own layers (so the gate order and the formulas are theirs), `flatten` and `dense`
 * (tfjs-layers' Dense on an input of more than one axis);
 * loss mean squared error. tfjs-layers has no `gru` with `resetAfter`; that cell is written here
 * with tfjs ops from Keras' definition (docs/backprop.md §22.4) and differentiated by tfjs.
 * With `masks` the recurrent layers run in training mode on the given dropout masks (tfjs-layers'
 * `dropoutFunc` hands them to its cells in place of its own random ones; docs/backprop.md §22.7).
 * Only for tests.
 */
import * as tf from "@tensorflow/tfjs";
import type { GruSpec, ModelSpec, NamedTensors } from "../../src/engine/index.js";
import { tfActivation } from "./tfjs-activations.js";
import { tfReady } from "./tfjs-reference.js";
import { tfDense, tfWrapper } from "./tfjs-wrappers.js";

/** Dropout masks `[n, F]` and `[n, units]` of one recurrent layer, as the engine reports them. */
interface CellMasks {
  dropout?: tf.Tensor;
  recurrentDropout?: tf.Tensor;
}

/**
 * Keras' gru with `resetAfter`, from ops: `[n, T, F]` → last state or every state; with masks, x
 * and h masked where tfjs' GRUCell masks them (docs/backprop.md §22.7).
 */
function resetAfterGru(
  ls: GruSpec,
  x: tf.Tensor,
  k: tf.Tensor,
  u: tf.Tensor,
  bias: tf.Tensor | undefined,
  masks: CellMasks,
) {
  const [n, T] = x.shape as [number, number, number];
  const units = ls.units;
  const sig = (a: tf.Tensor) => tfActivation(a, ls.recurrentActivation ?? "hardSigmoid");
  const phi = (a: tf.Tensor) => tfActivation(a, ls.activation ?? "tanh");
  let h: tf.Tensor = tf.zeros([n, units]);
  const outs: tf.Tensor[] = [];
  for (let s = 0; s < T; s++) {
    const t = ls.goBackwards ? T - 1 - s : s;
    let xt = tf.reshape(tf.slice(x, [0, t, 0], [n, 1, -1]), [n, -1]);
    if (masks.dropout) xt = tf.mul(xt, masks.dropout);
    if (masks.recurrentDropout) h = tf.mul(h, masks.recurrentDropout);
    let xz = tf.matMul(xt, k as tf.Tensor2D);
    let hz = tf.matMul(h as tf.Tensor2D, u as tf.Tensor2D);
    if (bias) {
      xz = tf.add(xz, tf.slice(bias, [0, 0], [1, -1]));
      hz = tf.add(hz, tf.slice(bias, [1, 0], [1, -1]));
    }
    const [xZ, xR, xH] = tf.split(xz, 3, 1) as [tf.Tensor, tf.Tensor, tf.Tensor];
    const [hZ, hR, hH] = tf.split(hz, 3, 1) as [tf.Tensor, tf.Tensor, tf.Tensor];
    const z = sig(tf.add(xZ, hZ));
    const r = sig(tf.add(xR, hR));
    const hh = phi(tf.add(xH, tf.mul(r, hH)));
    h = tf.add(tf.mul(z, h), tf.mul(tf.sub(1, z), hh));
    outs.push(h);
  }
  return ls.returnSequences ? tf.stack(outs, 1) : h;
}

/**
 * Loss (mean over the batch and the outputs), output, and the gradients of every weight and of
 * the input, computed by tfjs from `weights` (keyed as ours, in our order).
 * @param masks training mode with these dropout masks, keyed as the engine's `dropoutMasks`
 *   (`<layer>/dropout` `[n, F]`, `<layer>/recurrentDropout` `[n, units]`; F ≠ units); absent: inference.
 */
export async function tfjsRecurrentReference(
  spec: ModelSpec,
  weights: NamedTensors,
  x: Float64Array,
  y: Float64Array,
  n: number,
  masks?: NamedTensors,
): Promise<{
  loss: number;
  output: Float32Array;
  gradients: Record<string, Float32Array>;
  dx: Float32Array;
}> {
  await tfReady();
  return tf.tidy(() => {
    const keys = Object.keys(weights);
    let output: Float32Array = new Float32Array(0);
    const f = (xs: tf.Tensor, ...ws: tf.Tensor[]): tf.Scalar => {
      const vars = Object.fromEntries(keys.map((k, i) => [k, ws[i]!]));
      let a: tf.Tensor = xs;
      spec.layers.forEach((ls, i) => {
        const name = ls.name ?? `${ls.type}_${i}`;
        const kernel = vars[`${name}/kernel`]!;
        const bias = vars[`${name}/bias`];
        switch (ls.type) {
          case "dense":
            // On more than one axis: tfjs-layers' own Dense over the last axis (tfjs' dot of an N-D input).
            if (a.rank > 2) a = tfDense(ls, a, kernel, bias);
            else {
              a = tf.matMul(a as tf.Tensor2D, kernel as tf.Tensor2D);
              if (bias) a = tf.add(a, bias);
            }
            a = tfActivation(a, ls.activation);
            break;
          case "flatten":
            a = tf.reshape(a, [n, -1]);
            break;
          case "simpleRNN":
          case "lstm":
          case "gru": {
            const mask = (kind: keyof CellMasks) => {
              const m = masks?.[`${name}/${kind}`];
              return m ? tf.tensor(Float32Array.from(m.data), m.shape) : undefined;
            };
            const cellMasks: CellMasks = {
              dropout: mask("dropout"),
              recurrentDropout: mask("recurrentDropout"),
            };
            if (ls.type === "gru" && ls.resetAfter) {
              a = resetAfterGru(ls, a, kernel, vars[`${name}/recurrent_kernel`]!, bias, cellMasks);
              break;
            }
            const { type, name: _, ...args } = ls;
            const features = a.shape[2]!;
            if (masks && features === ls.units) throw new Error("the masks are told apart by their width");
            // tfjs asks for a mask shaped as the ones it passes: [n, F] for x, [n, units] for h.
            const dropoutFunc = (ones: tf.Tensor) => {
              const m = ones.shape[1] === features ? cellMasks.dropout : cellMasks.recurrentDropout;
              if (!m) throw new Error(`no ${name} mask of width ${ones.shape[1]} given`);
              return m;
            };
            const make = { simpleRNN: tf.layers.simpleRNN, lstm: tf.layers.lstm, gru: tf.layers.gru }[type];
            const layer = make({ ...args, dropoutFunc } as never);
            layer.apply(a); // builds the layer (its own weights), then replaced below
            // Weights become the layer's values through its own variables, and gradients reach
            // `ws` because the layer's call reads them: assign the tensors as its weights' values.
            const own = [kernel, vars[`${name}/recurrent_kernel`]!, ...(bias ? [bias] : [])];
            const cell = (layer as unknown as { cell: Record<string, { read: () => tf.Tensor }> }).cell;
            const fields = ["kernel", "recurrentKernel", ...(bias ? ["bias"] : [])];
            fields.forEach((field, j) => {
              cell[field] = { read: () => own[j]! } as never;
            });
            a = layer.apply(a, masks ? { training: true } : {}) as tf.Tensor;
            break;
          }
          case "bidirectional":
          case "timeDistributed":
            a = tfWrapper(ls, name, a, vars);
            break;
          default:
            throw new Error(`layer ${ls.type} is not in this reference`);
        }
      });
      output = a.dataSync() as Float32Array;
      const k = a.shape.slice(1).reduce((p, q) => p * q, 1);
      const t = tf.tensor2d(Float32Array.from(y), [n, k]);
      if (spec.loss !== "meanSquaredError")
        throw new Error(`loss ${String(spec.loss)} is not in this reference`);
      return tf.mean(tf.square(tf.sub(tf.reshape(a, [n, k]), t)));
    };
    const args = [
      tf.tensor(Float32Array.from(x), [n, ...spec.inputShape]),
      ...keys.map((key) => tf.tensor(Float32Array.from(weights[key]!.data), weights[key]!.shape)),
    ];
    const { value, grads } = tf.valueAndGrads(f)(args);
    const gradients: Record<string, Float32Array> = {};
    keys.forEach((key, i) => {
      gradients[key] = grads[i + 1]!.dataSync() as Float32Array;
    });
    return { loss: value.dataSync()[0]!, output, gradients, dx: grads[0]!.dataSync() as Float32Array };
  });
}
