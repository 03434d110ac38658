/**
 * TensorFlow.js (cpu, float32) reference for models built from dense layers, the activations and
 * the activation layers (`leakyReLU`, `prelu`, `elu`, `softmax`), with tfjs-layers' own activation
 * functions and layers, so the comparison is with tfjs' definitions. Loss: mean squared error, or
 * categorical cross-entropy on a softmax output. Only for tests.
 */
import * as tf from "@tensorflow/tfjs";
import type { ActivationName, ModelSpec, NamedTensors } from "../../src/engine/index.js";
import { tfReady } from "./tfjs-reference.js";

/** tfjs-layers' activation `name` applied to `a`. */
export function tfActivation(a: tf.Tensor, name: ActivationName | undefined): tf.Tensor {
  if (!name || name === "linear") return a;
  const layer = tf.layers.activation({ activation: name } as Parameters<typeof tf.layers.activation>[0]);
  return layer.apply(a) as tf.Tensor;
}

/**
 * Loss (mean over the batch), output and gradient of every weight (incl. prelu's `alpha`),
 * computed by tfjs from `weights`.
 */
export async function tfjsActivationReference(
  spec: ModelSpec,
  weights: NamedTensors,
  x: Float64Array,
  y: Float64Array,
  n: number,
): Promise<{ loss: number; output: Float32Array; gradients: Record<string, Float32Array> }> {
  await tfReady();
  return tf.tidy(() => {
    const keys = Object.keys(weights);
    const xs = tf.tensor(Float32Array.from(x), [n, ...spec.inputShape]);
    let output: Float32Array = new Float32Array(0);
    const f = (...ws: tf.Tensor[]): tf.Scalar => {
      const vars = Object.fromEntries(keys.map((k, i) => [k, ws[i]!]));
      let a: tf.Tensor = xs;
      spec.layers.forEach((ls, i) => {
        const name = ls.name ?? `${ls.type}_${i}`;
        switch (ls.type) {
          case "dense": {
            a = tf.matMul(a as tf.Tensor2D, vars[`${name}/kernel`] as tf.Tensor2D);
            const bias = vars[`${name}/bias`];
            if (bias) a = tf.add(a, bias);
            a = tfActivation(a, ls.activation);
            break;
          }
          case "activation":
            a = tfActivation(a, ls.activation);
            break;
          case "flatten":
            a = tf.reshape(a, [n, -1]);
            break;
          case "leakyReLU":
            a = tf.layers.leakyReLU(ls.alpha === undefined ? {} : { alpha: ls.alpha }).apply(a) as tf.Tensor;
            break;
          case "elu":
            // tfjs' elu layer supports only alpha = 1.
            a = tf.layers.elu(ls.alpha === undefined ? {} : { alpha: ls.alpha }).apply(a) as tf.Tensor;
            break;
          case "softmax":
            a = tf.layers.softmax({ axis: ls.axis ?? -1 }).apply(a) as tf.Tensor;
            break;
          case "prelu":
            // What tfjs' prelu layer calls, with its alpha as a differentiable argument.
            a = tf.prelu(a, vars[`${name}/alpha`]!);
            break;
          default:
            throw new Error(`layer ${ls.type} is not in this reference`);
        }
      });
      output = a.dataSync() as Float32Array;
      const k = a.shape.slice(1).reduce((p, q) => p * q, 1);
      const flat = tf.reshape(a, [n, k]);
      const t = tf.tensor2d(Float32Array.from(y), [n, k]);
      if (spec.loss === "categoricalCrossentropy")
        return tf.mean(tf.neg(tf.sum(tf.mul(t, tf.log(flat)), -1)));
      if (spec.loss !== "meanSquaredError") throw new Error(`loss ${spec.loss} is not in this reference`);
      return tf.mean(tf.square(tf.sub(flat, t)));
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

/** tfjs' prelu LAYER (not the op) on `x` `[n, ...shape]` with the given alpha: its forward output. */
export async function tfjsPreluLayer(
  x: Float64Array,
  shape: number[],
  n: number,
  alpha: { shape: number[]; data: Float64Array },
  sharedAxes?: number[],
): Promise<Float32Array> {
  await tfReady();
  return tf.tidy(() => {
    const layer = tf.layers.prelu(sharedAxes ? { sharedAxes } : {});
    const xs = tf.tensor(Float32Array.from(x), [n, ...shape]);
    layer.build([n, ...shape]);
    layer.setWeights([tf.tensor(Float32Array.from(alpha.data), alpha.shape)]);
    return (layer.apply(xs) as tf.Tensor).dataSync() as Float32Array;
  });
}
