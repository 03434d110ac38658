// A whole CNN training run (the bench's and mnistCnn's layers: conv2d relu → maxPooling2d →
// flatten → dense softmax) gives the same bits with the native kernels as without, in float32 and
// float64: the direct single-channel convolution, ∂b summed with ∂K, max pooling back-propagated
// through relu in one pass, the native finiteness check and batch copy change the speed only.
import { describe, expect, it } from "vitest";
import { type TrainOptions, type TrainResult, train } from "../../src/engine/index.js";
import { useWasmKernels } from "../../src/engine/matmul.js";
import { useNativeKernels } from "../../src/engine/native.js";
import { Rng } from "../../src/engine/rng.js";
import type { LayerSpec } from "../../src/engine/spec.js";
import { native } from "./conv-helpers.js";

const n = 40;
const rng = new Rng(11);
const x = Float64Array.from({ length: n * 12 * 12 }, () => rng.uniform(-1, 1));
const labels = Array.from({ length: n }, () => Math.floor(rng.uniform(0, 3)));
const y = new Float64Array(n * 3);
labels.forEach((l, i) => {
  y[i * 3 + l] = 1;
});

function options(dtype: "float32" | "float64", conv: Partial<LayerSpec> = {}): TrainOptions {
  return {
    model: {
      inputShape: [12, 12, 1],
      layers: [
        { type: "conv2d", filters: 8, kernelSize: 3, activation: "relu", ...conv } as LayerSpec,
        { type: "maxPooling2d", poolSize: 2 },
        { type: "flatten" },
        { type: "dense", units: 3, activation: "softmax" },
      ],
      loss: "categoricalCrossentropy",
    },
    data: { n, x, y },
    optimizer: { type: "sgd", learningRate: 0.1 },
    epochs: 3,
    batchSize: 8,
    validationSplit: 0.2,
    seed: 4,
    dtype,
  };
}

/** `train(opts)` with the native kernels, and with TypeScript (and WebAssembly) only. */
function both(opts: TrainOptions): { native: TrainResult; ts: TrainResult } {
  const got = train(opts);
  const was = useNativeKernels(null);
  try {
    return { native: got, ts: train(opts) };
  } finally {
    useNativeKernels(was);
  }
}

describe.skipIf(!native?.convForward)("a CNN trained natively", () => {
  for (const dtype of ["float32", "float64"] as const)
    for (const [what, conv] of [
      ["", {}],
      // An activity penalty on the conv's output needs the gradient at the relu's output: no fusion.
      [" with an activity regulariser", { activityRegularizer: { l2: 0.01 } }],
    ] as const)
      it(`gives the TypeScript run's bits in ${dtype}${what}`, () => {
        const r = both(options(dtype, conv));
        expect(r.native.engineVersion.endsWith("+float32")).toBe(dtype === "float32");
        expect(r.native.weightsSha256).toBe(r.ts.weightsSha256);
        expect(r.native.history).toEqual(r.ts.history);
        expect(r.native.gradients).toEqual(r.ts.gradients);
        // It trained: the loss moved.
        const loss = r.native.history.loss;
        expect(loss[loss.length - 1]).not.toBe(loss[0]);
      });

  it("gives the same bits with the WebAssembly kernels off too (TypeScript alone)", () => {
    const opts = options("float32");
    const got = train(opts);
    const wasNative = useNativeKernels(null);
    const wasWasm = useWasmKernels(false);
    try {
      expect(train(opts).weightsSha256).toBe(got.weightsSha256);
    } finally {
      useWasmKernels(wasWasm);
      useNativeKernels(wasNative);
    }
  });
});
