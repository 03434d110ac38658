/**
 * TensorFlow.js on a workload: the same layers, the same initial weights, the same batches,
 * plain SGD, in the fastest honest path: `optimizer.minimize` (forward, tape backward, update)
 * inside `tf.tidy`, with the batches sliced into tensors beforehand. float32 (tfjs' only
 * training dtype) where ours is float64. `trainOnBatch` is slower (async, reads the loss back).
 */
import * as tf from "@tensorflow/tfjs";
import "@tensorflow/tfjs-backend-wasm";
import type { LayerSpec } from "../src/engine/index.js";
import { ourInitialWeights } from "./ours.js";
import type { Runner } from "./timing.js";
import type { Workload } from "./workloads.js";

export type Backend = "cpu" | "wasm";

// Production mode, as a service would run tfjs: it skips debug-time checks (so tfjs runs at its
// fastest) and keeps its one-time "install tfjs-node" banner out of the bench's output.
tf.enableProdMode();

export async function useBackend(b: Backend): Promise<void> {
  if (tf.getBackend() !== b) {
    await tf.setBackend(b);
    await tf.ready();
  }
}

function tfLayers(l: LayerSpec, first: boolean, inputShape: number[]): tf.layers.Layer {
  const input = first ? { inputShape } : {};
  switch (l.type) {
    case "dense":
      return tf.layers.dense({ units: l.units, activation: l.activation ?? "linear", ...input });
    case "activation":
      return tf.layers.activation({ activation: l.activation, ...input });
    case "conv2d":
      return tf.layers.conv2d({
        filters: l.filters,
        kernelSize: l.kernelSize,
        activation: l.activation ?? "linear",
        ...input,
      });
    case "maxPooling2d":
      return tf.layers.maxPooling2d({ poolSize: l.poolSize, ...input });
    case "flatten":
      return tf.layers.flatten(input);
    case "lstm":
      return tf.layers.lstm({
        units: l.units,
        activation: l.activation ?? "tanh",
        recurrentActivation: l.recurrentActivation ?? "hardSigmoid",
        returnSequences: l.returnSequences ?? false,
        // Our weights are set right after: skip the orthogonal initialiser (slow, and it warns
        // on every build of a kernel this size).
        kernelInitializer: "zeros",
        recurrentInitializer: "zeros",
        ...input,
      });
    default:
      throw new Error(`bench: no tfjs layer for ${l.type}`);
  }
}

/** Builds the model and batches on the CURRENT backend (call `useBackend` first). */
export function tfjsRunner(w: Workload, backend: Backend): Runner {
  const model = tf.sequential();
  w.spec.layers.forEach((l, i) => {
    model.add(tfLayers(l, i === 0, w.spec.inputShape));
  });
  model.setWeights(ourInitialWeights(w).map((p) => tf.tensor(Float32Array.from(p.data), p.shape)));
  const inSize = w.spec.inputShape.reduce((a, b) => a * b, 1);
  const k = w.y.length / w.n;
  const b = w.batch;
  const batches = Math.floor(w.n / b);
  const xs: tf.Tensor[] = [];
  const ys: tf.Tensor[] = [];
  for (let i = 0; i < batches; i++) {
    const s = i * b;
    xs.push(
      tf.tensor(Float32Array.from(w.x.subarray(s * inSize, (s + b) * inSize)), [b, ...w.spec.inputShape]),
    );
    ys.push(tf.tensor(Float32Array.from(w.y.subarray(s * k, (s + b) * k)), [b, k]));
  }
  const optimizer = tf.train.sgd(w.learningRate);
  const vars = model.trainableWeights.map((v) => (v as unknown as { val: tf.Variable }).val);
  let i = 0;
  return {
    label: `tfjs ${backend}`,
    samplesPerStep: b,
    chunk: 1,
    enter: () => useBackend(backend),
    step: () => {
      const j = i++ % batches;
      tf.tidy(() => {
        optimizer.minimize(
          () =>
            tf.metrics
              .categoricalCrossentropy(ys[j]!, model.apply(xs[j]!, { training: true }) as tf.Tensor)
              .mean() as tf.Scalar,
          false,
          vars,
        );
      });
    },
    dispose: () => {
      model.dispose();
      optimizer.dispose();
      tf.dispose([...xs, ...ys]);
    },
  };
}

/** GFLOP/s of tfjs' float32 matMul on the current backend (reference only). */
export function tfjsMatmulGflops(m: number, k: number, n: number, ms: number): number {
  const a = tf.randomUniform([m, k]);
  const bm = tf.randomUniform([k, n]);
  const run = () => tf.tidy(() => tf.matMul(a, bm)).dispose();
  let t0 = performance.now();
  while (performance.now() - t0 < ms) run();
  let reps = 0;
  t0 = performance.now();
  let t = t0;
  do {
    run();
    reps++;
    t = performance.now();
  } while (t - t0 < ms);
  tf.dispose([a, bm]);
  return (2 * m * k * n * reps) / ((t - t0) / 1000) / 1e9;
}
