/**
 * The time-step mask of an embedding with `maskZero` read by a recurrent layer, exported to
 * TensorFlow.js (docs/backprop.md §21.1, §22.6): the export keeps `mask_zero: true`, tfjs-layers'
 * LSTM and GRU honour it, and tfjs predicts what the engine does on padded ids; a layer tfjs would
 * throw on when given the mask is a 422 naming it.
 */
import { describe, expect, it } from "vitest";
import { type ModelSpec, predict } from "../../../src/engine/index.js";
import { UnprocessableError } from "../../../src/service/errors.js";
import { kerasToSpec, tfjsWeightsToTensors } from "../../../src/service/models/formats/keras-import.js";
import { lossOfModelJson, toTfjs } from "../../../src/service/models/formats/tfjs.js";
import { maxRelativeError } from "../../engine/tfjs-reference.js";
import { loadInTfjs, someWeights, tfjsPredict } from "./tfjs-models.js";

const TEXT = (recurrent: ModelSpec["layers"]): ModelSpec => ({
  inputShape: [8],
  layers: [
    { type: "embedding", inputDim: 7, outputDim: 3, maskZero: true, name: "e" },
    ...recurrent,
    { type: "dense", units: 2, activation: "tanh", name: "d" },
  ],
  loss: "meanSquaredError",
});

/** Ids with padding after, before, inside, and a sample of padding only. */
const IDS = Float64Array.from(
  [
    [4, 2, 6, 0, 0, 0, 0, 0],
    [0, 0, 0, 0, 5, 1, 3, 2],
    [1, 0, 2, 0, 3, 0, 4, 0],
    [0, 0, 0, 0, 0, 0, 0, 0],
    [6, 5, 4, 3, 2, 1, 1, 2],
  ].flat(),
);

describe("embedding(maskZero) → recurrent exported to TensorFlow.js", () => {
  it.each([
    ["lstm", [{ type: "lstm", units: 4, name: "r" }]],
    ["gru (goBackwards)", [{ type: "gru", units: 4, goBackwards: true, name: "r" }]],
    [
      "simpleRNN returnSequences → lstm",
      [
        { type: "simpleRNN", units: 3, returnSequences: true, name: "s" },
        { type: "lstm", units: 4, name: "r" },
      ],
    ],
    [
      "bidirectional lstm (concat)",
      [{ type: "bidirectional", name: "b", layer: { type: "lstm", units: 3 } }],
    ],
    [
      "bidirectional gru returnSequences (ave) → simpleRNN",
      [
        {
          type: "bidirectional",
          name: "b",
          mergeMode: "ave",
          layer: { type: "gru", units: 3, returnSequences: true },
        },
        { type: "simpleRNN", units: 4, name: "r" },
      ],
    ],
  ] as [string, ModelSpec["layers"]][])(
    "%s: mask_zero true, and tfjs predicts what the engine does",
    async (_, rec) => {
      const spec = TEXT(rec);
      const weights = someWeights(spec, 3);
      const ours = predict(spec, weights, IDS, 5).data;
      const { modelJson, weightsBin } = toTfjs(spec, weights);
      const embedding = modelJson.modelTopology.config.layers[0]!;
      expect(embedding.config.mask_zero).toBe(true);
      const theirs = tfjsPredict(await loadInTfjs(modelJson, weightsBin), spec, IDS, 5);
      expect(maxRelativeError(ours, theirs)).toBeLessThan(1e-5);
      // The mask matters: without it the padded samples predict otherwise.
      const unmasked = {
        ...spec,
        layers: [{ ...spec.layers[0]!, maskZero: false }, ...spec.layers.slice(1)],
      };
      expect(maxRelativeError(ours, predict(unmasked as ModelSpec, weights, IDS, 5).data)).toBeGreaterThan(
        1e-2,
      );
      // The fully padded sample sees h = 0: the dense layer's bias alone.
      const bias = weights["d/bias"]!.data;
      expect(ours[6]).toBeCloseTo(Math.tanh(bias[0]!), 12);
    },
  );

  it("export → import → export keeps maskZero and gives the same bytes", () => {
    const spec = TEXT([{ type: "lstm", units: 4, name: "r" }]);
    const first = toTfjs(spec, someWeights(spec, 4));
    const json = JSON.parse(JSON.stringify(first.modelJson));
    const { spec: back } = kerasToSpec(json.modelTopology, ["modelTopology"], lossOfModelJson(json));
    expect(back.layers[0]).toMatchObject({ type: "embedding", maskZero: true });
    const tensors = tfjsWeightsToTensors(back, json.weightsManifest, first.weightsBin, ["weightsManifest"]);
    expect(JSON.stringify(toTfjs(back, tensors).modelJson)).toBe(JSON.stringify(first.modelJson));
  });

  it("the README's padded tagger, bidirectional lstm sequences → timeDistributed, is a 422 at the timeDistributed", () => {
    const spec: ModelSpec = {
      inputShape: [8],
      layers: [
        { type: "embedding", inputDim: 7, outputDim: 3, maskZero: true },
        { type: "bidirectional", layer: { type: "lstm", units: 4, returnSequences: true } },
        { type: "timeDistributed", layer: { type: "dense", units: 5, activation: "softmax" } },
      ],
      loss: "sparseCategoricalCrossentropy",
    };
    expect(() => toTfjs(spec, someWeights(spec, 1))).toThrow(
      expect.objectContaining({
        errors: [expect.objectContaining({ path: "model.layers[2]" })],
        message: expect.stringMatching(/timeDistributed does not support masking/),
      }),
    );
    // Without maskZero the same stack exports.
    const unmasked = { ...spec, layers: [{ ...spec.layers[0]!, maskZero: false }, ...spec.layers.slice(1)] };
    expect(toTfjs(unmasked as ModelSpec, someWeights(unmasked as ModelSpec, 1)).modelJson).toBeDefined();
  });

  it("a layer the mask reaches that tfjs-layers cannot take it in (flatten) is a 422 naming it", () => {
    const spec: ModelSpec = {
      inputShape: [8],
      layers: [
        { type: "embedding", inputDim: 7, outputDim: 3, maskZero: true },
        { type: "lstm", units: 2, returnSequences: true },
        { type: "flatten" },
        { type: "dense", units: 1 },
      ],
      loss: "meanSquaredError",
    };
    try {
      toTfjs(spec, someWeights(spec, 1));
      throw new Error("expected a 422");
    } catch (e) {
      expect(e).toBeInstanceOf(UnprocessableError);
      const u = e as UnprocessableError;
      expect(u.errors?.[0]?.path).toBe("model.layers[2]");
      expect(u.message).toContain("does not support masking");
    }
  });
});
