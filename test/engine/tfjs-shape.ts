/**
 * TensorFlow.js (cpu, float32) reference for models with the shape layers (`globalAveragePooling2d`,
 * `globalMaxPooling2d`, `reshape`, `zeroPadding2d`), built from tfjs-layers' own layers, around
 * conv2d and dense layers with linear or tfjs-layers activations; loss: mean squared error. Only
 * for tests.
 */
import * as tf from "@tensorflow/tfjs";
import type { ModelSpec, NamedTensors } from "../../src/engine/index.js";
import { tfActivation } from "./tfjs-activations.js";
import { tfReady } from "./tfjs-reference.js";

const pair = (v: number | [number, number]): [number, number] => (typeof v === "number" ? [v, v] : v);

/**
 * Loss (mean over the batch and the outputs), output and gradient of every weight, computed by
 * tfjs from `weights`.
 */
export async function tfjsShapeReference(
  spec: ModelSpec,
  weights: NamedTensors,
  x: Float64Array,
  y: Float64Array,
  n: number,
): Promise<{
  loss: number;
  output: Float32Array;
  gradients: Record<string, Float32Array>;
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
        const bias = vars[`${name}/bias`];
        switch (ls.type) {
          case "dense":
            a = tf.matMul(a as tf.Tensor2D, vars[`${name}/kernel`] as tf.Tensor2D);
            if (bias) a = tf.add(a, bias);
            a = tfActivation(a, ls.activation);
            break;
          case "conv2d":
            a = tf.conv2d(
              a as tf.Tensor4D,
              vars[`${name}/kernel`] as tf.Tensor4D,
              pair(ls.strides ?? 1),
              ls.padding ?? "valid",
            );
            if (bias) a = tf.add(a, bias);
            a = tfActivation(a, ls.activation);
            break;
          case "flatten":
            a = tf.reshape(a, [n, -1]);
            break;
          case "globalAveragePooling2d":
            a = tf.layers.globalAveragePooling2d({}).apply(a) as tf.Tensor;
            break;
          case "globalMaxPooling2d":
            a = tf.layers.globalMaxPooling2d({}).apply(a) as tf.Tensor;
            break;
          case "reshape":
            a = tf.layers.reshape({ targetShape: [...ls.targetShape] }).apply(a) as tf.Tensor;
            break;
          case "zeroPadding2d":
            a = tf.layers
              .zeroPadding2d(ls.padding === undefined ? {} : { padding: ls.padding })
              .apply(a) as tf.Tensor;
            break;
          default:
            throw new Error(`layer ${ls.type} is not in this reference`);
        }
      });
      output = a.dataSync() as Float32Array;
      const k = a.shape.slice(1).reduce((p, q) => p * q, 1);
      const t = tf.tensor2d(Float32Array.from(y), [n, k]);
      if (spec.loss !== "meanSquaredError") throw new Error(`loss ${spec.loss} is not in this reference`);
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
    return { loss: value.dataSync()[0]!, output, gradients };
  });
}

/**
 * One tfjs-layers layer on `x` `[n, ...shape]`: its output and the input gradient of
 * `Σ dy ⊙ layer(x)`, i.e. `backward(dy)`.
 */
export async function tfjsLayerPass(
  layer: tf.layers.Layer,
  x: Float64Array,
  shape: number[],
  n: number,
  dy: Float64Array,
): Promise<{ output: Float32Array; dx: Float32Array }> {
  await tfReady();
  return tf.tidy(() => {
    const xs = tf.tensor(Float32Array.from(x), [n, ...shape]);
    const output = (layer.apply(xs) as tf.Tensor).dataSync() as Float32Array;
    const dyt = tf.tensor(Float32Array.from(dy), [output.length]);
    const dx = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(tf.reshape(layer.apply(t) as tf.Tensor, [-1]), dyt)))(
      xs,
    );
    return { output, dx: dx.dataSync() as Float32Array };
  });
}
