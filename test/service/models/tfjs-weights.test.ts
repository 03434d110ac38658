/**
 * `tfjsWeightsToTensors` when the manifest's names are not the engine's: weights are placed by
 * layer order, in tfjs' order and in Keras' (layer by layer), and a misnamed entry is the one the
 * error names, with the name expected there.
 */
import { describe, expect, it } from "vitest";
import type { ModelSpec } from "../../../src/engine/index.js";
import { UnprocessableError } from "../../../src/service/errors.js";
import { tfjsWeightsToTensors } from "../../../src/service/models/formats/keras-import.js";
import { toTfjs } from "../../../src/service/models/formats/tfjs.js";
import { someWeights } from "./tfjs-models.js";

const spec: ModelSpec = {
  inputShape: [3],
  layers: [{ type: "dense", units: 2 }, { type: "batchNormalization" }, { type: "dense", units: 1 }],
  loss: "meanSquaredError",
};
const { modelJson, weightsBin } = toTfjs(spec, someWeights(spec, 2));
const byName = tfjsWeightsToTensors(spec, modelJson.weightsManifest, weightsBin, ["weightsManifest"]);

/** The manifest with tfjs' unique names (`dense_Dense1/kernel`), `rename` applied to entry k's. */
function tfjsNamed(rename: (name: string, k: number) => string = (n) => n) {
  return modelJson.weightsManifest.map((g) => ({
    ...g,
    weights: g.weights.map((w, k) => ({
      ...w,
      name: rename(
        w.name
          .replace("dense_0/", "dense_Dense1/")
          .replace("dense_2/", "dense_Dense2/")
          .replace("batchNormalization_1/", "batch_normalization_BatchNormalization1/"),
        k,
      ),
    })),
  }));
}

/** The field errors of the 422 `f` throws. */
function refusal(f: () => unknown): { path: string; message: string }[] {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(UnprocessableError);
    return (e as UnprocessableError).errors ?? [];
  }
  throw new Error("expected an error");
}

describe("weights named otherwise, placed by layer order", () => {
  it("tfjs' names in tfjs' order (trainable weights, then the moving statistics)", () => {
    expect(modelJson.weightsManifest[0]!.weights.map((w) => w.name)).toEqual([
      "dense_0/kernel",
      "dense_0/bias",
      "batchNormalization_1/gamma",
      "batchNormalization_1/beta",
      "dense_2/kernel",
      "dense_2/bias",
      "batchNormalization_1/moving_mean",
      "batchNormalization_1/moving_variance",
    ]);
    const read = tfjsWeightsToTensors(spec, tfjsNamed(), weightsBin, ["weightsManifest"]);
    expect(read).toEqual(byName);
  });

  it("Keras' order, layer by layer, with Keras' names", () => {
    // The same weights reordered as Python Keras lists model.weights, over a binary in that order.
    const order = [0, 1, 2, 3, 6, 7, 4, 5];
    const names = [
      "dense",
      "dense",
      "batch_normalization",
      "batch_normalization",
      "batch_normalization",
      "batch_normalization",
      "dense_1",
      "dense_1",
    ];
    const entries = modelJson.weightsManifest[0]!.weights;
    const weights = order.map((k, i) => ({
      ...entries[k]!,
      name: `${names[i]}/${entries[k]!.name.split("/")[1]}`,
    }));
    const offsets = entries.map((_, k) =>
      entries.slice(0, k).reduce((a, w) => a + 4 * w.shape.reduce((x, y) => x * y, 1), 0),
    );
    const bin = new Uint8Array(weightsBin.length);
    let at = 0;
    for (const k of order) {
      const n = 4 * entries[k]!.shape.reduce((x, y) => x * y, 1);
      bin.set(weightsBin.subarray(offsets[k]!, offsets[k]! + n), at);
      at += n;
    }
    const read = tfjsWeightsToTensors(spec, [{ paths: ["weights.bin"], weights }], bin, ["weightsManifest"]);
    expect(read).toEqual(byName);
  });

  it.each([
    [0, "foo/kernel", "dense_0's kernel", "dense_Dense1/kernel", "dense_0/kernel"],
    [1, "foo/bias", "dense_0's bias", "dense_Dense1/bias", "dense_0/bias"],
    [0, "dense_Dense1/kernal", "dense_0's kernel", "dense_Dense1/kernel", "dense_0/kernel"],
    [5, "dense_Dense1/bias", "dense_2's bias", "dense_Dense2/bias", "dense_2/bias"],
    [
      7,
      "foo/moving_variance",
      "batchNormalization_1's moving_variance",
      "batch_normalization_BatchNormalization1/moving_variance",
      "batchNormalization_1/moving_variance",
    ],
  ])("entry %i renamed to %s is the entry named", (k, name, what, want, key) => {
    const manifest = tfjsNamed((n, i) => (i === k ? name : n));
    expect(refusal(() => tfjsWeightsToTensors(spec, manifest, weightsBin, ["weightsManifest"]))).toEqual([
      {
        path: `weightsManifest[0].weights[${k}].name`,
        message: `weight "${name}" is not named as the model's weight at its place: by layer order it is layer ${what}, expected "${want}" (as the manifest names that layer's other weights) or "${key}"`,
      },
    ]);
  });

  it("a manifest lacking a weight still says which", () => {
    const manifest = tfjsNamed().map((g) => ({ ...g, weights: g.weights.slice(0, 7) }));
    const bin = weightsBin.subarray(0, weightsBin.length - 8);
    expect(refusal(() => tfjsWeightsToTensors(spec, manifest, bin, ["weightsManifest"]))).toEqual([
      {
        path: "weightsManifest",
        message: 'the manifest lacks the weights "batchNormalization_1/moving_variance" [2]',
      },
    ]);
  });
});
