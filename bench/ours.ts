/**
 * Our engine on a workload, two ways:
 * - `step`: the Model API loop, what the engine's `train()` does per batch minus its bookkeeping:
 *   `zeroGrads`, `forward`, `loss(…, backward = true, 1/batch)`, `optimizer.step` (plain SGD; the
 *   step also copies the weights aside and checks gradients and weights are finite, as in `train`).
 *   This is the like-for-like match of tfjs' `optimizer.minimize`.
 * - `step` with the WebAssembly and native kernels off (`ours TS-only`): the pure-TypeScript fallback.
 * - `train`: the public `train()` over the whole data set for E ≥ MIN_TRAIN_EPOCHS epochs (shuffling,
 *   batch copies, NaN forensics per batch, and the final full-data gradient and metrics included).
 * Each in float64 (the default) or float32, through the adapter below.
 */
import { type TrainOptions, type TrainResult, train } from "../src/engine/index.js";
import { useWasmKernels } from "../src/engine/matmul.js";
import { Model, type ModelOptions } from "../src/engine/model.js";
import { useNativeKernels } from "../src/engine/native.js";
import { makeOptimizer } from "../src/engine/optimizers.js";
import type { Dtype } from "../src/engine/tensor.js";
import { loadNativeKernels } from "../src/native/kernels.js";
import type { Runner } from "./timing.js";
import type { Workload } from "./workloads.js";

/*
 * The dtype adapter. `TrainOptions.dtype` and the Model's `dtype` option are being added to the
 * engine; until then they are passed through untyped and ignored, and the float32 rows say
 * "pending". A float32 run is recognised by its result (`engineVersion` ending in "+float32") or
 * by the model's parameters (Float32Array), never assumed from the request.
 */

/** `train()` with `dtype` passed through. */
export function trainAs(opts: TrainOptions, dtype: Dtype): TrainResult {
  return train(dtype === "float64" ? opts : ({ ...opts, dtype } as TrainOptions));
}

/** `new Model(spec, { dtype })`. */
export function modelAs(w: Workload, dtype: Dtype): Model {
  return new Model(w.spec, (dtype === "float64" ? {} : { dtype }) as ModelOptions);
}

/** Whether the engine really runs float32: the Model API, and `train()` (by its `engineVersion`). */
export function float32Support(w: Workload): { model: boolean; train: boolean } {
  const model = modelAs(w, "float32").params()[0]?.value instanceof Float32Array;
  const r = trainAs(
    {
      model: w.spec,
      data: {
        n: w.batch,
        x: w.x.subarray(0, (w.x.length / w.n) * w.batch),
        y: w.y.subarray(0, (w.y.length / w.n) * w.batch),
      },
      optimizer: { type: "sgd", learningRate: w.learningRate },
      epochs: 1,
      batchSize: w.batch,
      seed: 1,
    },
    "float32",
  );
  return { model, train: r.engineVersion.endsWith("+float32") };
}

const suffix = (dtype: Dtype) => (dtype === "float32" ? " f32" : "");

/**
 * @param wasm false: the pure-TypeScript kernels only (the fallback where WebAssembly SIMD is missing).
 * @param dtype float32 only where `float32Support(w).model`.
 */
export function ourStepRunner(w: Workload, wasm = true, dtype: Dtype = "float64"): Runner {
  const model = modelAs(w, dtype);
  model.initialise(1);
  const params = model.params();
  const optimizer = makeOptimizer({ type: "sgd", learningRate: w.learningRate }, params);
  // Typed as the engine's float64 API today; Float32Array ones when the model is float32.
  const f32 = params[0]?.value instanceof Float32Array;
  const like = (n: number) => (f32 ? new Float32Array(n) : new Float64Array(n)) as Float64Array;
  const before = params.map((p) => like(p.value.length));
  const X = (f32 ? Float32Array.from(w.x) : w.x) as Float64Array;
  const Y = (f32 ? Float32Array.from(w.y) : w.y) as Float64Array;
  const inSize = model.inputSize;
  const k = model.outputSize;
  const b = w.batch;
  const batches = Math.floor(w.n / b);
  let i = 0;
  return {
    label: (wasm ? "ours" : "ours TS-only") + suffix(dtype),
    samplesPerStep: b,
    chunk: 1,
    enter: () => {
      // TS-only: neither the WebAssembly nor the native kernels (the fallback where neither exists).
      useWasmKernels(wasm);
      useNativeKernels(wasm ? loadNativeKernels() : null);
    },
    step: () => {
      const s = (i++ % batches) * b;
      const x = X.subarray(s * inSize, (s + b) * inSize);
      const y = Y.subarray(s * k, (s + b) * k);
      model.zeroGrads();
      model.forward(x, b);
      model.loss(y, b, true, 1 / b);
      optimizer.step(before);
    },
  };
}

/** `train()` for `epochs` epochs per step; the epochs are chosen in `calibrateTrain`. */
export function ourTrainRunner(w: Workload, epochs: number, dtype: Dtype = "float64"): Runner {
  const r: Runner = {
    label: `ours train()${suffix(dtype)}`,
    samplesPerStep: epochs * w.n,
    chunk: 1,
    enter: () => {
      useWasmKernels(true);
      useNativeKernels(loadNativeKernels());
    },
    step: () => {
      trainAs(
        {
          model: w.spec,
          data: { n: w.n, x: w.x, y: w.y },
          optimizer: { type: "sgd", learningRate: w.learningRate },
          epochs,
          batchSize: w.batch,
          seed: 1,
        },
        dtype,
      );
    },
  };
  return r;
}

/**
 * The fewest epochs per `train()` call. A call's fixed costs (building the model, the final
 * full-data pass, the weights' digest) are about two epochs of the bench's 256–512 samples, so calls
 * of one or two epochs measured mostly those (docs/performance.md); at 16 they weigh as in a
 * 16-epoch run.
 */
export const MIN_TRAIN_EPOCHS = 16;

/** Epochs per `train()` call (≥ MIN_TRAIN_EPOCHS) so that one call takes about `ms` milliseconds. */
export function calibrateTrain(w: Workload, ms: number, dtype: Dtype = "float64"): number {
  let epochs = MIN_TRAIN_EPOCHS;
  for (;;) {
    const t0 = performance.now();
    ourTrainRunner(w, epochs, dtype).step();
    if (performance.now() - t0 >= ms || epochs >= 1 << 16) return epochs;
    epochs *= 2;
  }
}

/** Our initial weights for the workload's model, to start tfjs from the same point. */
export function ourInitialWeights(w: Workload): { key: string; shape: number[]; data: Float64Array }[] {
  const model = new Model(w.spec);
  model.initialise(1);
  return model.params().map((p) => ({ key: p.key, shape: p.shape, data: Float64Array.from(p.value) }));
}
