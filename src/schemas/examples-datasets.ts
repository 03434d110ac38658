/**
 * The request bodies of POST /datasets (JSON) in Swagger UI's "Examples" menu: class labels, and
 * padded token sequences with a label per step for a tagger (the contract test stores each).
 */

/** XOR's four samples, one class label each, with the classes' names. */
export const storeXorExample = {
  name: "xor",
  x: [
    [0, 0],
    [0, 1],
    [1, 0],
    [1, 1],
  ],
  y: [0, 1, 1, 0],
  classes: ["same", "different"],
} as const;

/**
 * Six sentences of token ids padded with 0 to 10 steps, and a label per step (one of 3 tags; the
 * padding's label is never read behind a `maskZero` embedding): `targetShape` [10]. Train on it
 * by id with `taggerModelExample`.
 */
export const storeTaggedSequencesExample = {
  name: "tagged sentences",
  x: [
    [3, 5, 1, 7, 0, 0, 0, 0, 0, 0],
    [2, 6, 6, 1, 4, 0, 0, 0, 0, 0],
    [7, 1, 0, 0, 0, 0, 0, 0, 0, 0],
    [4, 4, 2, 5, 3, 6, 1, 0, 0, 0],
    [1, 3, 5, 7, 2, 4, 6, 1, 3, 5],
    [6, 2, 7, 0, 0, 0, 0, 0, 0, 0],
  ],
  y: [
    [0, 2, 1, 2, 0, 0, 0, 0, 0, 0],
    [0, 1, 1, 1, 0, 0, 0, 0, 0, 0],
    [2, 1, 0, 0, 0, 0, 0, 0, 0, 0],
    [0, 0, 0, 2, 1, 1, 1, 0, 0, 0],
    [1, 1, 2, 2, 0, 0, 1, 1, 1, 2],
    [1, 0, 2, 0, 0, 0, 0, 0, 0, 0],
  ],
  inputShape: [10],
} as const;

/**
 * A padded tagger for `storeTaggedSequencesExample` (send its id as `dataset.id`):
 * embedding(maskZero) → lstm(returnSequences) → timeDistributed dense(3, softmax), one sparse label
 * per real step (docs/backprop.md §21.6).
 */
export const taggerModelExample = {
  inputShape: [10],
  layers: [
    { type: "embedding", inputDim: 8, outputDim: 4, maskZero: true },
    { type: "lstm", units: 8, returnSequences: true },
    { type: "timeDistributed", layer: { type: "dense", units: 3, activation: "softmax" } },
  ],
  loss: "sparseCategoricalCrossentropy",
} as const;
