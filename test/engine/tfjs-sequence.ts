/**
 * TensorFlow.js (cpu, float32) reference for models with the sequence layers (`embedding`,
 * `conv1d`, the 1-D poolings) around dense layers, built from tfjs ops with its own autodiff:
 * `tf.gather` for the lookup, `tfConv1d` for Keras' conv1d, and Keras' masked
 * mean for `globalAveragePooling1d` after an embedding with `maskZero` (tfjs-layers' own
 * GlobalAveragePooling1D ignores masks). Loss: mean squared error. Only for tests.
 */
import * as tf from "@tensorflow/tfjs";
import type { ModelSpec, NamedTensors } from "../../src/engine/index.js";
import { tfActivation } from "./tfjs-activations.js";
import { tfReady } from "./tfjs-reference.js";

const one = (v: number | [number] | undefined, dflt: number): number =>
  v === undefined ? dflt : typeof v === "number" ? v : v[0];

/**
 * Keras' conv1d in tfjs ops that tfjs can differentiate: causal padding as `tf.pad` of
 * `dilation·(k − 1)` zeros on the left then a valid convolution (tfjs-layers' Conv1D throws on
 * causal), and a dilated kernel as the kernel with `dilation − 1` zero taps between its taps
 * (tfjs has no gradient for a dilated convolution): the same sums.
 * @param x `[n, steps, C]`, kernel `[k, C, filters]`.
 */
export function tfConv1d(
  x: tf.Tensor3D,
  kernel: tf.Tensor3D,
  stride: number,
  padding: "valid" | "same" | "causal",
  dilation: number,
  k: number,
): tf.Tensor3D {
  let w = kernel;
  if (dilation > 1) {
    const span = dilation * (k - 1) + 1;
    const spread = new Float32Array(span * k);
    for (let j = 0; j < k; j++) spread[j * dilation * k + j] = 1;
    const [, c, f] = kernel.shape;
    w = tf.reshape(tf.matMul(tf.tensor2d(spread, [span, k]), tf.reshape(kernel, [k, c * f])), [span, c, f]);
  }
  let input = x;
  if (padding === "causal")
    input = tf.pad(x, [
      [0, 0],
      [dilation * (k - 1), 0],
      [0, 0],
    ]);
  return tf.conv1d(input, w, stride, padding === "causal" ? "valid" : padding);
}

/**
 * Loss (mean over the batch and the outputs), output and gradient of every weight, computed by
 * tfjs from `weights`. `x` holds token ids when the model starts with an embedding.
 */
export async function tfjsSequenceReference(
  spec: ModelSpec,
  weights: NamedTensors,
  x: Float64Array,
  y: Float64Array,
  n: number,
): Promise<{ loss: number; output: Float32Array; gradients: Record<string, Float32Array> }> {
  await tfReady();
  return tf.tidy(() => {
    const keys = Object.keys(weights);
    let output: Float32Array = new Float32Array(0);
    const ids = tf.tensor(Int32Array.from(x), [n, ...spec.inputShape], "int32");
    const f = (...ws: tf.Tensor[]): tf.Scalar => {
      const vars = Object.fromEntries(keys.map((k, i) => [k, ws[i]!]));
      let a: tf.Tensor = tf.tensor(Float32Array.from(x), [n, ...spec.inputShape]);
      let mask: tf.Tensor | null = null;
      spec.layers.forEach((ls, i) => {
        const name = ls.name ?? `${ls.type}_${i}`;
        const bias = vars[`${name}/bias`];
        switch (ls.type) {
          case "embedding":
            a = tf.gather(vars[`${name}/embeddings`]!, ids);
            mask = ls.maskZero ? tf.cast(tf.notEqual(ids, 0), "float32") : null;
            break;
          case "conv1d": {
            const k = one(ls.kernelSize, 1);
            a = tfConv1d(
              a as tf.Tensor3D,
              vars[`${name}/kernel`] as tf.Tensor3D,
              one(ls.strides, 1),
              ls.padding ?? "valid",
              one(ls.dilationRate, 1),
              k,
            );
            if (bias) a = tf.add(a, bias);
            a = tfActivation(a, ls.activation);
            mask = null;
            break;
          }
          case "maxPooling1d":
          case "averagePooling1d": {
            const pool = one(ls.poolSize, 2);
            const pooled = (ls.type === "maxPooling1d" ? tf.maxPool : tf.avgPool)(
              tf.expandDims(a, 1) as tf.Tensor4D,
              [1, pool],
              [1, one(ls.strides, pool)],
              ls.padding ?? "valid",
            );
            a = tf.squeeze(pooled, [1]);
            mask = null;
            break;
          }
          case "globalAveragePooling1d":
            if (mask) {
              // Keras: Σ_t m·x / Σ_t m.
              const m = tf.expandDims(mask, 2);
              a = tf.div(tf.sum(tf.mul(a, m), 1), tf.sum(m, 1));
            } else a = tf.mean(a, 1);
            mask = null;
            break;
          case "globalMaxPooling1d":
            a = tf.max(a, 1);
            mask = null;
            break;
          case "activation":
            a = tfActivation(a, ls.activation);
            break;
          case "flatten":
            a = tf.reshape(a, [n, -1]);
            mask = null;
            break;
          case "dense":
            a = tf.matMul(a as tf.Tensor2D, vars[`${name}/kernel`] as tf.Tensor2D);
            if (bias) a = tf.add(a, bias);
            a = tfActivation(a, ls.activation);
            break;
          default:
            throw new Error(`layer ${ls.type} is not in this reference`);
        }
      });
      output = a.dataSync() as Float32Array;
      const k = a.shape.slice(1).reduce((p, q) => p * q, 1);
      if (spec.loss !== "meanSquaredError") throw new Error(`loss ${spec.loss} is not in this reference`);
      return tf.mean(tf.square(tf.sub(tf.reshape(a, [n, k]), tf.tensor2d(Float32Array.from(y), [n, k]))));
    };
    const args = keys.map((key) => tf.tensor(Float32Array.from(weights[key]!.data), weights[key]!.shape));
    const { value, grads } = tf.valueAndGrads(f)(args);
    const gradients: Record<string, Float32Array> = {};
    keys.forEach((key, i) => {
      gradients[key] = grads[i]!.dataSync() as Float32Array;
    });
    return { loss: value.dataSync()[0]!, output, gradients };
  });
}
