/**
 * The Keras vocabulary both ways: every initialiser, regulariser and constraint form the engine
 * takes is written as tfjs writes it, TensorFlow.js builds a layer from it, and it reads back as
 * the same thing; losses and activations by their Keras names.
 */
import { describe, expect, it } from "vitest";
import type { ConstraintSpec, InitializerSpec, ModelSpec } from "../../../src/engine/index.js";
import {
  activationFromKeras,
  constraintFromKeras,
  initializerFromKeras,
  kerasConstraint,
  kerasInitializer,
  kerasLoss,
  kerasRegularizer,
  lossFromKeras,
  regularizerFromKeras,
} from "../../../src/service/models/formats/keras-names.js";
import { toTfjs } from "../../../src/service/models/formats/tfjs.js";
import { loadInTfjs, someWeights } from "./tfjs-models.js";

const INITIALIZERS: [InitializerSpec, unknown, InitializerSpec][] = [
  [
    "glorotUniform",
    {
      class_name: "VarianceScaling",
      config: { scale: 1, mode: "fan_avg", distribution: "uniform", seed: null },
    },
    "glorotUniform",
  ],
  [
    "glorotNormal",
    {
      class_name: "VarianceScaling",
      config: { scale: 1, mode: "fan_avg", distribution: "normal", seed: null },
    },
    "glorotNormal",
  ],
  [
    { type: "heNormal" },
    {
      class_name: "VarianceScaling",
      config: { scale: 2, mode: "fan_in", distribution: "normal", seed: null },
    },
    "heNormal",
  ],
  [
    "heUniform",
    {
      class_name: "VarianceScaling",
      config: { scale: 2, mode: "fan_in", distribution: "uniform", seed: null },
    },
    "heUniform",
  ],
  [
    "leCunNormal",
    {
      class_name: "VarianceScaling",
      config: { scale: 1, mode: "fan_in", distribution: "normal", seed: null },
    },
    "leCunNormal",
  ],
  [
    "leCunUniform",
    {
      class_name: "VarianceScaling",
      config: { scale: 1, mode: "fan_in", distribution: "uniform", seed: null },
    },
    "leCunUniform",
  ],
  ["zeros", { class_name: "Zeros", config: {} }, "zeros"],
  ["ones", { class_name: "Ones", config: {} }, "ones"],
  [
    { type: "constant", value: 0.25 },
    { class_name: "Constant", config: { value: 0.25 } },
    { type: "constant", value: 0.25 },
  ],
  [
    "randomNormal",
    { class_name: "RandomNormal", config: { mean: 0, stddev: 0.05, seed: null } },
    { type: "randomNormal", mean: 0, stddev: 0.05 },
  ],
  [
    { type: "randomUniform", minval: -1, maxval: 2 },
    { class_name: "RandomUniform", config: { minval: -1, maxval: 2, seed: null } },
    { type: "randomUniform", minval: -1, maxval: 2 },
  ],
  [
    { type: "truncatedNormal", stddev: 0.3 },
    { class_name: "TruncatedNormal", config: { mean: 0, stddev: 0.3, seed: null } },
    { type: "truncatedNormal", mean: 0, stddev: 0.3 },
  ],
  [
    { type: "orthogonal", gain: 2 },
    { class_name: "Orthogonal", config: { gain: 2, seed: null } },
    { type: "orthogonal", gain: 2 },
  ],
  [
    "varianceScaling",
    {
      class_name: "VarianceScaling",
      config: { scale: 1, mode: "fan_in", distribution: "normal", seed: null },
    },
    "leCunNormal",
  ],
  [
    { type: "varianceScaling", scale: 3, mode: "fanOut", distribution: "truncatedNormal" },
    {
      class_name: "VarianceScaling",
      config: { scale: 3, mode: "fan_out", distribution: "truncated_normal", seed: null },
    },
    { type: "varianceScaling", scale: 3, mode: "fanOut", distribution: "truncatedNormal" },
  ],
];

const CONSTRAINTS: [ConstraintSpec, unknown][] = [
  ["maxNorm", { class_name: "MaxNorm", config: { max_value: 2, axis: 0 } }],
  [
    { type: "maxNorm", maxValue: 1.5, axis: [0, 1] },
    { class_name: "MaxNorm", config: { max_value: 1.5, axis: [0, 1] } },
  ],
  ["nonNeg", { class_name: "NonNeg", config: {} }],
  [
    { type: "unitNorm", axis: 1 },
    { class_name: "UnitNorm", config: { axis: 1 } },
  ],
];

describe("initialisers, regularisers, constraints", () => {
  it.each(INITIALIZERS)("%j is written as tfjs writes it and read back", async (spec, keras, back) => {
    expect(kerasInitializer(spec)).toEqual(keras);
    expect(initializerFromKeras(JSON.parse(JSON.stringify(keras)))).toEqual(back);
  });

  it("Keras' own class names and string identifiers read as the engine's", () => {
    expect(initializerFromKeras({ class_name: "GlorotUniform", config: { seed: null } })).toBe(
      "glorotUniform",
    );
    expect(initializerFromKeras({ class_name: "LecunNormal", config: { seed: 3 } })).toBe("leCunNormal");
    expect(initializerFromKeras("he_normal")).toBe("heNormal");
    expect(() => initializerFromKeras({ class_name: "Identity", config: {} })).toThrow(
      /unsupported initializer "Identity"/,
    );
  });

  it.each(CONSTRAINTS)("%j", (spec, keras) => {
    expect(kerasConstraint(spec)).toEqual(keras);
    expect(kerasConstraint(constraintFromKeras(keras))).toEqual(keras);
  });

  it("regularisers: L1L2 with both coefficients; Keras' L1, L2 and names read back", () => {
    expect(kerasRegularizer("l1l2")).toEqual({ class_name: "L1L2", config: { l1: 0.01, l2: 0.01 } });
    expect(kerasRegularizer({ l2: 0.5 })).toEqual({ class_name: "L1L2", config: { l1: 0, l2: 0.5 } });
    expect(kerasRegularizer(undefined)).toBeNull();
    expect(regularizerFromKeras({ class_name: "L2", config: { l2: 0.001 } })).toEqual({ l1: 0, l2: 0.001 });
    expect(regularizerFromKeras({ class_name: "L1", config: {} })).toEqual({ l1: 0.01, l2: 0 });
    expect(regularizerFromKeras("l1_l2")).toEqual({ l1: 0.01, l2: 0.01 });
    expect(regularizerFromKeras(null)).toBeUndefined();
  });

  it("TensorFlow.js builds every one of them", async () => {
    const spec: ModelSpec = {
      inputShape: [3],
      layers: [
        ...INITIALIZERS.map(([init], i) => ({
          type: "dense" as const,
          units: 3,
          kernelInitializer: init,
          ...(typeof init === "object" && init.type === "orthogonal" ? {} : { biasInitializer: init }),
          kernelRegularizer: { l1: 0.01, l2: 0.02 },
          ...(i < CONSTRAINTS.length ? { kernelConstraint: CONSTRAINTS[i]![0] } : {}),
        })),
      ],
      loss: "meanSquaredError",
    };
    const { modelJson, weightsBin } = toTfjs(spec, someWeights(spec, 1));
    const model = await loadInTfjs(modelJson, weightsBin);
    expect(model.layers).toHaveLength(INITIALIZERS.length);
    const written = model.layers.map(
      (l) => (l.getConfig() as { kernelInitializer: { className: string } }).kernelInitializer.className,
    );
    expect(written).toEqual(INITIALIZERS.map(([, keras]) => (keras as { class_name: string }).class_name));
  });
});

describe("losses and activations", () => {
  it("losses: the snake_case name without options, Keras' object with them", () => {
    expect(kerasLoss("kullbackLeiblerDivergence")).toBe("kullback_leibler_divergence");
    expect(kerasLoss({ type: "poisson" })).toBe("poisson");
    expect(kerasLoss({ type: "binaryCrossentropy", fromLogits: true, labelSmoothing: 0.2 })).toEqual({
      class_name: "BinaryCrossentropy",
      config: { from_logits: true, label_smoothing: 0.2 },
    });
    expect(kerasLoss({ type: "huber", delta: 2 })).toEqual({ class_name: "Huber", config: { delta: 2 } });
    expect(
      lossFromKeras({ class_name: "Huber", config: { delta: 2, reduction: "auto", name: "huber_loss" } }),
    ).toEqual({
      type: "huber",
      delta: 2,
    });
    expect(lossFromKeras("mse")).toBe("meanSquaredError");
    expect(lossFromKeras("categorical_crossentropy")).toBe("categoricalCrossentropy");
    expect(lossFromKeras("cosine_similarity")).toBe("cosineProximity");
  });

  it("activations: Keras names, tfjs names, Keras 3's silu, None", () => {
    expect(activationFromKeras("hard_sigmoid")).toBe("hardSigmoid");
    expect(activationFromKeras("hardSigmoid")).toBe("hardSigmoid");
    expect(activationFromKeras("silu")).toBe("swish");
    expect(activationFromKeras(null)).toBe("linear");
    expect(activationFromKeras("log_softmax")).toBeUndefined();
  });
});
