/**
 * The sequence layers (docs/backprop.md §21) against TensorFlow.js (cpu, float32) on the same
 * weights: output, loss and every gradient of whole models (conv1d causal and dilated, embedding
 * with maskZero into globalAveragePooling1d), and single layers against tfjs-layers' own
 * (conv1d causal with dilation, embedding, the 1-D poolings): relative error < 1e-4.
 */
import * as tf from "@tensorflow/tfjs";
import { describe, expect, it } from "vitest";
import { computeGradients, describeModel, type ModelSpec } from "../../src/engine/index.js";
import { Conv1d, geometry1d } from "../../src/engine/layers/conv1d.js";
import { Embedding } from "../../src/engine/layers/embedding.js";
import type { Layer } from "../../src/engine/layers/layer.js";
import { GlobalAveragePooling1d, GlobalMaxPooling1d, Pooling1d } from "../../src/engine/layers/pooling1d.js";
import { Rng } from "../../src/engine/rng.js";
import { idBatch } from "./sequence-data.js";
import { maxRelativeError, tfReady } from "./tfjs-reference.js";
import { tfConv1d, tfjsSequenceReference } from "./tfjs-sequence.js";
import { tfjsLayerPass } from "./tfjs-shape.js";

const models: { name: string; spec: ModelSpec }[] = [
  {
    name: "conv1d causal, dilation 2 → conv1d causal, dilation 4 → flatten → dense",
    spec: {
      inputShape: [12, 3],
      layers: [
        { type: "conv1d", filters: 4, kernelSize: 3, padding: "causal", dilationRate: 2, activation: "tanh" },
        { type: "conv1d", filters: 2, kernelSize: 2, padding: "causal", dilationRate: 4, activation: "relu" },
        { type: "flatten" },
        { type: "dense", units: 2 },
      ],
      loss: "meanSquaredError",
    },
  },
  {
    name: "conv1d valid, dilation 3 → conv1d same, stride 2 → maxPooling1d → averagePooling1d → flatten → dense",
    spec: {
      inputShape: [20, 2],
      layers: [
        { type: "conv1d", filters: 3, kernelSize: 3, dilationRate: 3, activation: "sigmoid" },
        { type: "conv1d", filters: 3, kernelSize: 4, strides: 2, padding: "same" },
        { type: "maxPooling1d" },
        // Valid: tfjs' cpu AvgPoolGrad divides a padded border window by the whole pool
        // (docs/backprop.md §8.2), so a same-padded average would differ there by design.
        { type: "averagePooling1d", poolSize: 2, strides: 1 },
        { type: "flatten" },
        { type: "dense", units: 2 },
      ],
      loss: "meanSquaredError",
    },
  },
  {
    name: "embedding (maskZero) → globalAveragePooling1d → dense",
    spec: {
      inputShape: [7],
      layers: [
        { type: "embedding", inputDim: 9, outputDim: 4, maskZero: true },
        { type: "globalAveragePooling1d" },
        { type: "dense", units: 3, activation: "tanh" },
      ],
      loss: "meanSquaredError",
    },
  },
  {
    name: "embedding (maskZero) → activation → globalAveragePooling1d → dense (the mask passes the activation)",
    spec: {
      inputShape: [6],
      layers: [
        { type: "embedding", inputDim: 5, outputDim: 3, maskZero: true },
        { type: "activation", activation: "tanh" },
        { type: "globalAveragePooling1d" },
        { type: "dense", units: 2 },
      ],
      loss: "meanSquaredError",
    },
  },
  {
    name: "embedding → conv1d causal → globalMaxPooling1d → dense",
    spec: {
      inputShape: [8],
      layers: [
        { type: "embedding", inputDim: 6, outputDim: 3 },
        { type: "conv1d", filters: 4, kernelSize: 3, padding: "causal", activation: "relu" },
        { type: "globalMaxPooling1d" },
        { type: "dense", units: 2 },
      ],
      loss: "meanSquaredError",
    },
  },
];

describe("whole models equal tfjs (cpu, float32; relative error < 1e-4)", () => {
  it.each(models)("$name: output, loss and every gradient", async ({ spec }) => {
    const out = describeModel(spec).outputSize;
    const batch = idBatch(spec, 4, out, 17);
    const ours = computeGradients({ model: spec, seed: 9, data: batch });
    const ref = await tfjsSequenceReference(spec, ours.weights, batch.x, batch.y, batch.n);
    expect(Math.abs(ours.loss - ref.loss) / Math.max(Math.abs(ref.loss), 1e-3)).toBeLessThan(1e-4);
    expect(maxRelativeError(ours.output.data, ref.output)).toBeLessThan(1e-4);
    expect(Object.keys(ours.gradients).sort()).toEqual(Object.keys(ref.gradients).sort());
    for (const [key, grad] of Object.entries(ours.gradients))
      expect(maxRelativeError(grad.data, ref.gradients[key]!), key).toBeLessThan(1e-4);
  });

  it("the mask matters: without maskZero the same weights give another output", async () => {
    const spec = models[2]!.spec;
    const batch = idBatch(spec, 4, 3, 17);
    const masked = computeGradients({ model: spec, seed: 9, data: batch });
    const plain = {
      ...spec,
      layers: spec.layers.map((l) => (l.type === "embedding" ? { ...l, maskZero: false } : l)),
    };
    const unmasked = computeGradients({ model: plain, seed: 9, data: batch, weights: masked.weights });
    expect(maxRelativeError(masked.output.data, unmasked.output.data)).toBeGreaterThan(1e-2);
  });
});

describe("single layers equal tfjs-layers' own (relative error < 1e-5)", () => {
  const rng = new Rng(5);
  const uniform = (n: number) => Float64Array.from({ length: n }, () => rng.uniform(-1, 1));
  const kernel = uniform(3 * 2 * 4);
  const bias = uniform(4);
  const table = uniform(6 * 3);
  const cases: { name: string; ours: () => Layer; theirs: () => tf.layers.Layer; shape: number[] }[] = [
    {
      name: "maxPooling1d 3/2 valid",
      ours: () => new Pooling1d("maxPooling1d", "p", [9, 2], 3, 2, "valid"),
      theirs: () => tf.layers.maxPooling1d({ poolSize: 3, strides: 2 }),
      shape: [9, 2],
    },
    {
      name: "averagePooling1d 2 valid",
      ours: () => new Pooling1d("averagePooling1d", "p", [9, 2], 2, 2, "valid"),
      theirs: () => tf.layers.averagePooling1d({ poolSize: 2 }),
      shape: [9, 2],
    },
    {
      name: "globalAveragePooling1d",
      ours: () => new GlobalAveragePooling1d("g", [5, 3]),
      theirs: () => tf.layers.globalAveragePooling1d({}),
      shape: [5, 3],
    },
    {
      name: "globalMaxPooling1d",
      ours: () => new GlobalMaxPooling1d("g", [5, 3]),
      theirs: () => tf.layers.globalMaxPooling1d({}),
      shape: [5, 3],
    },
  ];
  it.each(cases)("$name: output and input gradient", async ({ ours, theirs, shape }) => {
    const n = 2;
    const x = uniform(n * shape.reduce((a, b) => a * b, 1));
    const layer = ours();
    const y = Float64Array.from(layer.forward(x, n));
    const dy = uniform(y.length);
    const dx = Float64Array.from(layer.backward(dy, n));
    const ref = await tfjsLayerPass(theirs(), x, shape, n, dy);
    expect(maxRelativeError(y, ref.output)).toBeLessThan(1e-5);
    expect(maxRelativeError(dx, ref.dx)).toBeLessThan(1e-5);
  });

  it.each([
    ["causal", 1, 2],
    ["causal", 2, 1],
    ["same", 1, 3],
    ["valid", 2, 1],
    ["same", 3, 1],
    ["valid", 1, 2],
  ] as const)(
    "conv1d %s, stride %i, dilation %i: output and input gradient",
    async (padding, stride, dilation) => {
      await tfReady();
      const n = 2;
      const x = uniform(n * 10 * 2);
      const layer = new Conv1d("c", [10, 2], 4, geometry1d(10, 2, 3, stride, dilation, padding), true);
      layer.kernel.value.set(kernel);
      layer.bias!.value.set(bias);
      const y = Float64Array.from(layer.forward(x, n));
      const dy = uniform(y.length);
      const dx = Float64Array.from(layer.backward(dy, n));
      const K = tf.tensor3d(Float32Array.from(kernel), [3, 2, 4]);
      const b = tf.tensor1d(Float32Array.from(bias));
      const xs = tf.tensor3d(Float32Array.from(x), [n, 10, 2]);
      const ref = (t: tf.Tensor3D) => tf.add(tfConv1d(t, K, stride, padding, dilation, 3), b);
      expect(maxRelativeError(y, ref(xs).dataSync())).toBeLessThan(1e-5);
      const dyt = tf.tensor(Float32Array.from(dy), [n, y.length / n / 4, 4]);
      const refDx = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(ref(t as tf.Tensor3D), dyt)))(xs);
      expect(maxRelativeError(dx, refDx.dataSync())).toBeLessThan(1e-5);
      // tfjs-layers' own Conv1D gives the same output where it runs (it throws on causal padding).
      if (padding !== "causal") {
        const theirs = tf.layers.conv1d({
          filters: 4,
          kernelSize: 3,
          strides: stride,
          padding,
          dilationRate: dilation,
          weights: [K, b],
        });
        expect(maxRelativeError(y, (theirs.apply(xs) as tf.Tensor).dataSync())).toBeLessThan(1e-5);
      }
    },
  );

  it("embedding: the output and the embeddings' gradient", async () => {
    await tfReady();
    const ids = Float64Array.from([5, 0, 2, 2, 1, 0, 3, 5]);
    const ours = new Embedding("e", [4], 6, 3, true);
    ours.embeddings.value.set(table);
    const y = Float64Array.from(ours.forward(ids, 2));
    const dy = uniform(y.length);
    ours.backward(dy, 2, false);
    const layer = tf.layers.embedding({
      inputDim: 6,
      outputDim: 3,
      maskZero: true,
      weights: [tf.tensor2d(Float32Array.from(table), [6, 3])],
    });
    const idt = tf.tensor2d(Int32Array.from(ids), [2, 4], "int32");
    const out = layer.apply(idt) as tf.Tensor;
    expect(maxRelativeError(y, out.dataSync())).toBeLessThan(1e-6);
    expect([...(layer.computeMask(idt) as tf.Tensor).dataSync()]).toEqual([1, 0, 1, 1, 1, 0, 1, 1]);
    const dyt = tf.tensor(Float32Array.from(dy), [2, 4, 3]);
    const grad = tf.grad((e: tf.Tensor) => tf.sum(tf.mul(tf.gather(e, idt), dyt)))(
      tf.tensor2d(Float32Array.from(table), [6, 3]),
    );
    expect(maxRelativeError(ours.embeddings.grad, grad.dataSync())).toBeLessThan(1e-5);
  });
});
