/**
 * The recurrent layers give the same bits on every kernel path (docs/kernels.md): native (each
 * instruction set the CPU has), WebAssembly and TypeScript, in float64 and float32, for the
 * outputs, the loss, every parameter's gradient and the gradient passed to the layer below
 * (a recurrent layer under another one). Shapes are chosen so that the per-step products
 * `h·U` (16 × 16 × 64 for lstm, 16 × 16 × 32 and 16 × 16 × 16 for gru) are large enough for
 * the WebAssembly kernel (src/engine/matmul.ts, `wasmFor`) when native is off. Passes run in
 * training mode, so the layers with dropout apply their masks (docs/backprop.md §22.7).
 */
import { afterEach, describe, expect, it } from "vitest";
import type { ModelSpec } from "../../src/engine/index.js";
import { seedDropoutStreams } from "../../src/engine/layers/dropout-streams.js";
import { TRAINING_STEP } from "../../src/engine/layers/layer.js";
import { useWasmKernels } from "../../src/engine/matmul.js";
import { Model } from "../../src/engine/model.js";
import { type NativeMatmulKernels, nativeKernels, useNativeKernels } from "../../src/engine/native.js";
import type { Dtype, Floats } from "../../src/engine/tensor.js";
import { loadNativeKernels } from "../../src/native/kernels.js";
import { randomBatch } from "./helpers.js";

const specs: { name: string; spec: ModelSpec }[] = [
  {
    name: "lstm (returnSequences, hardSigmoid) → gru → dense",
    spec: {
      inputShape: [6, 5],
      layers: [
        { type: "lstm", units: 16, returnSequences: true },
        { type: "gru", units: 16, recurrentActivation: "sigmoid" },
        { type: "dense", units: 3, activation: "softmax" },
      ],
      loss: "categoricalCrossentropy",
    },
  },
  {
    name: "gru (resetAfter, returnSequences) → lstm (goBackwards, sigmoid) → dense",
    spec: {
      inputShape: [6, 5],
      layers: [
        { type: "gru", units: 16, resetAfter: true, returnSequences: true },
        { type: "lstm", units: 16, recurrentActivation: "sigmoid", goBackwards: true },
        { type: "dense", units: 3, activation: "softmax" },
      ],
      loss: "categoricalCrossentropy",
    },
  },
  {
    name: "lstm (dropout, recurrentDropout) → gru (resetAfter, both) → gru (recurrentDropout) → dense",
    spec: {
      inputShape: [6, 5],
      layers: [
        { type: "lstm", units: 16, returnSequences: true, dropout: 0.3, recurrentDropout: 0.4 },
        {
          type: "gru",
          units: 16,
          resetAfter: true,
          returnSequences: true,
          dropout: 0.2,
          recurrentDropout: 0.3,
        },
        { type: "gru", units: 16, recurrentDropout: 0.5 },
        { type: "dense", units: 3, activation: "softmax" },
      ],
      loss: "categoricalCrossentropy",
    },
  },
];

/** Output, loss and gradients of one forward + backward pass on batch 16, as plain arrays of bits. */
function pass(spec: ModelSpec, dtype: Dtype): number[][] {
  const data = randomBatch(spec, 16, 3, 7);
  const model = new Model(spec, { dtype });
  model.initialise(3);
  seedDropoutStreams(model.layers, 5);
  model.setMode(TRAINING_STEP);
  const cast = (a: Float64Array): Floats => (dtype === "float32" ? Float32Array.from(a) : a);
  model.zeroGrads();
  const y = Array.from(model.forward(cast(data.x), 16));
  const loss = model.loss(cast(data.y), 16, true, 1 / 16);
  return [y, [loss], ...model.params().map((p) => Array.from(p.grad))];
}

const native = loadNativeKernels();
const isas: NativeMatmulKernels[] = native
  ? (["native-avx512", "native-avx2", "native"] as const).filter((k) => {
      try {
        native.selectKernels(native.selectKernels(k));
        return true;
      } catch {
        return false;
      }
    })
  : [];

afterEach(() => {
  useWasmKernels(true);
  useNativeKernels(native);
  if (native) native.selectKernels(native.kernels);
});

describe("recurrent layers: the same bits on every kernel path", () => {
  for (const { name, spec } of specs)
    it.each(["float64", "float32"] as const)(`${name}, %s`, (dtype) => {
      useNativeKernels(null);
      useWasmKernels(false);
      const ts = pass(spec, dtype);
      useWasmKernels(true);
      const wasm = pass(spec, dtype);
      // Every gradient is there and not all zero: the comparison compares something.
      expect(ts.every((a) => a.every(Number.isFinite))).toBe(true);
      expect(ts.slice(2).every((g) => g.some((v) => v !== 0))).toBe(true);
      expect(wasm).toEqual(ts);
      useNativeKernels(native);
      for (const isa of isas) {
        nativeKernels()!.selectKernels(isa);
        expect(pass(spec, dtype), isa).toEqual(ts);
      }
    });
});
