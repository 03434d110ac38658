import pkg from "onnx-proto";
import * as ort from "onnxruntime-node";
import { describe, expect, it } from "vitest";
import {
  type ActivationName,
  type LayerSpec,
  type ModelSpec,
  predict,
  train,
} from "../../src/engine/index.js";
import { ActivationSchema } from "../../src/schemas/model.js";
import { UnprocessableError } from "../../src/service/errors.js";
import { ONNX_IR_VERSION, ONNX_OPSET, toOnnx } from "../../src/service/models/formats/onnx.js";
import { engineWeights, expectOnnxMatchesEngine, runOnnx, samples, worstError } from "./onnx/helpers.js";

const { onnx } = pkg;

/** The decoded model and its graph (onnx-proto types a decoded graph loosely). */
function decode(bytes: Uint8Array) {
  const m = onnx.ModelProto.decode(bytes);
  return { m, graph: m.graph as pkg.onnx.GraphProto };
}

const model = (inputShape: number[], layers: LayerSpec[]): ModelSpec => ({
  inputShape,
  layers,
  loss: "meanSquaredError",
});

describe("toOnnx: onnxruntime-node predicts what the engine does (relative 1e-5)", () => {
  const activations = ActivationSchema.options as ActivationName[];

  it("covers every activation of the schema", () => {
    expect(activations).toHaveLength(14);
  });

  it.each(activations)("dense with activation %s, then the same as an activation layer", async (a) => {
    // Inputs in [−3, 3] reach both sides of every kink (relu6 at 6 through the weights, hardSigmoid at ±2.5).
    const spec = model(
      [5],
      [
        { type: "dense", units: 7, activation: a },
        { type: "dense", units: 4 },
        { type: "activation", activation: a },
      ],
    );
    await expectOnnxMatchesEngine(spec, 3, 3);
  });

  it.each(activations)(
    "activation %s straight on inputs in [−8, 8] (past relu6's 6, deep in the tails)",
    async (a) => {
      const spec = model([40], [{ type: "activation", activation: a }]);
      await expectOnnxMatchesEngine(spec, 4, 8);
    },
  );

  it("conv2d (strides, same and valid padding, activations) with both poolings, flatten and dense", async () => {
    const spec = model(
      [9, 8, 2],
      [
        { type: "conv2d", filters: 4, kernelSize: 3, strides: 2, padding: "same", activation: "relu" },
        { type: "maxPooling2d", poolSize: 2, strides: 1, padding: "same" },
        {
          type: "conv2d",
          filters: 3,
          kernelSize: [2, 3],
          padding: "valid",
          activation: "gelu",
          useBias: false,
        },
        { type: "averagePooling2d", poolSize: [2, 3], strides: [1, 2], padding: "same" },
        { type: "flatten" },
        { type: "dense", units: 5, activation: "softmax" },
      ],
    );
    await expectOnnxMatchesEngine(spec, 5);
  });

  it("valid pooling with default strides, and average pooling over padded borders", async () => {
    const spec = model(
      [7, 7, 3],
      [
        { type: "maxPooling2d", poolSize: 2 },
        { type: "averagePooling2d", poolSize: 3, strides: 2, padding: "same" },
        { type: "flatten" },
      ],
    );
    await expectOnnxMatchesEngine(spec, 6);
  });

  it("zeroPadding2d, prelu in NCHW (no shared axes and shared over h, w), global average pooling", async () => {
    const spec = model(
      [5, 6, 2],
      [
        {
          type: "zeroPadding2d",
          padding: [
            [1, 0],
            [2, 1],
          ],
        },
        { type: "conv2d", filters: 3, kernelSize: 3 },
        { type: "prelu" },
        { type: "conv2d", filters: 4, kernelSize: 2, padding: "same" },
        { type: "prelu", sharedAxes: [1, 2] },
        { type: "globalAveragePooling2d" },
        { type: "dense", units: 2 },
      ],
    );
    await expectOnnxMatchesEngine(spec, 7);
  });

  it("global max pooling and zero padding on an NHWC input, then batch normalisation of a vector", async () => {
    const spec = model(
      [4, 5, 3],
      [
        { type: "zeroPadding2d", padding: 1 },
        { type: "leakyReLU" },
        { type: "globalMaxPooling2d" },
        { type: "batchNormalization", center: false },
        { type: "dense", units: 3 },
      ],
    );
    await expectOnnxMatchesEngine(spec, 8);
  });

  it("the other layout of each: BN and global average pooling on NHWC, zero padding and global max in NCHW", async () => {
    const spec = model(
      [4, 5, 3],
      [
        { type: "batchNormalization" },
        { type: "globalAveragePooling2d" },
        { type: "reshape", targetShape: [1, 1, 3] },
        { type: "zeroPadding2d", padding: [1, 2] },
        { type: "conv2d", filters: 2, kernelSize: [2, 3] },
        {
          type: "zeroPadding2d",
          padding: [
            [0, 1],
            [1, 0],
          ],
        },
        { type: "conv2d", filters: 2, kernelSize: 2 },
        { type: "globalMaxPooling2d" },
      ],
    );
    await expectOnnxMatchesEngine(spec, 14);
  });

  it("batch normalisation after conv2d (channels), on the height axis (1) and the width axis (-2)", async () => {
    const spec = model(
      [4, 5, 3],
      [
        { type: "conv2d", filters: 3, kernelSize: 1 },
        { type: "batchNormalization" },
        { type: "batchNormalization", axis: 1, epsilon: 0.01 },
        { type: "conv2d", filters: 2, kernelSize: 2, padding: "same" },
        { type: "batchNormalization", axis: -2, scale: false },
        { type: "flatten" },
      ],
    );
    await expectOnnxMatchesEngine(spec, 9);
  });

  it("batch normalisation on a non-last axis of a reshaped vector, reshape with -1", async () => {
    const spec = model(
      [12],
      [
        { type: "reshape", targetShape: [3, -1] },
        { type: "batchNormalization", axis: 1 },
        { type: "reshape", targetShape: [-1] },
        { type: "dense", units: 2 },
      ],
    );
    await expectOnnxMatchesEngine(spec, 10);
  });

  it("layer normalisation over several axes (center or scale off), after conv2d", async () => {
    const spec = model(
      [4, 5, 3],
      [
        { type: "conv2d", filters: 3, kernelSize: 2, padding: "same" },
        { type: "layerNormalization", axis: [1, 2] },
        { type: "layerNormalization", axis: [3, 1], center: false, epsilon: 0.01 },
        { type: "layerNormalization", scale: false },
        { type: "flatten" },
        { type: "layerNormalization" },
      ],
    );
    await expectOnnxMatchesEngine(spec, 11);
  });

  it("elu with alpha, leakyReLU with alpha, the softmax layer (also on channels in NCHW), dropout", async () => {
    const spec = model(
      [3, 3, 2],
      [
        { type: "conv2d", filters: 4, kernelSize: 2 },
        { type: "softmax" },
        { type: "elu", alpha: 0.5 },
        { type: "dropout", rate: 0.5 },
        { type: "flatten" },
        { type: "dense", units: 6 },
        { type: "leakyReLU", alpha: 0.1 },
        { type: "dropout", rate: 0.3 },
        { type: "softmax", axis: -1 },
      ],
    );
    await expectOnnxMatchesEngine(spec, 12);
  });

  it("a CNN trained by the engine (its own moving statistics, dropout in training) predicts alike", async () => {
    const spec: ModelSpec = {
      inputShape: [6, 6, 1],
      layers: [
        { type: "conv2d", filters: 4, kernelSize: 3, padding: "same" },
        { type: "batchNormalization", momentum: 0.5 },
        { type: "activation", activation: "relu" },
        { type: "maxPooling2d", poolSize: 2 },
        { type: "dropout", rate: 0.25 },
        { type: "flatten" },
        { type: "dense", units: 3, activation: "softmax" },
      ],
      loss: "sparseCategoricalCrossentropy",
    };
    const n = 30;
    const x = samples(spec.inputShape, n, 41);
    // The label is the sign pattern of the first and last cell: something to learn.
    const y = Float64Array.from(
      { length: n },
      (_, i) => (x[i * 36]! > 0 ? 1 : 0) + (x[i * 36 + 35]! > 0 ? 1 : 0),
    );
    const { weights } = train({
      model: spec,
      data: { n, x, y },
      optimizer: { type: "adam", learningRate: 0.01 },
      epochs: 3,
      batchSize: 8,
      seed: 5,
    });
    const mean = weights["batchNormalization_1/moving_mean"]!.data;
    expect(mean.every((v) => v !== 0)).toBe(true);
    const probe = samples(spec.inputShape, 5, 42);
    const expected = predict(spec, weights, probe, 5);
    const out = await runOnnx(toOnnx(spec, weights), probe, [5, ...spec.inputShape]);
    expect(out.dims).toEqual([5, 3]);
    expect(worstError(out.data as Float32Array, expected.data).ratio).toBeLessThanOrEqual(1);
  });

  it("a model of one dropout layer is the identity, named input to output", async () => {
    const spec = model([3], [{ type: "dropout", rate: 0.5 }]);
    await expectOnnxMatchesEngine(spec, 13);
  });
});

describe("toOnnx: the file", () => {
  const spec = model(
    [4, 4, 1],
    [
      { type: "conv2d", filters: 2, kernelSize: 3, activation: "relu" },
      { type: "batchNormalization" },
      { type: "flatten" },
      { type: "dense", units: 3, activation: "softmax" },
    ],
  );
  const weights = engineWeights(spec, 21);

  it("is ONNX opset 18, IR 8, by backprop-service, with a symbolic batch on input and output", () => {
    const { m, graph } = decode(toOnnx(spec, weights, "digits"));
    expect([Number(m.irVersion), m.opsetImport.map((o) => [o.domain, Number(o.version)])]).toEqual([
      ONNX_IR_VERSION,
      [["", ONNX_OPSET]],
    ]);
    expect([ONNX_OPSET, ONNX_IR_VERSION]).toEqual([18, 8]);
    expect([m.producerName, m.producerVersion, graph.name]).toEqual(["backprop-service", "0.3.0", "digits"]);
    const dims = (v: pkg.onnx.IValueInfoProto) =>
      v.type?.tensorType?.shape?.dim?.map((d) => d.dimParam || Number(d.dimValue));
    const io = [...graph.input, ...graph.output];
    expect(io.map((v) => [v.name, v.type?.tensorType?.elemType, dims(v)])).toEqual([
      ["input", onnx.TensorProto.DataType.FLOAT, ["batch", 4, 4, 1]],
      ["output", onnx.TensorProto.DataType.FLOAT, ["batch", 3]],
    ]);
  });

  it("holds the weights as float32 initializers named and shaped as the engine keys them, nothing else", () => {
    const { graph } = decode(toOnnx(spec, weights));
    const initializer = graph.initializer as pkg.onnx.TensorProto[];
    const inits = initializer.map((t) => [t.name, t.dims.map(Number), t.dataType]);
    expect(inits).toEqual(
      Object.entries(weights).map(([k, t]) => [k, t.shape, onnx.TensorProto.DataType.FLOAT]),
    );
    const kernel = initializer.find((t) => t.name === "dense_3/kernel")!;
    const raw = kernel.rawData;
    const values = new Float32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength));
    expect([...values]).toEqual([...Float32Array.from(weights["dense_3/kernel"]!.data)]);
  });

  it("is byte-identical when exported twice", () => {
    const a = toOnnx(spec, weights);
    const b = toOnnx(spec, engineWeights(spec, 21));
    expect(Buffer.from(a).equals(Buffer.from(b))).toBe(true);
    expect(Buffer.from(a).equals(Buffer.from(toOnnx(spec, engineWeights(spec, 22))))).toBe(false);
  });

  it("loads in onnxruntime-node with input and output named, and runs batches of 1 and 7", async () => {
    const session = await ort.InferenceSession.create(toOnnx(spec, weights));
    expect([session.inputNames, session.outputNames]).toEqual([["input"], ["output"]]);
    await session.release();
    for (const n of [1, 7]) {
      const out = await runOnnx(toOnnx(spec, weights), samples([4, 4, 1], n, n), [n, 4, 4, 1]);
      expect(out.dims).toEqual([n, 3]);
    }
  });

  it("hand-computed: dense 2 → 1 with bias, relu, on [1, 2] and [−1, −2]", async () => {
    const tiny = model([2], [{ type: "dense", units: 1, activation: "relu" }]);
    const w = {
      "dense_0/kernel": { shape: [2, 1], data: Float64Array.from([0.5, 0.25]) },
      "dense_0/bias": { shape: [1], data: Float64Array.from([0.125]) },
    };
    const out = await runOnnx(toOnnx(tiny, w), Float64Array.from([1, 2, -1, -2]), [2, 2]);
    // 0.5·1 + 0.25·2 + 0.125 = 1.125; 0.5·(−1) + 0.25·(−2) + 0.125 = −0.875 → relu 0
    expect([...(out.data as Float32Array)]).toEqual([1.125, 0]);
  });

  it("counts a negative moving variance as 0, as the engine does", async () => {
    const bn = model([2], [{ type: "batchNormalization", epsilon: 0.25 }]);
    const w = {
      "batchNormalization_0/gamma": { shape: [2], data: Float64Array.from([1, 2]) },
      "batchNormalization_0/beta": { shape: [2], data: Float64Array.from([0, 1]) },
      "batchNormalization_0/moving_mean": { shape: [2], data: Float64Array.from([1, -1]) },
      "batchNormalization_0/moving_variance": { shape: [2], data: Float64Array.from([-3, 0.75]) },
    };
    const out = await runOnnx(toOnnx(bn, w), Float64Array.from([2, 1]), [1, 2]);
    // (2 − 1)/√(0 + 0.25) = 2; 2·(1 + 1)/√(0.75 + 0.25) + 1 = 5
    expect([...(out.data as Float32Array)]).toEqual([2, 5]);
  });
});

describe("toOnnx: what it refuses (422)", () => {
  const spec = model([3], [{ type: "dense", units: 2 }]);

  function refusal(fn: () => unknown): UnprocessableError {
    try {
      fn();
    } catch (e) {
      expect(e).toBeInstanceOf(UnprocessableError);
      return e as UnprocessableError;
    }
    throw new Error("expected a refusal");
  }

  it("names a missing weight and one of the wrong shape", () => {
    const w = engineWeights(spec, 1);
    const missing = refusal(() => toOnnx(spec, { "dense_0/kernel": w["dense_0/kernel"]! }));
    expect(missing.errors).toEqual([
      { path: 'weights["dense_0/bias"]', message: "the weight dense_0/bias is missing (layer dense_0)" },
    ]);
    const wrong = refusal(() =>
      toOnnx(spec, { ...w, "dense_0/bias": { shape: [3], data: new Float64Array(3) } }),
    );
    expect(wrong.errors?.[0]?.path).toBe('weights["dense_0/bias"]');
    expect(wrong.message).toContain("has shape [3], expected [2]");
  });

  it("names a layer kind it has no mapping for, and the format", () => {
    const odd = model([3], [{ type: "dense", units: 2 }, { type: "conv3d" } as unknown as LayerSpec]);
    const e = refusal(() => toOnnx(odd, {}));
    expect(e.errors).toEqual([
      {
        path: "model.layers[1]",
        message: "layer conv3d_1 (conv3d): the ONNX export has no mapping for this kind",
      },
    ]);
    expect(e.message).toBe("layer conv3d_1 (conv3d) cannot be exported to ONNX");
  });

  it("passes on the engine's refusal of a spec, at model…", () => {
    const bad = model([3], [{ type: "conv2d", filters: 2, kernelSize: 2 }]);
    const e = refusal(() => toOnnx(bad, {}));
    expect(e.errors?.[0]?.path).toBe("model.layers[0]");
  });
});
