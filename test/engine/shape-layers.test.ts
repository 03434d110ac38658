/**
 * The shape layers of docs/backprop.md §17 (globalAveragePooling2d, globalMaxPooling2d, reshape,
 * zeroPadding2d): hand-computed values, exact derivatives against central differences (float64),
 * and tfjs-layers' own layers.
 */
import * as tf from "@tensorflow/tfjs";
import { describe, expect, it } from "vitest";
import {
  computeGradients,
  describeModel,
  EngineError,
  initWeights,
  type ModelSpec,
  type NamedTensors,
} from "../../src/engine/index.js";
import { GlobalAveragePooling2d, GlobalMaxPooling2d } from "../../src/engine/layers/global-pooling.js";
import type { Layer } from "../../src/engine/layers/layer.js";
import { Reshape } from "../../src/engine/layers/reshape.js";
import { ZeroPadding2d } from "../../src/engine/layers/zero-padding.js";
import { Model } from "../../src/engine/model.js";
import { Rng } from "../../src/engine/rng.js";
import { expectGradientsMatch, inputGradientError, randomBatch } from "./helpers.js";
import { maxRelativeError } from "./tfjs-reference.js";
import { tfjsLayerPass, tfjsShapeReference } from "./tfjs-shape.js";

const f64 = (xs: number[]) => Float64Array.from(xs);
const pass = (layer: Layer, x: number[], dy: number[], batch = 1) => {
  const y = [...layer.forward(f64(x), batch)];
  return { y, dx: [...layer.backward(f64(dy), batch)] };
};

describe("values (hand-computed)", () => {
  it("globalAveragePooling2d: the mean of each channel, the gradient spread evenly", () => {
    // [1, 2, 2, 2]: channel 0 holds 1, 2, 3, 4, channel 1 ten times that.
    const layer = new GlobalAveragePooling2d("g", [2, 2, 2]);
    expect(layer.outputShape).toEqual([2]);
    const { y, dx } = pass(layer, [1, 10, 2, 20, 3, 30, 4, 40], [4, 8]);
    expect(y).toEqual([2.5, 25]);
    expect(dx).toEqual([1, 2, 1, 2, 1, 2, 1, 2]);
    // Two samples: each its own mean.
    expect(pass(layer, [1, 10, 2, 20, 3, 30, 4, 40, 0, 0, 0, 0, 0, 0, 8, -4], [0, 0, 0, 0], 2).y).toEqual([
      2.5, 25, 2, -1,
    ]);
  });

  it("globalMaxPooling2d: the maximum of each channel, the gradient to the first maximum", () => {
    // Channel 0: 3, 5, 5, 1 (a tie: the first 5 wins); channel 1: −1, −2, −3, −4 (a max of
    // negatives stays negative).
    const layer = new GlobalMaxPooling2d("g", [2, 2, 2]);
    const { y, dx } = pass(layer, [3, -1, 5, -2, 5, -3, 1, -4], [2, 3]);
    expect(y).toEqual([5, -1]);
    expect(dx).toEqual([0, 3, 2, 0, 0, 0, 0, 0]);
    // A NaN wins, so divergence propagates.
    expect(Number.isNaN(pass(layer, [3, 1, Number.NaN, 2, 5, 3, 1, 4], [1, 1]).y[0])).toBe(true);
  });

  it("reshape: the same data, -1 resolved", () => {
    const s = describeModel({
      inputShape: [4, 4],
      layers: [{ type: "reshape", targetShape: [2, -1, 2] }, { type: "flatten" }],
      loss: "meanSquaredError",
    });
    expect(s.layers[0]!.outputShape).toEqual([2, 4, 2]);
    const layer = new Reshape("r", [4, 4], [2, 4, 2]);
    const x = f64([1, 2, 3]);
    expect(layer.forward(x)).toBe(x);
    expect(layer.backward(x)).toBe(x);
  });

  it("zeroPadding2d: zeros around, the gradient cropped", () => {
    // [2, 2, 1] padded by one row above and two columns right: [3, 4, 1].
    const layer = new ZeroPadding2d(
      "z",
      [2, 2, 1],
      [
        [1, 0],
        [0, 2],
      ],
    );
    expect(layer.outputShape).toEqual([3, 4, 1]);
    const dy = Array.from({ length: 12 }, (_, i) => i + 1);
    const { y, dx } = pass(layer, [1, 2, 3, 4], dy);
    expect(y).toEqual([0, 0, 0, 0, 1, 2, 0, 0, 3, 4, 0, 0]);
    expect(dx).toEqual([5, 6, 9, 10]);
    // Two channels, one on each side: the channels stay interleaved.
    const two = new ZeroPadding2d(
      "z",
      [1, 1, 2],
      [
        [1, 1],
        [1, 1],
      ],
    );
    const out = pass(
      two,
      [7, 8],
      Array.from({ length: 18 }, (_, i) => i),
    );
    expect(out.y).toEqual([0, 0, 0, 0, 0, 0, 0, 0, 7, 8, 0, 0, 0, 0, 0, 0, 0, 0]);
    expect(out.dx).toEqual([8, 9]);
  });

  it("zeroPadding2d's three forms of padding and its default", () => {
    const shapeWith = (padding?: number | [number, number] | [[number, number], [number, number]]) =>
      describeModel({
        inputShape: [3, 5, 2],
        layers: [{ type: "zeroPadding2d", ...(padding === undefined ? {} : { padding }) }],
        loss: "meanSquaredError",
      }).outputShape;
    expect(shapeWith()).toEqual([5, 7, 2]);
    expect(shapeWith(0)).toEqual([3, 5, 2]);
    expect(shapeWith(2)).toEqual([7, 9, 2]);
    expect(shapeWith([1, 3])).toEqual([5, 11, 2]);
    expect(
      shapeWith([
        [0, 2],
        [1, 0],
      ]),
    ).toEqual([5, 6, 2]);
  });

  it("global pooling equals the window pooling of the whole input and a flatten, bit for bit", () => {
    for (const [global, window] of [
      ["globalAveragePooling2d", "averagePooling2d"],
      ["globalMaxPooling2d", "maxPooling2d"],
    ] as const) {
      const head = { type: "conv2d", filters: 3, kernelSize: 2, activation: "tanh" } as const;
      const a: ModelSpec = {
        inputShape: [5, 4, 2],
        layers: [head, { type: global, name: "p" }, { type: "dense", units: 2, name: "d" }],
        loss: "meanSquaredError",
      };
      const b: ModelSpec = {
        ...a,
        layers: [head, { type: window, poolSize: [4, 3], name: "p" }, { type: "flatten" }, a.layers[2]!],
      };
      const batch = randomBatch(a, 3, 2, 4);
      const ra = computeGradients({ model: a, seed: 2, data: batch });
      const rb = computeGradients({ model: b, seed: 2, data: batch });
      expect(ra.loss).toBe(rb.loss);
      expect(ra.output.data).toEqual(rb.output.data);
      expect(ra.gradients).toEqual(rb.gradients);
    }
  });
});

describe("buffers and cost per sample (MAX_BATCH_BYTES and the work budget)", () => {
  it("counts each layer's own buffers and work", () => {
    const gap = new GlobalAveragePooling2d("a", [6, 5, 3]);
    expect(gap.sampleValues).toEqual({ forward: 3, backward: 90 });
    expect(gap.forwardCost).toBe(90);
    const gmp = new GlobalMaxPooling2d("m", [6, 5, 3]);
    expect(gmp.sampleValues).toEqual({ forward: 6, backward: 90 });
    expect(gmp.forwardCost).toBe(90);
    const pad = new ZeroPadding2d(
      "z",
      [6, 5, 3],
      [
        [1, 1],
        [2, 2],
      ],
    );
    expect(pad.sampleValues).toEqual({ forward: 8 * 9 * 3, backward: 90 });
    expect(pad.forwardCost).toBe(8 * 9 * 3);
    const reshape = new Reshape("r", [6, 5, 3], [90]);
    expect(reshape.sampleValues).toEqual({ forward: 0, backward: 0 });
    expect(reshape.forwardCost).toBe(0);
  });

  it("the model sums them as for every layer", () => {
    const s = describeModel({
      inputShape: [6, 5, 1],
      layers: [
        { type: "conv2d", filters: 3, kernelSize: 1 },
        { type: "zeroPadding2d", padding: [1, 2] },
        { type: "globalMaxPooling2d" },
        { type: "reshape", targetShape: [3] },
        { type: "dense", units: 2 },
      ],
      loss: "meanSquaredError",
    });
    // Forward: the input 30, the conv output 90, the padded 8·9·3, the max and its argmax 3 + 3,
    // reshape none, the dense output 2.
    const forward = 30 + 90 + 216 + 6 + 2;
    expect(s.sampleValues.forward).toBe(forward);
    // Training: the targets and the loss gradient 2 + 2, then ∂L/∂X of dense 3, reshape 0,
    // global max 216, padding 90 (the conv layer is the first with parameters: none).
    expect(s.sampleValues.training).toBe(forward + 4 + 3 + 216 + 90);
    // Work: the conv layer's 30·1·(3 + 1) + 30·3 and the dense layer's 3·2 + 2 around the
    // padding's 216 writes, the maximum's 216 comparisons and reshape's nothing.
    expect(s.forwardCost).toBe(30 * 4 + 30 * 3 + 216 + 216 + 0 + (3 * 2 + 2));
  });
});

describe("errors name the field", () => {
  const fails = (spec: ModelSpec) => {
    try {
      describeModel(spec);
    } catch (e) {
      expect(e).toBeInstanceOf(EngineError);
      return e as EngineError;
    }
    throw new Error("expected an EngineError");
  };
  const reshape = (targetShape: number[], inputShape = [4, 4]): ModelSpec => ({
    inputShape,
    layers: [{ type: "reshape", targetShape }, { type: "flatten" }],
    loss: "meanSquaredError",
  });

  it("a targetShape whose size differs from the input's", () => {
    const e = fails(reshape([3, 5]));
    expect(e.path).toEqual(["layers", 0, "targetShape"]);
    expect(e.message).toBe(
      "layer reshape_0 (reshape): targetShape [3, 5] does not fit the input [4, 4]: it has 15 elements per sample, the input 16",
    );
    const minus = fails(reshape([3, -1]));
    expect(minus.path).toEqual(["layers", 0, "targetShape"]);
    expect(minus.message).toContain("not a multiple of 3");
    expect(fails(reshape([-1, -1])).message).toContain("only one entry may be -1");
    expect(fails(reshape([0, 16])).message).toContain("entry 0 must be -1 or a positive integer");
    expect(fails(reshape([])).path).toEqual(["layers", 0, "targetShape"]);
  });

  it("a 2-D layer on an input that is not [height, width, channels]", () => {
    for (const type of ["globalAveragePooling2d", "globalMaxPooling2d", "zeroPadding2d"] as const) {
      const e = fails({ inputShape: [4, 4], layers: [{ type }], loss: "meanSquaredError" });
      expect(e.path).toEqual(["layers", 0]);
      expect(e.message).toBe(`layer ${type}_0: ${type} needs [height, width, channels] input, got [4, 4]`);
    }
  });

  it("a padding or dataFormat that is not valid", () => {
    const pad = (padding: unknown) =>
      fails({
        inputShape: [2, 2, 1],
        layers: [{ type: "zeroPadding2d", padding } as never],
        loss: "meanSquaredError",
      });
    for (const p of [-1, 1.5, [1], [1, -2], [[1, 1], [1]], "1"]) {
      const e = pad(p);
      expect(e.path).toEqual(["layers", 0, "padding"]);
      expect(e.message).toContain("non-negative integer");
    }
    const e = fails({
      inputShape: [2, 2, 1],
      layers: [{ type: "globalAveragePooling2d", dataFormat: "channelsFirst" } as never],
      loss: "meanSquaredError",
    });
    expect(e.path).toEqual(["layers", 0, "dataFormat"]);
  });
});

// Each model puts a conv2d (parameters) before the layer under test, so the numerical check,
// which perturbs the parameters, also checks that layer's ∂L/∂X.
const models: { name: string; spec: ModelSpec }[] = [
  {
    name: "conv2d → globalAveragePooling2d → dense",
    spec: {
      inputShape: [5, 4, 2],
      layers: [
        { type: "conv2d", filters: 3, kernelSize: 2, activation: "tanh" },
        { type: "globalAveragePooling2d" },
        { type: "dense", units: 2 },
      ],
      loss: "meanSquaredError",
    },
  },
  {
    name: "conv2d → globalMaxPooling2d → dense",
    spec: {
      inputShape: [5, 4, 2],
      layers: [
        { type: "conv2d", filters: 3, kernelSize: 2, padding: "same", activation: "sigmoid" },
        { type: "globalMaxPooling2d" },
        { type: "dense", units: 2 },
      ],
      loss: "meanSquaredError",
    },
  },
  {
    name: "conv2d → zeroPadding2d [[1, 2], [0, 1]] → conv2d → flatten → dense",
    spec: {
      inputShape: [4, 3, 2],
      layers: [
        { type: "conv2d", filters: 2, kernelSize: 2, activation: "tanh" },
        {
          type: "zeroPadding2d",
          padding: [
            [1, 2],
            [0, 1],
          ],
        },
        { type: "conv2d", filters: 2, kernelSize: 3 },
        { type: "flatten" },
        { type: "dense", units: 2 },
      ],
      loss: "meanSquaredError",
    },
  },
  {
    name: "conv2d → zeroPadding2d (default) → globalMaxPooling2d → dense",
    spec: {
      inputShape: [3, 3, 1],
      layers: [
        { type: "conv2d", filters: 2, kernelSize: 2, activation: "tanh" },
        { type: "zeroPadding2d" },
        { type: "globalMaxPooling2d" },
        { type: "dense", units: 2 },
      ],
      loss: "meanSquaredError",
    },
  },
  {
    name: "conv2d → reshape [4, 8, 1] → conv2d → reshape [-1] → dense",
    spec: {
      inputShape: [4, 4, 1],
      layers: [
        { type: "conv2d", filters: 2, kernelSize: 1, activation: "tanh" },
        { type: "reshape", targetShape: [4, 8, 1] },
        { type: "conv2d", filters: 2, kernelSize: 2, strides: [1, 2] },
        { type: "reshape", targetShape: [-1] },
        { type: "dense", units: 2 },
      ],
      loss: "meanSquaredError",
    },
  },
  {
    name: "reshape [16] → [4, 4, 1] first → conv2d → globalAveragePooling2d → dense",
    spec: {
      inputShape: [16],
      layers: [
        { type: "reshape", targetShape: [4, -1, 1] },
        { type: "conv2d", filters: 3, kernelSize: 3, activation: "relu" },
        { type: "globalAveragePooling2d" },
        { type: "dense", units: 2 },
      ],
      loss: "meanSquaredError",
    },
  },
];

/** Every weight times `factor`: larger pre-activations, so the pooled maxima are far apart. */
function scaled(weights: NamedTensors, factor: number): NamedTensors {
  return Object.fromEntries(
    Object.entries(weights).map(([k, t]) => [k, { shape: t.shape, data: t.data.map((v) => v * factor) }]),
  );
}

describe("exact derivatives (central differences, float64, relative error < 1e-7)", () => {
  const layers: { name: string; layer: () => Layer; shape: number[] }[] = [
    {
      name: "globalAveragePooling2d",
      layer: () => new GlobalAveragePooling2d("g", [3, 4, 2]),
      shape: [3, 4, 2],
    },
    { name: "globalMaxPooling2d", layer: () => new GlobalMaxPooling2d("g", [3, 4, 2]), shape: [3, 4, 2] },
    {
      name: "zeroPadding2d",
      layer: () =>
        new ZeroPadding2d(
          "z",
          [3, 2, 2],
          [
            [2, 1],
            [0, 3],
          ],
        ),
      shape: [3, 2, 2],
    },
    { name: "reshape", layer: () => new Reshape("r", [3, 4, 2], [4, 6]), shape: [3, 4, 2] },
  ];
  it.each(layers)("$name layer: the input gradient", ({ layer, shape }) => {
    const rng = new Rng(7);
    const size = shape.reduce((a, b) => a * b, 1);
    // Uniform draws: ties (the kinks of the maximum) have probability 0.
    const x = Float64Array.from({ length: 3 * size }, () => rng.uniform(-2, 2));
    expect(inputGradientError(layer(), x, 3, rng)).toBeLessThan(1e-7);
  });

  it.each(models)("$name: every parameter (expectGradientsMatch)", ({ spec }) => {
    const weights = scaled(initWeights(spec, 5), 2);
    const out = describeModel(spec).outputSize;
    expectGradientsMatch(spec, randomBatch(spec, 3, out, 11), { weights, tolerance: 1e-7 });
  });
});

describe("equal to tfjs-layers' own layers (cpu, float32; relative error < 1e-4)", () => {
  it.each(models)("$name: output, loss and every gradient", async ({ spec }) => {
    const out = describeModel(spec).outputSize;
    const batch = randomBatch(spec, 3, out, 12);
    const ours = computeGradients({ model: spec, seed: 9, data: batch });
    const ref = await tfjsShapeReference(spec, ours.weights, batch.x, batch.y, batch.n);
    expect(Math.abs(ours.loss - ref.loss) / Math.max(Math.abs(ref.loss), 1e-3)).toBeLessThan(1e-4);
    expect(maxRelativeError(ours.output.data, ref.output)).toBeLessThan(1e-4);
    expect(Object.keys(ours.gradients).sort()).toEqual(Object.keys(ref.gradients).sort());
    for (const [key, grad] of Object.entries(ours.gradients))
      expect(maxRelativeError(grad.data, ref.gradients[key]!), key).toBeLessThan(1e-4);
  });

  const single: { name: string; ours: Layer; theirs: () => tf.layers.Layer; shape: number[] }[] = [
    {
      name: "globalAveragePooling2d",
      ours: new GlobalAveragePooling2d("g", [3, 4, 2]),
      theirs: () => tf.layers.globalAveragePooling2d({}),
      shape: [3, 4, 2],
    },
    {
      name: "globalMaxPooling2d",
      ours: new GlobalMaxPooling2d("g", [3, 4, 2]),
      theirs: () => tf.layers.globalMaxPooling2d({}),
      shape: [3, 4, 2],
    },
    {
      name: "zeroPadding2d [[2, 1], [0, 3]]",
      ours: new ZeroPadding2d(
        "z",
        [3, 4, 2],
        [
          [2, 1],
          [0, 3],
        ],
      ),
      theirs: () =>
        tf.layers.zeroPadding2d({
          padding: [
            [2, 1],
            [0, 3],
          ],
        }),
      shape: [3, 4, 2],
    },
    {
      name: "zeroPadding2d [1, 2]",
      ours: new ZeroPadding2d(
        "z",
        [3, 4, 2],
        [
          [1, 1],
          [2, 2],
        ],
      ),
      theirs: () => tf.layers.zeroPadding2d({ padding: [1, 2] }),
      shape: [3, 4, 2],
    },
    {
      name: "reshape [-1, 3]",
      ours: new Reshape("r", [3, 4, 2], [8, 3]),
      theirs: () => tf.layers.reshape({ targetShape: [-1, 3] }),
      shape: [3, 4, 2],
    },
  ];
  it.each(single)("$name alone: output and input gradient", async ({ ours, theirs, shape }) => {
    const rng = new Rng(13);
    const n = 2;
    const x = Float64Array.from({ length: n * shape.reduce((a, b) => a * b, 1) }, () => rng.uniform(-3, 3));
    const y = Float64Array.from(ours.forward(x, n));
    const dy = Float64Array.from(y, () => rng.uniform(-1, 1));
    const dx = Float64Array.from(ours.backward(dy, n));
    const ref = await tfjsLayerPass(theirs(), x, shape, n, dy);
    expect(maxRelativeError(y, ref.output)).toBeLessThan(1e-6);
    expect(maxRelativeError(dx, ref.dx)).toBeLessThan(1e-6);
  });

  it("on ties tfjs' max gradient goes to every maximum; ours to the first, as maxPooling2d", async () => {
    // Documents the one difference: tfjs' gradient of max is dy·[x = max] (each tied cell gets
    // all of it); TensorFlow's MaxPoolGrad and this layer give it to the first.
    const x = f64([1, 1, 0, 1]);
    const ref = await tfjsLayerPass(tf.layers.globalMaxPooling2d({}), x, [2, 2, 1], 1, f64([1]));
    expect([...ref.dx]).toEqual([1, 1, 0, 1]);
    expect(pass(new GlobalMaxPooling2d("g", [2, 2, 1]), [...x], [1]).dx).toEqual([1, 0, 0, 0]);
  });
});

describe("a model with them trains", () => {
  it("conv2d → zeroPadding2d → globalMaxPooling2d → dense lowers the loss", () => {
    const spec: ModelSpec = {
      inputShape: [4, 4, 1],
      layers: [
        { type: "conv2d", filters: 4, kernelSize: 2, activation: "relu" },
        { type: "zeroPadding2d", padding: 1 },
        { type: "globalMaxPooling2d" },
        { type: "dense", units: 1 },
      ],
      loss: "meanSquaredError",
    };
    const model = new Model(spec);
    model.initialise(3);
    const batch = randomBatch(spec, 8, 1, 4);
    const step = () => {
      model.zeroGrads();
      model.forward(batch.x, 8);
      const loss = model.loss(batch.y, 8, true, 1 / 8);
      for (const p of model.params())
        for (let i = 0; i < p.value.length; i++) p.value[i]! -= 0.1 * p.grad[i]!;
      return loss;
    };
    const first = step();
    let last = first;
    for (let k = 0; k < 50; k++) last = step();
    expect(last).toBeLessThan(0.7 * first);
  });
});
