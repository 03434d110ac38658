/**
 * Recurrent models in the model formats (docs/models.md, docs/onnx.md): exported to TensorFlow.js
 * they load there and predict what the engine does; export → import → export gives the same bytes;
 * a Keras 3 LSTM/GRU topology imports with its options; what a format cannot hold is a 422 naming
 * the layer and the field.
 */
import { describe, expect, it } from "vitest";
import { describeModel, type ModelSpec, predict } from "../../../src/engine/index.js";
import { UnprocessableError } from "../../../src/service/errors.js";
import { kerasToSpec, tfjsWeightsToTensors } from "../../../src/service/models/formats/keras-import.js";
import { toOnnx } from "../../../src/service/models/formats/onnx.js";
import { lossOfModelJson, toTfjs } from "../../../src/service/models/formats/tfjs.js";
import { maxRelativeError } from "../../engine/tfjs-reference.js";
import { runOnnx, worstError } from "../onnx/helpers.js";
import { loadInTfjs, someInputs, someWeights, tfjsPredict } from "./tfjs-models.js";

/** Every kind and most options: simpleRNN (goBackwards) → lstm (unitForgetBias, relu) → gru → dense. */
const STACK: ModelSpec = {
  inputShape: [7, 3],
  layers: [
    { type: "simpleRNN", units: 4, returnSequences: true, goBackwards: true, name: "rnn" },
    {
      type: "lstm",
      units: 5,
      returnSequences: true,
      unitForgetBias: true,
      activation: "relu",
      recurrentActivation: "sigmoid",
    },
    { type: "gru", units: 3, useBias: false },
    { type: "dense", units: 2, activation: "tanh" },
  ],
  loss: "meanSquaredError",
};

/** The 422 `f` throws: its detail and field errors. */
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

describe("recurrent models and TensorFlow.js", () => {
  it("TensorFlow.js loads the exported model and predicts what the engine does", async () => {
    const weights = someWeights(STACK, 11);
    const n = 5;
    const x = someInputs(STACK, n, 3);
    const ours = predict(STACK, weights, x, n).data;
    const { modelJson, weightsBin } = toTfjs(STACK, weights);
    expect(modelJson.modelTopology.config.layers.map((l) => l.class_name)).toEqual([
      "SimpleRNN",
      "LSTM",
      "GRU",
      "Dense",
    ]);
    expect(modelJson.weightsManifest[0]!.weights.map((w) => w.name).slice(0, 3)).toEqual([
      "rnn/kernel",
      "rnn/recurrent_kernel",
      "rnn/bias",
    ]);
    const model = await loadInTfjs(modelJson, weightsBin);
    const theirs = tfjsPredict(model, STACK, x, n);
    expect(theirs.length).toBe(ours.length);
    expect(maxRelativeError(ours, theirs)).toBeLessThan(1e-5);
    expect(new Set(Array.from(theirs, (v) => v.toFixed(5))).size).toBe(theirs.length);
  });

  it("export → import → export gives the same bytes and the same predictions", () => {
    const weights = someWeights(STACK, 5);
    const first = toTfjs(STACK, weights);
    const json = JSON.parse(JSON.stringify(first.modelJson));
    const { spec } = kerasToSpec(json.modelTopology, ["modelTopology"], lossOfModelJson(json));
    const tensors = tfjsWeightsToTensors(spec, json.weightsManifest, first.weightsBin, ["weightsManifest"]);
    const second = toTfjs(spec, tensors);
    expect(JSON.stringify(second.modelJson)).toBe(JSON.stringify(first.modelJson));
    expect(Buffer.from(second.weightsBin).equals(Buffer.from(first.weightsBin))).toBe(true);
    const x = someInputs(STACK, 3, 9);
    expect(
      maxRelativeError(predict(spec, tensors, x, 3).data, predict(STACK, weights, x, 3).data),
    ).toBeLessThan(1e-5);
  });

  it("dropout and recurrentDropout go into the config and back; tfjs predicts (inference) what the engine does", async () => {
    const rates = [{ dropout: 0.25 }, { recurrentDropout: 0.5 }, { dropout: 0.125, recurrentDropout: 0.375 }];
    const spec: ModelSpec = {
      ...STACK,
      layers: STACK.layers.map((l, i) => (i < 3 ? { ...l, ...rates[i] } : l)) as ModelSpec["layers"],
    };
    const weights = someWeights(spec, 11);
    const { modelJson, weightsBin } = toTfjs(spec, weights);
    const configs = modelJson.modelTopology.config.layers.slice(0, 3).map((l) => l.config);
    expect(configs.map((c) => [c.dropout, c.recurrent_dropout])).toEqual([
      [0.25, 0],
      [0, 0.5],
      [0.125, 0.375],
    ]);
    const json = JSON.parse(JSON.stringify(modelJson));
    const back = kerasToSpec(json.modelTopology, ["modelTopology"], lossOfModelJson(json)).spec;
    expect(
      back.layers
        .slice(0, 3)
        .map((l) => [
          (l as { dropout?: number }).dropout,
          (l as { recurrentDropout?: number }).recurrentDropout,
        ]),
    ).toEqual([
      [0.25, 0],
      [0, 0.5],
      [0.125, 0.375],
    ]);
    const n = 4;
    const x = someInputs(spec, n, 3);
    const ours = predict(spec, weights, x, n).data;
    // predict is inference: no masks, the same as without dropout.
    expect(Array.from(ours)).toEqual(Array.from(predict(STACK, weights, x, n).data));
    const theirs = tfjsPredict(await loadInTfjs(modelJson, weightsBin), spec, x, n);
    expect(maxRelativeError(ours, theirs)).toBeLessThan(1e-5);
  });

  it("a gru with resetAfter is a 422 at its resetAfter: tfjs-layers' GRU refuses reset_after", () => {
    const spec: ModelSpec = {
      inputShape: [4, 2],
      layers: [{ type: "gru", units: 2, resetAfter: true }],
      loss: "meanSquaredError",
    };
    const r = refusal(() => toTfjs(spec, someWeights(spec, 1)));
    expect(r.detail).toContain("cannot be exported to TensorFlow.js");
    expect(r.errors.map((e) => e.path)).toEqual(["model.layers[0].resetAfter"]);
  });

  it("ONNX: onnxruntime-node predicts what the engine does (relative 1e-5)", async () => {
    const weights = someWeights(STACK, 11);
    const n = 4;
    const x = someInputs(STACK, n, 5);
    const expected = predict(STACK, weights, x, n);
    const out = await runOnnx(toOnnx(STACK, weights), x, [n, ...STACK.inputShape]);
    expect(out.dims).toEqual(expected.shape);
    expect(worstError(out.data as Float32Array, expected.data).ratio).toBeLessThanOrEqual(1);
  });
});

describe("Keras topologies", () => {
  /** A Keras 3 Sequential with an LSTM (Keras' defaults written out) and a GRU with reset_after. */
  const keras3 = (lstm: Record<string, unknown> = {}) => ({
    class_name: "Sequential",
    keras_version: "3.4.1",
    config: {
      name: "sequential",
      layers: [
        { class_name: "InputLayer", config: { batch_shape: [null, 10, 2], dtype: "float32", name: "input" } },
        {
          class_name: "LSTM",
          config: {
            name: "lstm",
            trainable: true,
            dtype: "float32",
            return_sequences: true,
            return_state: false,
            go_backwards: false,
            stateful: false,
            unroll: false,
            zero_output_for_mask: false,
            units: 6,
            activation: "tanh",
            recurrent_activation: "sigmoid",
            use_bias: true,
            kernel_initializer: {
              module: "keras.initializers",
              class_name: "GlorotUniform",
              config: { seed: null },
            },
            recurrent_initializer: {
              module: "keras.initializers",
              class_name: "Orthogonal",
              config: { gain: 1.0, seed: null },
            },
            bias_initializer: { module: "keras.initializers", class_name: "Zeros", config: {} },
            unit_forget_bias: true,
            kernel_regularizer: null,
            recurrent_regularizer: null,
            bias_regularizer: null,
            activity_regularizer: null,
            kernel_constraint: null,
            recurrent_constraint: null,
            bias_constraint: null,
            dropout: 0.0,
            recurrent_dropout: 0.0,
            seed: null,
            ...lstm,
          },
        },
        {
          class_name: "GRU",
          config: {
            name: "gru",
            units: 3,
            activation: "tanh",
            recurrent_activation: "sigmoid",
            reset_after: true,
          },
        },
      ],
    },
  });

  it("a Keras 3 LSTM and GRU (reset_after) import with their options", () => {
    const { spec } = kerasToSpec(keras3(), ["model"]);
    expect(spec.inputShape).toEqual([10, 2]);
    expect(spec.layers[0]).toMatchObject({
      type: "lstm",
      name: "lstm",
      units: 6,
      activation: "tanh",
      recurrentActivation: "sigmoid",
      returnSequences: true,
      unitForgetBias: true,
      kernelInitializer: "glorotUniform",
      dropout: 0,
    });
    expect(spec.layers[1]).toMatchObject({
      type: "gru",
      units: 3,
      resetAfter: true,
      recurrentActivation: "sigmoid",
    });
  });

  it("a Keras 3 LSTM's dropout and recurrent_dropout import as the layer's rates, and the model builds", () => {
    const { spec } = kerasToSpec(keras3({ dropout: 0.2, recurrent_dropout: 0.1 }), ["model"]);
    expect(spec.layers[0]).toMatchObject({ type: "lstm", dropout: 0.2, recurrentDropout: 0.1 });
    expect(describeModel(spec).dropoutStreams).toEqual(["lstm"]);
  });

  it.each([
    [{ stateful: true }, "stateful"],
    [{ recurrent_regularizer: { class_name: "L2", config: { l2: 0.01 } } }, "recurrent_regularizer"],
    [{ recurrent_activation: "hard_sigmoid" }, "recurrent_activation"],
    // Keras would give 0 at a masked step; the engine repeats the carried state (tfjs-layers').
    [{ zero_output_for_mask: true }, "zero_output_for_mask"],
  ])("%j is a 422 at that key", (change, key) => {
    let path: unknown;
    try {
      kerasToSpec(keras3(change), ["model"]);
    } catch (e) {
      path = (e as { errors?: { path: string }[] }).errors?.map((x) => x.path);
    }
    expect(path).toEqual([`model.config.layers[1].config.${key}`]);
  });
});
