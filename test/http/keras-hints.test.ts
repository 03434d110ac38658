/**
 * Errors a Keras user understands: a Keras or Python spelling (`"Dense"`, `learning_rate`,
 * `"mse"`) gets a 400 at the field's own path that names the spelling we use, and a kind we lack
 * lists the ones we have. The names come from the schemas at run time, so every kind added to
 * them is covered here without a list to keep in step.
 */
import fc from "fast-check";
import type { FastifyInstance, LightMyRequestResponse } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { $ZodType } from "zod/v4/core";
import { kerasClassCase, normalizeName, snakeCase, suggestName } from "../../src/http/keras-hints.js";
import { fieldsAt, namesAt, vocabularies } from "../../src/http/schema-names.js";
import * as schemas from "../../src/schemas/index.js";
import * as jobSchemas from "../../src/schemas/jobs.js";
import * as storedSchemas from "../../src/schemas/stored-datasets.js";
import * as trainingSchemas from "../../src/schemas/training.js";
import { buildTestApp, type ProblemBody, sgd, tinyModel } from "./helper.js";

let app: FastifyInstance;
beforeAll(async () => {
  app = await buildTestApp();
});
afterAll(async () => {
  await app.close();
});

const Train = schemas.TrainRequestSchema as unknown as $ZodType;

/** The names the schema knows at a field of a train request (`layer` picks the layer kind). */
const known = (path: PropertyKey[], layer: Record<string, unknown> = { type: "dense" }) =>
  namesAt(Train, { model: { layers: [layer] } }, path);
const LAYER_TYPES = known(["model", "layers", 0, "type"]);
const ACTIVATIONS = known(["model", "layers", 0, "activation"]);
const LOSSES = known(["model", "loss"]);
const OPTIMIZERS = known(["optimizer", "type"]);

function trainBody(overrides: Record<string, unknown> = {}) {
  return {
    model: tinyModel(),
    dataset: { x: [[0.1, 0.2]], y: [0] },
    optimizer: sgd,
    epochs: 1,
    seed: 1,
    ...overrides,
  };
}

/** The field errors of a 400 invalid-request answer. */
function errorsOf(res: LightMyRequestResponse): Record<string, string> {
  const body = res.json() as ProblemBody;
  expect(res.statusCode, res.body).toBe(400);
  expect(body.type).toBe("/problems/invalid-request");
  return Object.fromEntries((body.errors ?? []).map((e) => [e.path, e.message]));
}

const post = (payload: unknown) => app.inject({ method: "POST", url: "/train", payload: payload as object });

/** A model whose first layer is `layer`; `loss` as given. */
const modelWith = (layer: Record<string, unknown>, loss = "sparseCategoricalCrossentropy") => ({
  ...tinyModel(loss),
  layers: [layer, { type: "dense", units: 3, activation: "softmax" }],
});

describe("the names are read from the schemas", () => {
  it("finds today's kinds at their fields", () => {
    expect(LAYER_TYPES).toEqual(expect.arrayContaining(["dense", "conv2d", "maxPooling2d", "flatten"]));
    expect(ACTIVATIONS).toEqual(expect.arrayContaining(["relu", "softmax", "tanh"]));
    expect(LOSSES).toEqual(expect.arrayContaining(["meanSquaredError", "sparseCategoricalCrossentropy"]));
    expect(OPTIMIZERS).toEqual(expect.arrayContaining(["sgd", "adam"]));
  });
});

describe("a Keras or Python spelling of a kind names ours (400 at the field)", () => {
  it.each([
    ["Dense", "dense"],
    ["Conv2D", "conv2d"],
    ["MaxPooling2D", "maxPooling2d"],
    ["max_pooling2d", "maxPooling2d"],
    ["AveragePooling2D", "averagePooling2d"],
    ["Flatten", "flatten"],
  ])("layer type %j → %s", async (sent, ours) => {
    const errors = errorsOf(await post(trainBody({ model: modelWith({ type: sent, units: 4 }) })));
    expect(Object.keys(errors)).toEqual(["model.layers[0].type"]);
    expect(errors["model.layers[0].type"]).toContain(`did you mean \`${ours}\`?`);
  });

  it.each([
    ["sparse_categorical_crossentropy", "sparseCategoricalCrossentropy"],
    ["SparseCategoricalCrossentropy", "sparseCategoricalCrossentropy"],
    ["categorical_crossentropy", "categoricalCrossentropy"],
    ["binary_crossentropy", "binaryCrossentropy"],
    ["mean_squared_error", "meanSquaredError"],
    ["mse", "meanSquaredError"],
    ["MSE", "meanSquaredError"],
  ])("loss %j → %s", async (sent, ours) => {
    const errors = errorsOf(await post(trainBody({ model: tinyModel(sent) })));
    expect(Object.keys(errors)).toEqual(["model.loss"]);
    expect(errors["model.loss"]).toContain(`did you mean \`${ours}\`?`);
  });

  // Keras' abbreviations map to our name only once the schema has it; until then the answer
  // lists the losses there are and suggests none.
  it.each([
    ["mae", "meanAbsoluteError"],
    ["mean_absolute_error", "meanAbsoluteError"],
    ["mape", "meanAbsolutePercentageError"],
    ["msle", "meanSquaredLogarithmicError"],
    ["kld", "kullbackLeiblerDivergence"],
    ["log_cosh", "logcosh"],
    ["cosine_similarity", "cosineProximity"],
    ["Huber", "huber"],
  ])("loss %j → %s when the schema has it", async (sent, ours) => {
    const errors = errorsOf(await post(trainBody({ model: tinyModel(sent) })));
    const message = errors["model.loss"];
    expect(message).toContain(`available: ${LOSSES.map((l) => `\`${l}\``).join(", ")}`);
    if (LOSSES.includes(ours)) expect(message).toContain(`did you mean \`${ours}\`?`);
    else expect(message).not.toContain("did you mean");
  });

  it.each([
    ["Softmax", "softmax"],
    ["ReLU", "relu"],
    ["Tanh", "tanh"],
  ])("activation %j → %s", async (sent, ours) => {
    const errors = errorsOf(
      await post(trainBody({ model: modelWith({ type: "dense", units: 4, activation: sent }) })),
    );
    expect(Object.keys(errors)).toEqual(["model.layers[0].activation"]);
    expect(errors["model.layers[0].activation"]).toContain(`did you mean \`${ours}\`?`);
  });

  it.each([
    ["Adam", "adam"],
    ["SGD", "sgd"],
    ["RMSprop", "rmsprop"],
    ["Adagrad", "adagrad"],
    ["AdamW", "adamw"],
  ])("optimizer type %j → %s (when the schema has it)", async (sent, ours) => {
    const errors = errorsOf(await post(trainBody({ optimizer: { type: sent, learningRate: 0.01 } })));
    expect(Object.keys(errors)).toEqual(["optimizer.type"]);
    const message = errors["optimizer.type"];
    expect(message).toContain(`available: ${OPTIMIZERS.map((o) => `\`${o}\``).join(", ")}`);
    if (OPTIMIZERS.includes(ours)) expect(message).toContain(`did you mean \`${ours}\`?`);
    else expect(message).not.toContain("did you mean");
  });

  it.each([
    ["BatchNormalization", "batchNormalization"],
    ["batch_normalization", "batchNormalization"],
    ["Dropout", "dropout"],
    ["GlobalAveragePooling2D", "globalAveragePooling2d"],
    ["GlobalAvgPool2D", "globalAveragePooling2d"],
    ["LeakyReLU", "leakyReLU"],
    ["Embedding", "embedding"],
    ["Conv1D", "conv1d"],
    ["Convolution1D", "conv1d"],
    ["MaxPool1D", "maxPooling1d"],
    ["AvgPool1D", "averagePooling1d"],
    ["GlobalAvgPool1D", "globalAveragePooling1d"],
    ["GlobalMaxPool1D", "globalMaxPooling1d"],
  ])("layer type %j → %s once the schema has it", async (sent, ours) => {
    const errors = errorsOf(await post(trainBody({ model: modelWith({ type: sent }) })));
    const message = errors["model.layers[0].type"];
    if (LAYER_TYPES.includes(ours)) expect(message).toContain(`did you mean \`${ours}\`?`);
    else expect(message).toMatch(/^unknown layer type .*; available: `dense`/);
  });

  it('says `optimizer: "adam"` (Keras\' compile) is an object with that type', async () => {
    const errors = errorsOf(await post(trainBody({ optimizer: "Adam" })));
    expect(errors).toEqual({
      optimizer: expect.stringContaining('did you mean {"type": "adam", ...}?'),
    });
  });

  it("reads earlyStopping's val_loss as valLoss", async () => {
    const errors = errorsOf(await post(trainBody({ earlyStopping: { monitor: "val_loss" } })));
    expect(errors["earlyStopping.monitor"]).toContain("did you mean `valLoss`?");
  });

  it("hints in the query string too, at its path", async () => {
    const res = await app.inject({ method: "GET", url: "/jobs?status=Running" });
    expect(errorsOf(res)["querystring.status"]).toContain("did you mean `running`?");
  });
});

describe("a kind we do not have lists the ones we have", () => {
  it.each([
    [{ model: modelWith({ type: "ConvLSTM2D" }) }, "model.layers[0].type", LAYER_TYPES],
    [{ model: tinyModel("focal") }, "model.loss", LOSSES],
    [{ optimizer: { type: "lion", learningRate: 0.1 } }, "optimizer.type", OPTIMIZERS],
    [
      { model: modelWith({ type: "dense", units: 2, activation: "zigzag" }) },
      "model.layers[0].activation",
      ACTIVATIONS,
    ],
  ])("%j", async (overrides, path, names) => {
    const errors = errorsOf(await post(trainBody(overrides)));
    expect(Object.keys(errors)).toEqual([path]);
    const message = errors[path] as string;
    expect(message).toContain(`available: ${names.map((n) => `\`${n}\``).join(", ")}`);
    expect(message).not.toMatch(/unknown field|Invalid discriminator|Invalid option|did you mean/);
  });

  it("says where a name is a kind of another field (Keras' ReLU layer is our relu activation)", async () => {
    const errors = errorsOf(await post(trainBody({ model: modelWith({ type: "ReLU" }) })));
    const message = errors["model.layers[0].type"];
    if (LAYER_TYPES.includes("relu")) expect(message).toContain("did you mean `relu`?");
    else
      expect(message).toMatch(
        /^unknown layer type "ReLU" \(`relu` is a `model\.layers\[i\]\.activation` or `model\.layers\[i\]\.recurrentActivation`\); available: /,
      );
  });

  it("says an activation Keras has that is a layer here (leaky_relu), once that layer exists", async () => {
    const model = modelWith({ type: "dense", units: 3, activation: "leaky_relu" });
    const message = errorsOf(await post(trainBody({ model })))["model.layers[0].activation"];
    if (ACTIVATIONS.includes("leakyReLU")) expect(message).toContain("did you mean `leakyReLU`?");
    else if (LAYER_TYPES.includes("leakyReLU"))
      expect(message).toContain('unknown activation "leaky_relu" (`leakyReLU` is a `model.layers[i].type`)');
    else expect(message).toMatch(/^unknown activation "leaky_relu"; available: /);
  });

  it("a missing type lists the types", async () => {
    const errors = errorsOf(await post(trainBody({ model: modelWith({ units: 3 }) })));
    expect(errors["model.layers[0].type"]).toBe(
      `required field is missing (expected one of ${LAYER_TYPES.map((t) => `\`${t}\``).join(", ")})`,
    );
  });
});

describe("a Keras spelling of a field says which field it means", () => {
  it("learning_rate → learningRate, and the missing learningRate says how it was sent", async () => {
    const errors = errorsOf(await post(trainBody({ optimizer: { type: "adam", learning_rate: 0.01 } })));
    expect(errors).toEqual({
      "optimizer.learning_rate": "unknown field; did you mean `learningRate`?",
      "optimizer.learningRate":
        "required field is missing (expected a finite number ≥ 0 or a schedule object {type, ...}); " +
        "it was sent as `learning_rate`",
    });
  });

  it.each([
    [{ batch_size: 4 }, "batch_size", "batchSize"],
    [{ validation_split: 0.2 }, "validation_split", "validationSplit"],
    [{ optimizer: { ...sgd, lr: 0.1 } }, "optimizer.lr", "learningRate"],
    [
      { model: modelWith({ type: "dense", units: 3, use_bias: false }) },
      "model.layers[0].use_bias",
      "useBias",
    ],
    [
      { model: modelWith({ type: "conv2d", filters: 2, kernel_size: 3 }) },
      "model.layers[0].kernel_size",
      "kernelSize",
    ],
    [{ optimizer: { type: "adam", learningRate: 0.1, beta_1: 0.8 } }, "optimizer.beta_1", "beta1"],
    [{ callbacks: [{ type: "EarlyStopping" }] }, "callbacks", "earlyStopping"],
    [{ initial_epoch: 3 }, "initial_epoch", "optimizerState"],
    [{ validation_data: [[1]] }, "validation_data", "validationSplit"],
  ])("%j", async (overrides, path, ours) => {
    const errors = errorsOf(await post(trainBody(overrides)));
    expect(errors[path]).toBe(`unknown field; did you mean \`${ours}\`?`);
  });

  it("input_shape → inputShape on the model", async () => {
    const { inputShape, ...model } = tinyModel();
    const errors = errorsOf(await post(trainBody({ model: { ...model, input_shape: inputShape } })));
    expect(errors["model.input_shape"]).toBe("unknown field; did you mean `inputShape`?");
    expect(errors["model.inputShape"]).toMatch(
      /^required field is missing .*; it was sent as `input_shape`$/,
    );
  });

  it("input_shape on a layer (where Keras puts it) says where ours is set", async () => {
    const model = modelWith({ type: "dense", units: 3, input_shape: [2] });
    const errors = errorsOf(await post(trainBody({ model })));
    expect(errors).toEqual({
      "model.layers[0].input_shape":
        "unknown field; did you mean `inputShape`? It is set at `model.inputShape`",
    });
  });

  it("kernel_initializer → kernelInitializer once the schema has it", async () => {
    const model = modelWith({ type: "dense", units: 3, kernel_initializer: "he_normal" });
    const message = errorsOf(await post(trainBody({ model })))["model.layers[0].kernel_initializer"];
    const has = fieldsAt(Train, { model: { layers: [{ type: "dense" }] } }, ["model", "layers", 0]).includes(
      "kernelInitializer",
    );
    expect(message).toBe(has ? "unknown field; did you mean `kernelInitializer`?" : "unknown field");
  });

  it("a field of other kinds names them (filters on a dense layer)", async () => {
    const errors = errorsOf(
      await post(trainBody({ model: modelWith({ type: "dense", units: 3, filters: 2 }) })),
    );
    expect(errors).toEqual({
      "model.layers[0].filters": "unknown field: dense has no filters (conv2d and conv1d do)",
    });
  });
});

// ---------------------------------------------------------------------------------------------
// Every name in every schema

const allSchemas = [schemas, jobSchemas, storedSchemas, trainingSchemas]
  .flatMap((m) => Object.values(m))
  .filter((v): v is $ZodType => typeof v === "object" && v !== null && "_zod" in v);
const LISTS = [...new Map(allSchemas.flatMap(vocabularies).map((l) => [JSON.stringify(l), l])).values()];

/** `name` with each letter's case flipped where `mask` says, and `_` / `-` between some letters. */
function mangle(name: string, mask: boolean[], seps: string[]): string {
  return [...name]
    .map(
      (c, i) => (mask[i % mask.length] ? c.toUpperCase() : c.toLowerCase()) + (seps[i % seps.length] ?? ""),
    )
    .join("")
    .replace(/[_-]+$/, "");
}

describe("every name the schemas know, spelled the Keras or Python way, gets a hint to itself", () => {
  it("walks enough of the schemas to matter", () => {
    const flat = LISTS.flat();
    for (const n of ["dense", "meanSquaredError", "relu", "adam", "valLoss", "exponentialDecay", "running"])
      expect(flat).toContain(n);
  });

  it("no two names of one list read the same once case and separators are dropped", () => {
    for (const list of LISTS) expect(new Set(list.map(normalizeName)).size, list.join(",")).toBe(list.length);
  });

  it("snake_case and Keras class case, every name", () => {
    for (const list of LISTS)
      for (const name of list)
        for (const variant of [snakeCase(name), kerasClassCase(name), name.toUpperCase()]) {
          if (variant === name) continue;
          expect(suggestName(variant, list), `${variant} in ${list.join(",")}`).toBe(name);
        }
  });

  it("any mix of case and separators (property)", () => {
    const pick = fc.constantFrom(...LISTS.flatMap((list) => list.map((name) => ({ list, name }))));
    fc.assert(
      fc.property(
        pick,
        fc.array(fc.boolean(), { minLength: 1, maxLength: 8 }),
        fc.array(fc.constantFrom("", "", "", "_", "-"), { minLength: 1, maxLength: 8 }),
        ({ list, name }, mask, seps) => {
          const sent = mangle(name, mask, seps);
          expect(sent === name ? name : suggestName(sent, list)).toBe(name);
        },
      ),
      { numRuns: 500 },
    );
  });

  it("over HTTP: every layer type and activation in Keras class case, at its path", async () => {
    const layers = LAYER_TYPES.map((t) => ({ type: kerasClassCase(t) })).filter((l) => l.type !== "Dense");
    const acts = ACTIVATIONS.map((a) => ({
      type: "dense",
      units: 2,
      activation: snakeCase(kerasClassCase(a)),
    }));
    const sentActs = acts.filter((l, i) => l.activation !== ACTIVATIONS[i]);
    const model = { inputShape: [2], layers: [...layers, ...sentActs], loss: "meanSquaredError" };
    const errors = errorsOf(await post(trainBody({ model, dataset: { x: [[0, 0]], y: [[0, 0]] } })));
    layers.forEach((l, i) => {
      const ours = LAYER_TYPES.find((t) => kerasClassCase(t) === l.type);
      expect(errors[`model.layers[${i}].type`]).toContain(`did you mean \`${ours}\`?`);
    });
    sentActs.forEach((l, i) => {
      const ours = ACTIVATIONS.find((a) => snakeCase(kerasClassCase(a)) === l.activation);
      expect(errors[`model.layers[${layers.length + i}].activation`]).toContain(`did you mean \`${ours}\`?`);
    });
    expect(Object.keys(errors)).toHaveLength(layers.length + sentActs.length);
  });

  it("over HTTP: every loss snake_cased and every optimizer in Keras class case", async () => {
    for (const loss of LOSSES) {
      const errors = errorsOf(await post(trainBody({ model: tinyModel(snakeCase(loss).toUpperCase()) })));
      expect(errors["model.loss"]).toContain(`did you mean \`${loss}\`?`);
    }
    for (const type of OPTIMIZERS) {
      const errors = errorsOf(await post(trainBody({ optimizer: { type: kerasClassCase(type) } })));
      expect(errors["optimizer.type"]).toContain(`did you mean \`${type}\`?`);
    }
  });
});

describe("suggestName", () => {
  it("suggests an alias only when its target is known", () => {
    expect(suggestName("mae", ["meanSquaredError"])).toBeUndefined();
    expect(suggestName("mae", ["meanSquaredError", "meanAbsoluteError"])).toBe("meanAbsoluteError");
    expect(suggestName("silu", ["relu", "swish"])).toBe("swish");
    expect(suggestName("lr", ["learningRate"], "fields")).toBe("learningRate");
    expect(suggestName("lr", ["learningRate"])).toBeUndefined();
    expect(suggestName("sparse_categorical_accuracy", ["accuracy", "auc"])).toBe("accuracy");
    expect(suggestName("KLD", ["kullbackLeiblerDivergence", "poisson"])).toBe("kullbackLeiblerDivergence");
    expect(suggestName("GlobalAvgPool2D", ["globalAveragePooling2d"])).toBe("globalAveragePooling2d");
  });

  it("prefers the exact spelling over an alias", () => {
    expect(suggestName("Accuracy", ["accuracy", "binaryAccuracy"])).toBe("accuracy");
    expect(suggestName("binary_accuracy", ["accuracy", "binaryAccuracy"])).toBe("binaryAccuracy");
  });

  it("suggests a field a near typo away, but not a far or ambiguous one", () => {
    expect(suggestName("learnigRate", ["learningRate", "momentum"], "fields")).toBe("learningRate");
    expect(suggestName("unit", ["units", "name"], "fields")).toBe("units");
    expect(suggestName("colour", ["units", "name"], "fields")).toBeUndefined();
    expect(suggestName("abcx", ["abcd", "abce"], "fields")).toBeUndefined();
    expect(suggestName("units", ["units"], "fields")).toBeUndefined();
  });

  it("never suggests another kind a letter or a digit away", () => {
    expect(suggestName("elu", ["relu", "sigmoid"])).toBeUndefined();
    expect(suggestName("AdamW", ["sgd", "adam"])).toBeUndefined();
    expect(suggestName("Conv1D", ["dense", "conv2d"])).toBeUndefined();
    expect(suggestName("dens", ["dense", "flatten"])).toBeUndefined();
    expect(suggestName("beta_3", ["beta1", "beta2"], "fields")).toBeUndefined();
  });
});
