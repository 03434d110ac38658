/**
 * `kerasToSpec` and `tfjsWeightsToTensors` refuse what the engine cannot take: unsupported
 * classes, options, shapes and weights are 422s with exact paths and messages.
 */
import { describe, expect, it } from "vitest";
import type { ModelSpec } from "../../../src/engine/index.js";
import { InvalidRequestError, UnprocessableError } from "../../../src/service/errors.js";
import { kerasToSpec, tfjsWeightsToTensors } from "../../../src/service/models/formats/keras-import.js";

/** The 422 (or 400) `f` throws, as its detail and field errors. */
function refusal(f: () => unknown, status = 422): { path: string; message: string }[] {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(status === 422 ? UnprocessableError : InvalidRequestError);
    return (e as UnprocessableError).errors ?? [];
  }
  throw new Error("expected an error");
}

const dense = (config: Record<string, unknown>) => ({ class_name: "Dense", config: { units: 2, ...config } });
const topo = (...layers: unknown[]) => ({ class_name: "Sequential", config: { name: "s", layers } });
const first = { class_name: "InputLayer", config: { batch_input_shape: [null, 3] } };

describe("what is refused, and where", () => {
  it("an unsupported class_name lists the supported ones", () => {
    expect(
      refusal(() =>
        kerasToSpec(
          topo(first, dense({}), {
            class_name: "ConvLSTM2D",
            config: { filters: 2, kernel_size: [3, 3] },
          }),
          ["model"],
        ),
      ),
    ).toEqual([
      {
        path: "model.config.layers[2].class_name",
        message:
          'unsupported layer class "ConvLSTM2D"; supported: Dense, Conv2D, MaxPooling2D, AveragePooling2D, Flatten, Activation, LeakyReLU, PReLU, ELU, Softmax, GlobalAveragePooling2D, GlobalMaxPooling2D, Reshape, ZeroPadding2D, BatchNormalization, LayerNormalization, Dropout, Embedding, Conv1D, MaxPooling1D, AveragePooling1D, GlobalAveragePooling1D, GlobalMaxPooling1D, SimpleRNN, LSTM, GRU, Bidirectional, TimeDistributed (and InputLayer first)',
      },
    ]);
  });

  it.each([
    [
      { class_name: "Conv2D", config: { filters: 2, kernel_size: 1, data_format: "channels_first" } },
      "data_format",
      'Conv2D: data_format "channels_first" is not supported (the engine\'s images are channels_last)',
    ],
    [
      { class_name: "Conv2D", config: { filters: 2, kernel_size: 1, dilation_rate: [2, 2] } },
      "dilation_rate",
      "Conv2D: dilation_rate [2,2] is not supported (the engine's convolutions are not dilated)",
    ],
    [
      dense({ activation: "log_softmax" }),
      "activation",
      'Dense: unsupported activation "log_softmax"; supported: linear, sigmoid, tanh, relu, softmax, elu, selu, softplus, softsign, relu6, hard_sigmoid, swish (silu), mish, gelu',
    ],
    [
      dense({ bias_constraint: { class_name: "NonNeg", config: {} } }),
      "bias_constraint",
      'Dense: bias_constraint {"class_name":"NonNeg","config":{}} is not supported (the engine constrains only the kernel)',
    ],
    [
      dense({ return_sequences: true }),
      "return_sequences",
      "Dense: option return_sequences = true is not supported",
    ],
    [
      dense({ trainable: false }),
      "trainable",
      "Dense: trainable false is not supported (every layer of the engine trains)",
    ],
    [dense({ dtype: "float16" }), "dtype", 'Dense: dtype "float16" is not supported (float32 only)'],
  ])("an unsupported option names its key: %#", (layer, key, message) => {
    const input = { class_name: "InputLayer", config: { batch_input_shape: [null, 4, 4, 3] } };
    expect(refusal(() => kerasToSpec(topo(input, layer), ["model"]))).toEqual([
      { path: `model.config.layers[1].config.${key}`, message },
    ]);
  });

  it("an unsupported kernel constraint names the constraint's class_name", () => {
    expect(
      refusal(() =>
        kerasToSpec(topo(first, dense({ kernel_constraint: { class_name: "MinMaxNorm", config: {} } })), [
          "m",
        ]),
      ),
    ).toEqual([
      {
        path: "m.config.layers[1].config.kernel_constraint.class_name",
        message:
          'Dense: kernel_constraint: unsupported constraint "MinMaxNorm"; supported: MaxNorm, NonNeg, UnitNorm',
      },
    ]);
  });

  it("Keras 3's hard_sigmoid (another function than tfjs') is refused", () => {
    const t = { ...topo(first, dense({ activation: "hard_sigmoid" })), keras_version: "3.3.3" };
    expect(refusal(() => kerasToSpec(t, ["model"]))[0]!.path).toBe(
      "model.config.layers[1].config.activation",
    );
    expect(kerasToSpec({ ...t, keras_version: "2.15.0" }, ["model"]).spec.layers[0]).toMatchObject({
      activation: "hardSigmoid",
    });
  });

  it("values the model schema refuses are named by their Keras key", () => {
    expect(refusal(() => kerasToSpec(topo(first, dense({ units: 0 })), ["model"]))).toEqual([
      { path: "model.config.layers[1].config.units", message: "Too small: expected number to be >=1" },
    ]);
    expect(refusal(() => kerasToSpec(topo(first, dense({})), ["model"], "focal_loss"))[0]!.path).toBe(
      "trainingConfig.loss",
    );
  });

  it("shapes that do not fit are named by the layer", () => {
    const vector = { class_name: "InputLayer", config: { batch_input_shape: [null, 4] } };
    const conv = { class_name: "Conv2D", config: { filters: 2, kernel_size: [3, 3] } };
    expect(refusal(() => kerasToSpec(topo(vector, conv), ["model"]))).toEqual([
      {
        path: "model.config.layers[1]",
        message: "layer conv2d_0: conv2d needs [height, width, channels] input, got [4]",
      },
    ]);
    const twice = topo(dense({ name: "a", batch_input_shape: [null, 3] }), dense({ name: "a" }));
    expect(refusal(() => kerasToSpec(twice, ["model"]))).toEqual([
      { path: "model.config.layers[1].config.name", message: 'duplicate layer name "a"' },
    ]);
  });

  it("no input shape, or no Sequential", () => {
    expect(refusal(() => kerasToSpec(topo(dense({})), ["model"]))).toEqual([
      {
        path: "model.config.layers[0].config.batch_input_shape",
        message: "expected the input's batch shape [null, ...] on the first layer (or an InputLayer)",
      },
    ]);
    expect(refusal(() => kerasToSpec({ class_name: "Functional", config: {} }, ["model"]), 400)).toEqual([
      { path: "model.class_name", message: 'expected "Sequential" (a Keras Sequential model\'s topology)' },
    ]);
  });

  it("weights: a dtype other than float32, a data size that does not match, a wrong shape, a missing weight", () => {
    const spec: ModelSpec = {
      inputShape: [2],
      layers: [{ type: "dense", units: 1 }],
      loss: "meanSquaredError",
    };
    const k = { name: "dense_0/kernel", shape: [2, 1], dtype: "float32" };
    const b = { name: "dense_0/bias", shape: [1], dtype: "float32" };
    const data = new Uint8Array(12);
    const at = ["weightsManifest"];
    expect(
      refusal(() =>
        tfjsWeightsToTensors(spec, [{ paths: ["w"], weights: [k, { ...b, dtype: "float16" }] }], data, at),
      ),
    ).toEqual([
      {
        path: "weightsManifest[0].weights[1].dtype",
        message: 'expected "float32" (the only dtype read), got "float16"',
      },
    ]);
    expect(
      refusal(() => tfjsWeightsToTensors(spec, [{ paths: ["w"], weights: [k, b] }], new Uint8Array(8), at)),
    ).toEqual([
      { path: "weightData", message: "the manifest describes 12 bytes (3 float32 values), the data has 8" },
    ]);
    expect(
      refusal(() =>
        tfjsWeightsToTensors(spec, [{ paths: ["w"], weights: [{ ...k, shape: [1, 2] }, b] }], data, at),
      ),
    ).toEqual([
      {
        path: "weightsManifest[0].weights[0].shape",
        message: 'weight "dense_0/kernel" has shape [1, 2], the model expects [2, 1]',
      },
    ]);
    expect(
      refusal(() => tfjsWeightsToTensors(spec, [{ paths: ["w"], weights: [k] }], new Uint8Array(8), at)),
    ).toEqual([{ path: "weightsManifest", message: 'the manifest lacks the weights "dense_0/bias" [1]' }]);
  });
});
