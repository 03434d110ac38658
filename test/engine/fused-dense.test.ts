/**
 * The fused dense path of `train()` (`DenseNet`, docs/performance.md "Tiny networks") against the
 * model's own layers (`useFusedDense(false)`): random small dense models, both dtypes, several
 * losses, activations and optimisers, batches of 1 and more, with and without validation, loss
 * weights, metrics and early stopping must give the same result bit for bit (weights, history,
 * metrics, gradients, optimiser state). The fused path runs only where it can honour everything.
 * (fused-dense-forensics.test.ts: runs that diverge.)
 */
import fc from "fast-check";
import { afterEach, describe, expect, it, vi } from "vitest";
import {
  type ActivationName,
  type GradientOptimizerSpec,
  type LossSpec,
  type ModelSpec,
  type TrainOptions,
  train,
} from "../../src/engine/index.js";
import { Model } from "../../src/engine/model.js";
import { Rng } from "../../src/engine/rng.js";
import { DenseNet, useFusedDense } from "../../src/engine/training/dense-net.js";
import { bothPaths } from "./fused-dense-helpers.js";

afterEach(() => {
  useFusedDense(true);
  vi.restoreAllMocks();
});

/** The kinds of output and loss the models end in; `hidden` layers come before. */
const HEADS = [
  "meanSquaredError",
  "huber",
  "softmaxCrossentropy",
  "smoothedCrossentropy",
  "sparse",
  "logits",
  "binary",
  "sigmoidThenSoftmax",
  "softmaxMse",
] as const;
type Head = (typeof HEADS)[number];

/** The hidden activations: those with loops of their own, and two that `activate` runs (from the input). */
const HIDDEN: (ActivationName | undefined)[] = [
  undefined,
  "linear",
  "sigmoid",
  "tanh",
  "relu",
  "elu",
  "softplus",
];

function headLayers(head: Head, units: number): { layers: ModelSpec["layers"]; loss: LossSpec; k: number } {
  const dense = (u: number, activation?: ActivationName) =>
    ({ type: "dense", units: u, ...(activation ? { activation } : {}) }) as const;
  const classes = Math.max(2, units);
  switch (head) {
    case "meanSquaredError":
      return { layers: [dense(units, "tanh")], loss: "meanSquaredError", k: units };
    case "huber":
      return { layers: [dense(units)], loss: { type: "huber", delta: 0.5 }, k: units };
    case "softmaxCrossentropy":
      return { layers: [dense(classes, "softmax")], loss: "categoricalCrossentropy", k: classes };
    case "smoothedCrossentropy":
      return {
        layers: [dense(classes, "softmax")],
        loss: { type: "categoricalCrossentropy", labelSmoothing: 0.1 },
        k: classes,
      };
    case "sparse":
      return { layers: [dense(classes, "softmax")], loss: "sparseCategoricalCrossentropy", k: classes };
    case "logits":
      return {
        layers: [dense(classes)],
        loss: { type: "categoricalCrossentropy", fromLogits: true },
        k: classes,
      };
    case "binary":
      return { layers: [dense(units, "sigmoid")], loss: "binaryCrossentropy", k: units };
    case "sigmoidThenSoftmax":
      // The seed network's ending (docs/backprop.md §1.2): a softmax layer after a sigmoid one.
      return {
        layers: [dense(classes, "sigmoid"), { type: "activation", activation: "softmax" }],
        loss: "categoricalCrossentropy",
        k: classes,
      };
    case "softmaxMse":
      // A softmax the loss does not fuse: back-propagated through its Jacobian.
      return { layers: [dense(classes, "softmax")], loss: "meanSquaredError", k: classes };
  }
}

/** Targets of `n` samples for the head: values, one-hot rows, labels or bits. */
function targets(head: Head, n: number, k: number, rng: Rng): Float64Array {
  switch (head) {
    case "meanSquaredError":
    case "huber":
    case "softmaxMse":
      return Float64Array.from({ length: n * k }, () => rng.uniform(-1, 1));
    case "sparse":
      return Float64Array.from({ length: n }, () => rng.int(k));
    case "binary":
      return Float64Array.from({ length: n * k }, () => rng.int(2));
    default: {
      const y = new Float64Array(n * k);
      for (let r = 0; r < n; r++) y[r * k + rng.int(k)] = 1;
      return y;
    }
  }
}

const OPTIMIZERS: GradientOptimizerSpec[] = [
  { type: "sgd", learningRate: 0.1 },
  { type: "sgd", learningRate: 0.05, momentum: 0.9 },
  { type: "sgd", learningRate: 0.05, momentum: 0.9, nesterov: true },
  { type: "sgd", learningRate: 0.5, clipnorm: 0.3 },
  { type: "adam", learningRate: 0.02 },
  { type: "rmsprop", learningRate: 0.01 },
  { type: "adagrad", learningRate: 0.1 },
];

const runCase = fc.record({
  inputs: fc.integer({ min: 1, max: 4 }),
  hidden: fc.array(
    fc.record({
      units: fc.integer({ min: 1, max: 5 }),
      activation: fc.constantFrom(...HIDDEN),
      useBias: fc.boolean(),
      /** A stand-alone activation layer after the dense one. */
      after: fc.constantFrom(undefined, "sigmoid", "relu", "elu"),
    }),
    { maxLength: 2 },
  ),
  head: fc.constantFrom(...HEADS),
  outUnits: fc.integer({ min: 1, max: 3 }),
  n: fc.integer({ min: 2, max: 9 }),
  batchSize: fc.integer({ min: 1, max: 9 }),
  shuffle: fc.boolean(),
  validationSplit: fc.constantFrom(0, 0.3),
  dtype: fc.constantFrom("float64", "float32"),
  optimizer: fc.constantFrom(...OPTIMIZERS),
  epochs: fc.integer({ min: 1, max: 3 }),
  weighted: fc.boolean(),
  metrics: fc.boolean(),
  earlyStopping: fc.boolean(),
  dataSeed: fc.integer({ min: 0, max: 1e6 }),
});

type RunCase = typeof runCase extends fc.Arbitrary<infer T> ? T : never;

function optionsOf(c: RunCase): TrainOptions {
  const { layers: head, loss, k } = headLayers(c.head, c.outUnits);
  const layers: ModelSpec["layers"] = [];
  for (const h of c.hidden) {
    layers.push({
      type: "dense",
      units: h.units,
      useBias: h.useBias,
      ...(h.activation ? { activation: h.activation } : {}),
    });
    if (h.after) layers.push({ type: "activation", activation: h.after });
  }
  layers.push(...head);
  const model: ModelSpec = { inputShape: [c.inputs], layers, loss };
  const rng = new Rng(c.dataSeed);
  const x = Float64Array.from({ length: c.n * c.inputs }, () => rng.uniform(-2, 2));
  const y = targets(c.head, c.n, k, rng);
  const regression = c.head === "meanSquaredError" || c.head === "huber" || c.head === "softmaxMse";
  return {
    model,
    data: { n: c.n, x, y },
    optimizer: c.optimizer,
    epochs: c.epochs,
    batchSize: c.batchSize,
    shuffle: c.shuffle,
    seed: c.dataSeed,
    dtype: c.dtype,
    validationSplit: c.validationSplit,
    returnOptimizerState: true,
    ...(c.weighted ? { sampleWeight: Float64Array.from({ length: c.n }, (_, i) => (i % 3) * 0.75) } : {}),
    ...(c.metrics
      ? { metrics: regression ? ["meanAbsoluteError", "r2"] : ["accuracy", "precision", "auc"] }
      : {}),
    ...(c.earlyStopping ? { earlyStopping: { monitor: "loss", patience: 0, restoreBestWeights: true } } : {}),
  };
}

describe("the fused dense path gives the bits of the layers", () => {
  it("random small dense models, both dtypes, losses, activations, optimisers, batch sizes, options", () => {
    fc.assert(
      fc.property(runCase, (c) => {
        const opts = optionsOf(c);
        const { fused, layers } = bothPaths(opts);
        // Every number the result carries: weights, history, metrics, gradients, optimiser state, digest.
        expect(fused).toStrictEqual(layers);
      }),
      { numRuns: 150, seed: 17 },
    );
  });

  it("the seed network at batch 1 (the bench's tiny workload), both dtypes, over many epochs", () => {
    for (const dtype of ["float64", "float32"] as const) {
      const rng = new Rng(3);
      const n = 30;
      const x = Float64Array.from({ length: 2 * n }, () => rng.uniform(-1.5, 1.5));
      const y = new Float64Array(3 * n);
      for (let r = 0; r < n; r++) y[3 * r + (r % 3)] = 1;
      const { fused, layers } = bothPaths({
        model: {
          inputShape: [2],
          layers: [
            { type: "dense", units: 3, activation: "sigmoid" },
            { type: "dense", units: 3, activation: "sigmoid" },
            { type: "activation", activation: "softmax" },
          ],
          loss: "categoricalCrossentropy",
        },
        data: { n, x, y },
        optimizer: { type: "sgd", learningRate: 0.1 },
        epochs: 40,
        batchSize: 1,
        seed: 1,
        dtype,
      });
      expect(fused).toStrictEqual(layers);
      expect(fused.engineVersion.endsWith("+float32")).toBe(dtype === "float32");
      // Training went somewhere: the loss fell.
      expect(fused.history.loss[39]!).toBeLessThan(fused.history.loss[0]!);
    }
  });

  it("a product large enough for ./matmul.ts's kernels (batch 32, 20 → 30 → 4) and relu over 64 values", () => {
    const rng = new Rng(9);
    const n = 70;
    const { fused, layers } = bothPaths({
      model: {
        inputShape: [20],
        layers: [
          { type: "dense", units: 30, activation: "relu" },
          { type: "dense", units: 4, activation: "softmax" },
        ],
        loss: "categoricalCrossentropy",
      },
      data: {
        n,
        x: Float64Array.from({ length: 20 * n }, () => rng.uniform(-1, 1)),
        y: Float64Array.from({ length: 4 * n }, (_, i) => (i % 4 === (Math.floor(i / 4) * 7) % 4 ? 1 : 0)),
      },
      optimizer: { type: "adam", learningRate: 0.01 },
      epochs: 3,
      batchSize: 32,
      seed: 2,
      validationSplit: 0.2,
    });
    expect(fused).toStrictEqual(layers);
  });
});

describe("when the fused path runs", () => {
  const dense: ModelSpec = {
    inputShape: [2],
    layers: [
      { type: "dense", units: 2, activation: "relu" },
      { type: "dense", units: 1 },
    ],
    loss: "meanSquaredError",
  };

  it("models of dense and activation layers only, without regularisers or constraints", () => {
    expect(DenseNet.of(new Model(dense), 4)).toBeDefined();
    const other: ModelSpec[] = [
      {
        ...dense,
        layers: [
          { type: "dense", units: 2, kernelRegularizer: "l2" },
          { type: "dense", units: 1 },
        ],
      },
      {
        ...dense,
        layers: [
          { type: "dense", units: 2, kernelConstraint: { type: "nonNeg" } },
          { type: "dense", units: 1 },
        ],
      },
      {
        ...dense,
        layers: [
          { type: "dense", units: 2 },
          { type: "dropout", rate: 0.5 },
          { type: "dense", units: 1 },
        ],
      },
      { ...dense, layers: [{ type: "dense", units: 2 }, { type: "leakyReLU" }, { type: "dense", units: 1 }] },
    ];
    for (const spec of other)
      expect(DenseNet.of(new Model(spec), 4), JSON.stringify(spec.layers)).toBeUndefined();
    useFusedDense(false);
    expect(DenseNet.of(new Model(dense), 4)).toBeUndefined();
  });

  it("not with telemetry, which reads the layers' outputs; the result is the same", () => {
    const forward = vi.spyOn(DenseNet.prototype, "forward");
    const opts: TrainOptions = {
      model: dense,
      data: { n: 4, x: Float64Array.from([1, 2, 3, 4, 5, 6, 7, 8]), y: Float64Array.from([1, 0, 1, 0]) },
      optimizer: { type: "sgd", learningRate: 0.01 },
      epochs: 2,
      seed: 1,
    };
    const withTelemetry = train({ ...opts, telemetry: true });
    expect(forward).not.toHaveBeenCalled();
    const without = train(opts);
    expect(forward).toHaveBeenCalled();
    expect(withTelemetry.weightsSha256).toBe(without.weightsSha256);
    expect(withTelemetry.history).toStrictEqual(without.history);
  });
});
