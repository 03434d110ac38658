/**
 * Our engine on a workload, two ways:
 * - `step`: the Model API loop, what the engine's `train()` does per batch minus its bookkeeping:
 *   `zeroGrads`, `forward`, `loss(…, backward = true, 1/batch)`, `optimizer.step` (plain SGD; the
 *   step also copies the weights aside and checks gradients and weights are finite, as in `train`).
 *   This is the like-for-like match of tfjs' `optimizer.minimize`.
 * - `step` with the WebAssembly kernel off (`ours TS-only`): the pure-TypeScript fallback.
 * - `train`: the public `train()` over the whole data set for E epochs (shuffling, batch copies,
 *   NaN forensics per batch, and the final full-data gradient and metrics included).
 */
import { train } from "../src/engine/index.js";
import { useWasmKernels } from "../src/engine/matmul.js";
import { Model } from "../src/engine/model.js";
import { makeOptimizer } from "../src/engine/optimizers.js";
import { type Dtype, floatsLike } from "../src/engine/tensor.js";
import type { Runner } from "./timing.js";
import type { Workload } from "./workloads.js";

/**
 * @param wasm false: the pure-TypeScript kernels only (the fallback where WebAssembly SIMD is missing).
 * @param dtype the model's dtype (docs/precision.md).
 */
export function ourStepRunner(w: Workload, wasm = true, dtype: Dtype = "float64"): Runner {
  const model = new Model(w.spec, { dtype });
  model.initialise(1);
  const params = model.params();
  const optimizer = makeOptimizer({ type: "sgd", learningRate: w.learningRate }, params);
  const before = params.map((p) => floatsLike(p.value));
  const inSize = model.inputSize;
  const k = model.outputSize;
  const b = w.batch;
  const batches = Math.floor(w.n / b);
  let i = 0;
  return {
    label: (wasm ? "ours" : "ours TS-only") + (dtype === "float32" ? " float32" : ""),
    samplesPerStep: b,
    chunk: 1,
    enter: () => {
      useWasmKernels(wasm);
    },
    step: () => {
      const s = (i++ % batches) * b;
      const x = w.x.subarray(s * inSize, (s + b) * inSize);
      const y = w.y.subarray(s * k, (s + b) * k);
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
    label: dtype === "float32" ? "ours train() float32" : "ours train()",
    samplesPerStep: epochs * w.n,
    chunk: 1,
    enter: () => {
      useWasmKernels(true);
    },
    step: () => {
      train({
        model: w.spec,
        data: { n: w.n, x: w.x, y: w.y },
        optimizer: { type: "sgd", learningRate: w.learningRate },
        epochs,
        batchSize: w.batch,
        seed: 1,
        dtype,
      });
    },
  };
  return r;
}

/** Epochs per `train()` call so that one call takes about `ms` milliseconds. */
export function calibrateTrain(w: Workload, ms: number): number {
  let epochs = 1;
  for (;;) {
    const t0 = performance.now();
    ourTrainRunner(w, epochs).step();
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
