/**
 * bidirectional and timeDistributed in the model formats (docs/models.md): exported to
 * TensorFlow.js they load there under tfjs' own weight names and predict what the engine does;
 * export → import → export gives the same bytes; a Keras 3 Bidirectional (which writes its
 * backward copy too) imports; what a format cannot hold is a 422 naming the layer and the field.
 */
import { describe, expect, it } from "vitest";
import { type ModelSpec, predict } from "../../../src/engine/index.js";
import { UnprocessableError } from "../../../src/service/errors.js";
import { kerasToSpec, tfjsWeightsToTensors } from "../../../src/service/models/formats/keras-import.js";
import { toOnnx } from "../../../src/service/models/formats/onnx.js";
import { lossOfModelJson, toTfjs } from "../../../src/service/models/formats/tfjs.js";
import { maxRelativeError } from "../../engine/tfjs-reference.js";
import { runOnnx, worstError } from "../onnx/helpers.js";
import { loadInTfjs, someInputs, someWeights, tfjsPredict } from "./tfjs-models.js";

/** A sequence tagger: bidirectional lstm (concat) → bidirectional gru (ave, named) → timeDistributed dense. */
const TAGGER: ModelSpec = {
  inputShape: [6, 3],
  layers: [
    { type: "bidirectional", name: "bi", layer: { type: "lstm", units: 3, returnSequences: true } },
    {
      type: "bidirectional",
      mergeMode: "ave",
      layer: { type: "gru", units: 2, returnSequences: true, goBackwards: true, name: "g" },
    },
    { type: "timeDistributed", name: "td", layer: { type: "dense", units: 2, activation: "tanh" } },
  ],
  loss: "meanSquaredError",
};

function refusal(f: () => unknown): { detail: string; errors: { path: string; message: string }[] } {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(UnprocessableError);
    const u = e as UnprocessableError;
    return { detail: u.message, errors: u.errors ?? [] };
  }
  throw new Error("expected a 422");
}

describe("wrappers and TensorFlow.js", () => {
  it("TensorFlow.js loads the exported model and predicts what the engine does", async () => {
    const weights = someWeights(TAGGER, 11);
    const n = 4;
    const x = someInputs(TAGGER, n, 3);
    const ours = predict(TAGGER, weights, x, n).data;
    const { modelJson, weightsBin } = toTfjs(TAGGER, weights);
    expect(modelJson.modelTopology.config.layers.map((l) => l.class_name)).toEqual([
      "Bidirectional",
      "Bidirectional",
      "TimeDistributed",
    ]);
    const model = await loadInTfjs(modelJson, weightsBin);
    // tfjs names the weights as the engine does.
    expect(model.weights.map((w) => w.name)).toEqual(
      modelJson.weightsManifest[0]!.weights.map((w) => w.name),
    );
    expect(model.weights.map((w) => w.name)).toEqual([
      "bi/forward_lstm/kernel",
      "bi/forward_lstm/recurrent_kernel",
      "bi/forward_lstm/bias",
      "bi/backward_lstm/kernel",
      "bi/backward_lstm/recurrent_kernel",
      "bi/backward_lstm/bias",
      "bidirectional_1/forward_g/kernel",
      "bidirectional_1/forward_g/recurrent_kernel",
      "bidirectional_1/forward_g/bias",
      "bidirectional_1/backward_g/kernel",
      "bidirectional_1/backward_g/recurrent_kernel",
      "bidirectional_1/backward_g/bias",
      "td/kernel",
      "td/bias",
    ]);
    const theirs = tfjsPredict(model, TAGGER, x, n);
    expect(theirs.length).toBe(ours.length);
    expect(maxRelativeError(ours, theirs)).toBeLessThan(1e-5);
    expect(new Set(Array.from(theirs, (v) => v.toFixed(5))).size).toBe(theirs.length);
  });

  it("export → import → export gives the same bytes and the same predictions", () => {
    const weights = someWeights(TAGGER, 5);
    const first = toTfjs(TAGGER, weights);
    const json = JSON.parse(JSON.stringify(first.modelJson));
    const { spec } = kerasToSpec(json.modelTopology, ["modelTopology"], lossOfModelJson(json));
    const tensors = tfjsWeightsToTensors(spec, json.weightsManifest, first.weightsBin, ["weightsManifest"]);
    const second = toTfjs(spec, tensors);
    expect(JSON.stringify(second.modelJson)).toBe(JSON.stringify(first.modelJson));
    expect(Buffer.from(second.weightsBin).equals(Buffer.from(first.weightsBin))).toBe(true);
    const x = someInputs(TAGGER, 3, 9);
    expect(
      maxRelativeError(predict(spec, tensors, x, 3).data, predict(TAGGER, weights, x, 3).data),
    ).toBeLessThan(1e-5);
  });

  it("a bidirectional gru with resetAfter is a 422 at its layer.resetAfter", () => {
    const spec: ModelSpec = {
      inputShape: [4, 2],
      layers: [{ type: "bidirectional", layer: { type: "gru", units: 2, resetAfter: true } }],
      loss: "meanSquaredError",
    };
    const r = refusal(() => toTfjs(spec, someWeights(spec, 1)));
    expect(r.errors.map((e) => e.path)).toEqual(["model.layers[0].layer.resetAfter"]);
  });

  it("ONNX: onnxruntime-node predicts what the engine does (relative 1e-5)", async () => {
    const weights = someWeights(TAGGER, 11);
    const n = 4;
    const x = someInputs(TAGGER, n, 5);
    const expected = predict(TAGGER, weights, x, n);
    const out = await runOnnx(toOnnx(TAGGER, weights), x, [n, ...TAGGER.inputShape]);
    expect(out.dims).toEqual(expected.shape);
    expect(worstError(out.data as Float32Array, expected.data).ratio).toBeLessThanOrEqual(1);
  });
});

describe("Keras topologies", () => {
  const lstm = (name: string, goBackwards: boolean) => ({
    module: "keras.layers",
    class_name: "LSTM",
    config: {
      name,
      trainable: true,
      dtype: "float32",
      return_sequences: true,
      return_state: false,
      go_backwards: goBackwards,
      stateful: false,
      unroll: false,
      zero_output_for_mask: true,
      units: 4,
      activation: "tanh",
      recurrent_activation: "sigmoid",
      use_bias: true,
      unit_forget_bias: true,
      dropout: 0,
      recurrent_dropout: 0,
      seed: null,
    },
    registered_name: null,
  });
  const keras3 = (backward: unknown, extra: Record<string, unknown> = {}) => ({
    class_name: "Sequential",
    keras_version: "3.4.1",
    config: {
      name: "sequential",
      layers: [
        { class_name: "InputLayer", config: { batch_shape: [null, 10, 2], dtype: "float32", name: "input" } },
        {
          class_name: "Bidirectional",
          config: {
            name: "bidirectional",
            trainable: true,
            dtype: "float32",
            merge_mode: "sum",
            layer: lstm("forward_lstm", false),
            backward_layer: backward,
            ...extra,
          },
        },
        {
          class_name: "TimeDistributed",
          config: {
            name: "td",
            trainable: true,
            layer: { class_name: "Dense", config: { name: "dense", units: 2, activation: "linear" } },
          },
        },
      ],
    },
  });

  it("a Keras 3 Bidirectional (both copies written, forward_ named) becomes the engine's", () => {
    const { spec } = kerasToSpec(keras3(lstm("backward_lstm", true)), ["model"], "mse");
    expect(spec.layers[0]).toEqual({
      type: "bidirectional",
      name: "bidirectional",
      mergeMode: "sum",
      layer: {
        type: "lstm",
        name: "lstm",
        units: 4,
        activation: "tanh",
        recurrentActivation: "sigmoid",
        useBias: true,
        returnSequences: true,
        returnState: false,
        goBackwards: false,
        unitForgetBias: true,
        kernelInitializer: "glorotNormal",
        recurrentInitializer: "orthogonal",
        biasInitializer: "zeros",
        dropout: 0,
        recurrentDropout: 0,
      },
    });
  });

  it("refuses what it cannot read, naming the key under config", () => {
    const path = (f: () => unknown) => refusal(f).errors.map((e) => e.path);
    const other = lstm("backward_lstm", true);
    other.config.units = 5;
    expect(path(() => kerasToSpec(keras3(other), ["model"], "mse"))).toEqual([
      "model.config.layers[1].config.backward_layer",
    ]);
    const wrapsDense = keras3(null, { layer: { class_name: "Dense", config: { units: 2 } } });
    expect(path(() => kerasToSpec(wrapsDense, ["model"], "mse"))).toEqual([
      "model.config.layers[1].config.layer.class_name",
    ]);
    const stateful = keras3(null, { layer: { class_name: "GRU", config: { units: 2, stateful: true } } });
    expect(path(() => kerasToSpec(stateful, ["model"], "mse"))).toEqual([
      "model.config.layers[1].config.layer.config.stateful",
    ]);
  });
});
