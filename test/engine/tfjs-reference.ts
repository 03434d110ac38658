/**
 * The same model computed by TensorFlow.js (cpu backend, float32) with its own autodiff:
 * the independent reference our loss and gradients are compared with. Only for tests.
 */
import * as tf from "@tensorflow/tfjs";
import type { ActivationName, ModelSpec, NamedTensors } from "../../src/engine/index.js";

let ready: Promise<boolean> | null = null;

/** Switches tfjs to its cpu backend once. */
export function tfReady(): Promise<boolean> {
  ready ??= tf.setBackend("cpu");
  return ready;
}

function act(a: tf.Tensor, name: ActivationName | undefined): tf.Tensor {
  switch (name ?? "linear") {
    case "linear":
      return a;
    case "sigmoid":
      return tf.sigmoid(a);
    case "tanh":
      return tf.tanh(a);
    case "relu":
      return tf.relu(a);
    case "softmax":
      return tf.softmax(a);
  }
  throw new Error(`unknown activation ${name}`);
}

const pair = (v: number | [number, number]): [number, number] => (typeof v === "number" ? [v, v] : v);

/**
 * Loss (mean over the batch), output and gradients of every weight, computed by tfjs.
 * @param x `[n, ...inputShape]` flat; y targets or labels as our engine takes them.
 */
export async function tfjsReference(
  spec: ModelSpec,
  weights: NamedTensors,
  x: Float64Array,
  y: Float64Array,
  n: number,
): Promise<{ loss: number; output: Float32Array; gradients: Record<string, Float32Array> }> {
  await tfReady();
  return tf.tidy(() => {
    const keys = Object.keys(weights);
    const vars: Record<string, tf.Tensor> = {};
    const xs = tf.tensor(Float32Array.from(x), [n, ...spec.inputShape]);
    let output: Float32Array = new Float32Array(0);
    const f = (...ws: tf.Tensor[]): tf.Scalar => {
      keys.forEach((key, i) => {
        vars[key] = ws[i]!;
      });
      let a: tf.Tensor = xs;
      let preLast: tf.Tensor = xs;
      let lastAct: ActivationName | undefined;
      spec.layers.forEach((ls, i) => {
        const name = ls.name ?? `${ls.type}_${i}`;
        const bias = vars[`${name}/bias`];
        lastAct = undefined;
        switch (ls.type) {
          case "dense":
            a = tf.matMul(a as tf.Tensor2D, vars[`${name}/kernel`] as tf.Tensor2D);
            if (bias) a = tf.add(a, bias);
            lastAct = ls.activation;
            break;
          case "conv2d":
            a = tf.conv2d(
              a as tf.Tensor4D,
              vars[`${name}/kernel`] as tf.Tensor4D,
              pair(ls.strides ?? 1),
              ls.padding ?? "valid",
            );
            if (bias) a = tf.add(a, bias);
            lastAct = ls.activation;
            break;
          case "maxPooling2d":
          case "averagePooling2d": {
            const size = pair(ls.poolSize);
            const pool = ls.type === "maxPooling2d" ? tf.maxPool : tf.avgPool;
            a = pool(a as tf.Tensor4D, size, pair(ls.strides ?? ls.poolSize), ls.padding ?? "valid");
            break;
          }
          case "flatten":
            a = tf.reshape(a, [n, -1]);
            break;
          case "activation":
            lastAct = ls.activation;
            break;
        }
        preLast = a;
        a = act(a, lastAct);
      });
      output = a.dataSync() as Float32Array;
      const k = a.shape.slice(1).reduce((p, q) => p * q, 1);
      const flatOut = tf.reshape(a, [n, k]);
      const logits = tf.reshape(preLast, [n, k]);
      const eps = 1e-7;
      switch (spec.loss) {
        case "meanSquaredError": {
          const t = tf.tensor2d(Float32Array.from(y), [n, k]);
          return tf.mean(tf.square(tf.sub(flatOut, t)));
        }
        case "categoricalCrossentropy":
        case "sparseCategoricalCrossentropy": {
          const t =
            spec.loss === "sparseCategoricalCrossentropy"
              ? tf.oneHot(tf.tensor1d(Int32Array.from(y), "int32"), k).toFloat()
              : tf.tensor2d(Float32Array.from(y), [n, k]);
          if (lastAct === "softmax") return tf.mean(tf.neg(tf.sum(tf.mul(t, tf.logSoftmax(logits)), -1)));
          const q = tf.clipByValue(tf.div(flatOut, tf.sum(flatOut, -1, true)), eps, 1 - eps);
          return tf.mean(tf.neg(tf.sum(tf.mul(t, tf.log(q)), -1)));
        }
        case "binaryCrossentropy": {
          const t = tf.tensor2d(Float32Array.from(y), [n, k]);
          if (lastAct === "sigmoid")
            return tf.mean(
              tf.add(tf.sub(tf.relu(logits), tf.mul(logits, t)), tf.log1p(tf.exp(tf.neg(tf.abs(logits))))),
            );
          const p = tf.clipByValue(flatOut, eps, 1 - eps);
          return tf.mean(tf.neg(tf.add(tf.mul(t, tf.log(p)), tf.mul(tf.sub(1, t), tf.log(tf.sub(1, p))))));
        }
      }
      throw new Error(`no reference for loss ${JSON.stringify(spec.loss)}`);
    };
    const args = keys.map((key) => tf.tensor(Float32Array.from(weights[key]!.data), weights[key]!.shape));
    const { value, grads } = tf.valueAndGrads(f)(args);
    const gradients: Record<string, Float32Array> = {};
    keys.forEach((key, i) => {
      gradients[key] = grads[i]!.dataSync() as Float32Array;
    });
    const result = {
      loss: value.dataSync()[0]!,
      output,
      gradients,
    };
    return result;
  });
}

/** Largest element-wise relative error `|a − b| / max(|a|, |b|, floor)` between two arrays. */
export function maxRelativeError(a: ArrayLike<number>, b: ArrayLike<number>, floor = 1e-3): number {
  let worst = 0;
  for (let i = 0; i < a.length; i++) {
    const e = Math.abs(a[i]! - b[i]!) / Math.max(Math.abs(a[i]!), Math.abs(b[i]!), floor);
    if (e > worst || Number.isNaN(e)) worst = Number.isNaN(e) ? Number.POSITIVE_INFINITY : e;
  }
  if (a.length !== b.length) return Number.POSITIVE_INFINITY;
  return worst;
}

let variableCounter = 0;

/**
 * Runs `steps` full-batch steps of a tfjs optimiser from `weights`, gradients from tfjs autodiff.
 * @returns the weights after the last step and the loss before each step.
 */
export async function tfjsSteps(
  spec: ModelSpec,
  weights: NamedTensors,
  batch: { n: number; x: Float64Array; y: Float64Array },
  optimizer: tf.Optimizer,
  steps: number,
): Promise<{ weights: Record<string, Float32Array>; losses: number[] }> {
  await tfReady();
  const keys = Object.keys(weights);
  const vars = keys.map((k) =>
    tf.variable(
      tf.tensor(Float32Array.from(weights[k]!.data), weights[k]!.shape),
      true,
      `v${variableCounter++}`,
    ),
  );
  const losses: number[] = [];
  for (let s = 0; s < steps; s++) {
    const current: NamedTensors = Object.fromEntries(
      keys.map((k, i) => [k, { shape: weights[k]!.shape, data: Float64Array.from(vars[i]!.dataSync()) }]),
    );
    const ref = await tfjsReference(spec, current, batch.x, batch.y, batch.n);
    losses.push(ref.loss);
    optimizer.applyGradients(
      Object.fromEntries(
        keys.map((k, i) => [vars[i]!.name, tf.tensor(ref.gradients[k]!, weights[k]!.shape)]),
      ),
    );
  }
  const out = Object.fromEntries(keys.map((k, i) => [k, vars[i]!.dataSync() as Float32Array]));
  for (const v of vars) v.dispose();
  return { weights: out, losses };
}
