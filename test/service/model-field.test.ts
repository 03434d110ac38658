/**
 * The `model` field's three forms are told apart by their keys, not tried in turn: an ordinary
 * ModelSpec gets exactly the issues `ModelSpecSchema` alone gives (the union adds none), and the
 * other forms only their own.
 */
import { describe, expect, it } from "vitest";
import { NamedTensorsInputSchema } from "../../src/schemas/common.js";
import { ModelSpecSchema } from "../../src/schemas/model.js";
import { ModelFieldSchema, WeightsFieldSchema } from "../../src/schemas/model-refs.js";

const issues = (
  schema: { safeParse(v: unknown): { success: boolean; error?: { issues: unknown[] } } },
  v: unknown,
) => schema.safeParse(v).error?.issues;

describe("ModelFieldSchema", () => {
  it.each([
    [
      "a layer with a bad size",
      { inputShape: [2], layers: [{ type: "dense", units: 0 }], loss: "meanSquaredError" },
    ],
    [
      "an unknown kind",
      { inputShape: [2], layers: [{ type: "convLstm2d", filters: 3 }], loss: "meanSquaredError" },
    ],
    ["a missing loss and an unknown key", { inputShape: [2], layers: [{ type: "flatten" }], lr: 1 }],
    ["not an object", "dense"],
    ["null", null],
  ])("%s: the issues of ModelSpecSchema alone", (_, value) => {
    const own = issues(ModelSpecSchema, value);
    expect(own).toBeDefined();
    expect(issues(ModelFieldSchema, value)).toEqual(own);
  });

  it("accepts a spec, a stored model's id and a Keras topology, each as itself", () => {
    const spec = { inputShape: [2], layers: [{ type: "dense", units: 1 }], loss: "meanSquaredError" };
    expect(ModelFieldSchema.parse(spec)).toEqual(spec);
    expect(ModelFieldSchema.parse({ modelId: "mdl_x" })).toEqual({ modelId: "mdl_x" });
    const keras = {
      class_name: "Sequential",
      config: { layers: [{ class_name: "Dense", config: { units: 1 } }] },
    };
    expect(ModelFieldSchema.parse(keras)).toEqual(keras);
  });

  it("a value with modelId is checked as a reference only", () => {
    expect(issues(ModelFieldSchema, { modelId: 3, layers: [] })).toEqual([
      expect.objectContaining({ code: "invalid_type", path: ["modelId"] }),
      expect.objectContaining({ code: "unrecognized_keys", keys: ["layers"] }),
    ]);
  });

  it("a value with class_name is checked as a Keras topology only", () => {
    expect(
      issues(ModelFieldSchema, {
        class_name: "Sequential",
        config: { layers: [{ class_name: "Dense", config: null }] },
      }),
    ).toEqual([expect.objectContaining({ code: "invalid_type", path: ["config", "layers", 0, "config"] })]);
  });
});

describe("WeightsFieldSchema", () => {
  it("weights by name get the record's own issues; { modelId } is a reference", () => {
    const bad = { "dense_0/kernel": [[1, "x"]] };
    expect(issues(WeightsFieldSchema, bad)).toEqual(issues(NamedTensorsInputSchema, bad));
    expect(WeightsFieldSchema.parse({ modelId: "mdl_x" })).toEqual({ modelId: "mdl_x" });
    expect(WeightsFieldSchema.optional().parse(undefined)).toBeUndefined();
  });
});
