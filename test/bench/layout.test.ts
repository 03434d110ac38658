/**
 * bench/layout.ts: our Keras-layout weights and data rearranged for PyTorch, on hand-written
 * examples, and a flattened dense layer giving the same outputs from either side's flatten.
 */
import { describe, expect, it } from "vitest";
import {
  convToTorch,
  denseToTorch,
  flattenedDenseToTorch,
  nhwcToNchw,
  torchModel,
} from "../../bench/layout.js";
import type { ModelSpec } from "../../src/engine/index.js";
import { Model } from "../../src/engine/model.js";

const f64 = (...v: number[]) => Float64Array.from(v);

describe("bench layout for PyTorch", () => {
  it("transposes a dense kernel [in 2, out 3] into Linear.weight [out 3, in 2]", () => {
    // ours: rows are inputs [[1, 2, 3], [4, 5, 6]]; PyTorch: rows are outputs.
    expect(Array.from(denseToTorch(f64(1, 2, 3, 4, 5, 6), 2, 3))).toEqual([1, 4, 2, 5, 3, 6]);
    expect(() => denseToTorch(f64(1, 2, 3), 2, 3)).toThrow(/dense kernel/);
  });

  it("moves a conv kernel from HWIO [1, 2, 2, 3] to OIHW [3, 2, 1, 2]", () => {
    // each value encodes its place: 1000·x + 100·i + o (kh = 1, so y = 0)
    const k = new Float64Array(12);
    for (let x = 0; x < 2; x++)
      for (let i = 0; i < 2; i++) for (let o = 0; o < 3; o++) k[(x * 2 + i) * 3 + o] = 1000 * x + 100 * i + o;
    // OIHW order: o, then i, then y (one), then x.
    expect(Array.from(convToTorch(k, [1, 2, 2, 3]))).toEqual([
      0, 1000, 100, 1100, 1, 1001, 101, 1101, 2, 1002, 102, 1102,
    ]);
  });

  it("moves samples from NHWC [1, 2, 3, 2] to NCHW [1, 2, 2, 3]", () => {
    // channel 0 holds 1…6 along the rows, channel 1 holds −1…−6
    const x = f64(1, -1, 2, -2, 3, -3, 4, -4, 5, -5, 6, -6);
    expect(Array.from(nhwcToNchw(x, [1, 2, 3, 2]))).toEqual([1, 2, 3, 4, 5, 6, -1, -2, -3, -4, -5, -6]);
  });

  it("permutes a dense kernel after a flatten so both flattens give the same outputs", () => {
    const [h, w, c, out] = [2, 3, 2, 3];
    const size = h * w * c;
    const kernel = Float64Array.from({ length: size * out }, (_, i) => Math.sin(i + 1));
    const nhwc = Float64Array.from({ length: size }, (_, i) => Math.cos(3 * i));
    const nchw = nhwcToNchw(nhwc, [1, h, w, c]);
    const t = flattenedDenseToTorch(kernel, [h, w, c], out);
    for (let o = 0; o < out; o++) {
      let ours = 0;
      let theirs = 0;
      for (let i = 0; i < size; i++) {
        ours += nhwc[i]! * kernel[i * out + o]!;
        theirs += nchw[i]! * t[o * size + i]!;
      }
      expect(theirs).toBeCloseTo(ours, 14);
    }
    // the first input of PyTorch's order (channel 0, row 0, column 0) is ours too; its second
    // (channel 0, row 0, column 1) is our third row ((0, 1, 0) = 1·c + 0)
    expect(t[0]).toBe(kernel[0]);
    expect(t[1]).toBe(kernel[c * out]);
  });

  it("describes the CNN and its weights in PyTorch's terms, softmax left to the loss", () => {
    const spec: ModelSpec = {
      inputShape: [6, 6, 1],
      layers: [
        { type: "conv2d", filters: 2, kernelSize: 3, activation: "relu" },
        { type: "maxPooling2d", poolSize: 2 },
        { type: "flatten" },
        { type: "dense", units: 3, activation: "softmax" },
      ],
      loss: "categoricalCrossentropy",
    };
    const model = new Model(spec);
    model.initialise(1);
    const params = model
      .params()
      .map((p) => ({ key: p.key, shape: p.shape, data: Float64Array.from(p.value) }));
    const { layers, tensors } = torchModel(spec, params);
    expect(layers).toEqual([
      { type: "conv", cin: 1, cout: 2, k: 3 },
      { type: "relu" },
      { type: "maxpool", k: 2 },
      { type: "flatten" },
      { type: "linear", in: 8, out: 3 },
    ]);
    expect(tensors.map((t) => [t.key, t.shape])).toEqual([
      ["conv2d_0/kernel", [2, 1, 3, 3]],
      ["conv2d_0/bias", [2]],
      ["dense_3/kernel", [3, 8]],
      ["dense_3/bias", [3]],
    ]);
    expect(Array.from(tensors[2]!.data)).toEqual(
      Array.from(flattenedDenseToTorch(params[2]!.data, [2, 2, 2], 3)),
    );
    expect(() => torchModel({ ...spec, loss: "meanSquaredError" }, params)).toThrow(/loss/);
  });
});
