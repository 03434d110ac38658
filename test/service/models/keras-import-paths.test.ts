/**
 * `kerasToSpec` names a fault at the Keras key the client wrote, for every path the model schema
 * or the engine can give: the layer list, a layer, an option and what is inside it, the input
 * shape, the loss and its options; and reads the topology `tensorflowjs_converter` wraps.
 */
import { describe, expect, it } from "vitest";
import { describeModel, EngineError } from "../../../src/engine/index.js";
import { InvalidRequestError, UnprocessableError } from "../../../src/service/errors.js";
import { kerasToSpec } from "../../../src/service/models/formats/keras-import.js";
import { KERAS2_CNN } from "./keras-topologies.js";

/** The field errors `f` throws (a 422 unless `status` says 400). */
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
const input = (...shape: number[]) => ({
  class_name: "InputLayer",
  config: { batch_input_shape: [null, ...shape] },
});
const first = input(3);

/** As `tensorflowjs_converter` writes a Python Keras model's `modelTopology`. */
const converted = (modelConfig: unknown, loss: unknown = "categorical_crossentropy") => ({
  keras_version: "2.15.0",
  backend: "tensorflow",
  model_config: modelConfig,
  training_config: {
    loss,
    metrics: ["accuracy"],
    weighted_metrics: null,
    loss_weights: null,
    optimizer_config: { class_name: "Adam", config: { learning_rate: 0.001 } },
  },
});

describe("a topology as tensorflowjs_converter wraps it", () => {
  it("reads model_config, and the loss from training_config", () => {
    const plain = kerasToSpec(KERAS2_CNN, ["model"]).spec;
    const wrapped = kerasToSpec(converted(KERAS2_CNN), ["modelTopology"]);
    expect(wrapped.lossGiven).toBe(true);
    expect(wrapped.spec).toEqual({ ...plain, loss: "categoricalCrossentropy" });
    // A loss beside the wrapper wins, as beside class_name.
    expect(kerasToSpec(converted(KERAS2_CNN), ["model"], "mse", ["model", "loss"]).spec.loss).toBe(
      "meanSquaredError",
    );
  });

  it("names model_config in what it refuses, and training_config for the loss", () => {
    const convLstm = topo(first, { class_name: "ConvLSTM2D", config: { filters: 2 } });
    expect(refusal(() => kerasToSpec(converted(convLstm), ["modelTopology"]))[0]!.path).toBe(
      "modelTopology.model_config.config.layers[1].class_name",
    );
    expect(
      refusal(() => kerasToSpec(converted({ class_name: "Functional", config: {} }), ["model"]), 400),
    ).toEqual([
      {
        path: "model.model_config.class_name",
        message: 'expected "Sequential" (a Keras Sequential model\'s topology)',
      },
    ]);
    const [loss] = refusal(() =>
      kerasToSpec(converted(topo(first, dense({})), "hinge_foo"), ["modelTopology"]),
    );
    expect(loss!.path).toBe("modelTopology.training_config.loss");
    const [units] = refusal(() => kerasToSpec(converted(topo(first, dense({ units: 0 }))), ["model"]));
    expect(units!.path).toBe("model.model_config.config.layers[1].config.units");
  });

  it("takes Keras 3's hard_sigmoid refusal from the wrapper's keras_version", () => {
    const t = topo(first, dense({ activation: "hard_sigmoid" }));
    expect(
      refusal(() => kerasToSpec({ ...converted(t, "mse"), keras_version: "3.4.1" }, ["m"]))[0]!.path,
    ).toBe("m.model_config.config.layers[1].config.activation");
    expect(kerasToSpec(converted(t, "mse"), ["m"]).spec.layers[0]).toMatchObject({
      activation: "hardSigmoid",
    });
  });
});

describe("every path of the model schema, at its Keras key", () => {
  it("too many layers: the layer list, as the native spec says at model.layers", () => {
    const layers = Array.from({ length: 65 }, (_, i) =>
      dense(i === 0 ? { batch_input_shape: [null, 3] } : {}),
    );
    expect(refusal(() => kerasToSpec(topo(...layers), ["model"]))).toEqual([
      { path: "model.config.layers", message: "Too big: expected array to have <=64 items" },
    ]);
  });

  it.each([
    [
      "the input shape's entry (after the batch axis)",
      topo(input(0), dense({})),
      "config.layers[0].config.batch_input_shape[1]",
      "Too small: expected number to be >=1",
    ],
    [
      "an initialiser's option",
      topo(
        first,
        dense({ kernel_initializer: { class_name: "RandomNormal", config: { mean: 0, stddev: -1 } } }),
      ),
      "config.layers[1].config.kernel_initializer.config.stddev",
      "Too small: expected number to be >=0",
    ],
    [
      "a regulariser's coefficient",
      topo(first, dense({ kernel_regularizer: { class_name: "L1L2", config: { l1: -1, l2: 0 } } })),
      "config.layers[1].config.kernel_regularizer.config.l1",
      "Too small: expected number to be >=0",
    ],
    [
      "a constraint's option",
      topo(
        first,
        dense({ kernel_constraint: { class_name: "MaxNorm", config: { max_value: -1, axis: 0 } } }),
      ),
      "config.layers[1].config.kernel_constraint.config.max_value",
      "Too small: expected number to be >=0",
    ],
    [
      "an entry of noise_shape",
      topo(first, { class_name: "Dropout", config: { rate: 0.5, noise_shape: [null, 0] } }),
      "config.layers[1].config.noise_shape[1]",
      "expected null, -1 or a positive integer",
    ],
    [
      "an entry of target_shape",
      topo(first, { class_name: "Reshape", config: { target_shape: [0, 3] } }),
      "config.layers[1].config.target_shape[0]",
      "expected -1 or a positive integer",
    ],
    [
      "Keras 3's negative_slope",
      topo(first, { class_name: "LeakyReLU", config: { negative_slope: "x" } }),
      "config.layers[1].config.negative_slope",
      "Invalid input: expected number, received string",
    ],
    [
      "a nested padding",
      topo(input(4, 4, 1), {
        class_name: "ZeroPadding2D",
        config: {
          padding: [
            [1, -1],
            [1, 1],
          ],
        },
      }),
      "config.layers[1].config.padding[0][1]",
      "Too small: expected number to be >=0",
    ],
    [
      "a kernel size's entry",
      topo(input(4, 4, 2), { class_name: "Conv2D", config: { filters: 1, kernel_size: [3, 0] } }),
      "config.layers[1].config.kernel_size[1]",
      "Too small: expected number to be >=1",
    ],
  ])("%s", (_, t, path, message) => {
    expect(refusal(() => kerasToSpec(t, ["model"]))).toEqual([{ path: `model.${path}`, message }]);
  });

  it("an unknown loss lists the Keras names accepted", () => {
    const supported =
      "supported: mean_squared_error (mse), categorical_crossentropy, sparse_categorical_crossentropy, " +
      "binary_crossentropy, mean_absolute_error (mae), mean_absolute_percentage_error (mape), " +
      "mean_squared_logarithmic_error (msle), huber (huber_loss), logcosh (log_cosh), hinge, squared_hinge, " +
      "categorical_hinge, kullback_leibler_divergence (kl_divergence, kld), poisson, cosine_proximity (cosine_similarity)";
    expect(
      refusal(() => kerasToSpec(topo(first, dense({})), ["model"], "hinge_foo", ["model", "loss"])),
    ).toEqual([{ path: "model.loss", message: `unsupported loss "hinge_foo"; ${supported}` }]);
    const cls = { class_name: "FocalLoss", config: { gamma: 2 } };
    expect(
      refusal(() => kerasToSpec({ ...topo(first, dense({})), training_config: { loss: cls } }, ["model"])),
    ).toEqual([
      {
        path: "model.training_config.loss.class_name",
        message: `unsupported loss "FocalLoss"; ${supported}`,
      },
    ]);
  });

  it("a loss option is named as written, inside the loss's config", () => {
    const withLoss = (loss: unknown) => ({ ...topo(first, dense({})), training_config: { loss } });
    const sparse = {
      class_name: "SparseCategoricalCrossentropy",
      config: { from_logits: true, ignore_class: 3 },
    };
    expect(refusal(() => kerasToSpec(withLoss(sparse), ["model"]))).toEqual([
      { path: "model.training_config.loss.config.ignore_class", message: 'Unrecognized key: "ignore_class"' },
    ]);
    const smoothing = { class_name: "CategoricalCrossentropy", config: { label_smoothing: 2 } };
    expect(refusal(() => kerasToSpec(withLoss(smoothing), ["model"]))).toEqual([
      {
        path: "model.training_config.loss.config.label_smoothing",
        message: "Too big: expected number to be <=1",
      },
    ]);
    // Read as given (not refused) when right: the options in the engine's names.
    const ok = { class_name: "CategoricalCrossentropy", config: { from_logits: true, reduction: "auto" } };
    expect(kerasToSpec(withLoss(ok), ["model"]).spec.loss).toEqual({
      type: "categoricalCrossentropy",
      fromLogits: true,
    });
  });

  it("the engine's paths (a limit checked afterwards) through the returned mapping", () => {
    const t = topo(
      first,
      dense({ units: 4 }),
      { class_name: "Dropout", config: { rate: 0.1 } },
      dense({ units: 3 }),
    );
    const { spec, path } = kerasToSpec(t, ["modelTopology"]);
    // 16 + 15 parameters: the second Dense (spec layer 2, Keras layer 3) goes over 20.
    let error: EngineError | undefined;
    try {
      describeModel(spec, { maxParams: 20 });
    } catch (e) {
      error = e as EngineError;
    }
    expect(error).toBeInstanceOf(EngineError);
    expect(error!.path).toEqual(["layers", 2]);
    expect(path(error!.path)).toEqual(["modelTopology", "config", "layers", 3]);
    expect(path(["layers"])).toEqual(["modelTopology", "config", "layers"]);
    expect(path(["layers", 0, "type"])).toEqual(["modelTopology", "config", "layers", 1, "class_name"]);
    expect(path(["inputShape"])).toEqual([
      "modelTopology",
      "config",
      "layers",
      0,
      "config",
      "batch_input_shape",
    ]);
    expect(path([])).toEqual(["modelTopology"]);
  });
});

describe("Keras' list-or-integer forms", () => {
  const image = input(4, 4, 2);
  it.each([
    [
      "BatchNormalization axis [3] (Keras 2)",
      { class_name: "BatchNormalization", config: { axis: [3] } },
      { axis: 3 },
    ],
    ["BatchNormalization axis 3", { class_name: "BatchNormalization", config: { axis: 3 } }, { axis: 3 }],
    ["Softmax axis [-1]", { class_name: "Softmax", config: { axis: [-1] } }, { axis: -1 }],
    [
      "LayerNormalization axis [3]",
      { class_name: "LayerNormalization", config: { axis: [3] } },
      { axis: [3] },
    ],
    [
      "LayerNormalization axis [1, 2, 3]",
      { class_name: "LayerNormalization", config: { axis: [1, 2, 3] } },
      { axis: [1, 2, 3] },
    ],
    ["PReLU shared_axes 1", { class_name: "PReLU", config: { shared_axes: 1 } }, { sharedAxes: 1 }],
    [
      "PReLU shared_axes [1, 2]",
      { class_name: "PReLU", config: { shared_axes: [1, 2] } },
      { sharedAxes: [1, 2] },
    ],
    [
      "Conv2D kernel_size 3, strides [1, 2]",
      { class_name: "Conv2D", config: { filters: 1, kernel_size: 3, strides: [1, 2] } },
      { kernelSize: 3, strides: [1, 2] },
    ],
    [
      "MaxPooling2D pool_size [2, 1]",
      { class_name: "MaxPooling2D", config: { pool_size: [2, 1], strides: null } },
      { poolSize: [2, 1], strides: [2, 1] },
    ],
    ["ZeroPadding2D padding 1", { class_name: "ZeroPadding2D", config: { padding: 1 } }, { padding: 1 }],
    [
      "ZeroPadding2D padding [1, 2]",
      { class_name: "ZeroPadding2D", config: { padding: [1, 2] } },
      { padding: [1, 2] },
    ],
    [
      "ZeroPadding2D padding [[1, 0], [0, 2]]",
      {
        class_name: "ZeroPadding2D",
        config: {
          padding: [
            [1, 0],
            [0, 2],
          ],
        },
      },
      {
        padding: [
          [1, 0],
          [0, 2],
        ],
      },
    ],
    [
      "Dropout noise_shape [null, 1, 1, 2]",
      { class_name: "Dropout", config: { rate: 0.5, noise_shape: [null, 1, 1, 2] } },
      { noiseShape: [null, 1, 1, 2] },
    ],
    [
      "Reshape target_shape [16, -1]",
      { class_name: "Reshape", config: { target_shape: [16, -1] } },
      { targetShape: [16, -1] },
    ],
  ])("%s", (_, layer, fields) => {
    expect(kerasToSpec(topo(image, layer), ["model"]).spec.layers[0]).toMatchObject(fields);
  });

  it("a list of several axes where the engine takes one is refused at axis", () => {
    expect(
      refusal(() =>
        kerasToSpec(topo(image, { class_name: "BatchNormalization", config: { axis: [1, 3] } }), ["model"]),
      ),
    ).toEqual([
      {
        path: "model.config.layers[1].config.axis",
        message:
          "BatchNormalization: axis [1,3] is not supported (one axis only, an integer or a list of one)",
      },
    ]);
    expect(
      refusal(() =>
        kerasToSpec(topo(image, { class_name: "Softmax", config: { axis: [2, 3] } }), ["model"]),
      )[0]!.path,
    ).toBe("model.config.layers[1].config.axis");
  });
});
