/**
 * The playground's menus (web/src/options.ts) against the service's schemas: every activation,
 * loss and optimiser the schemas take is offered (normalEquation aside, on purpose), and nothing
 * else. No browser needed: the lists are plain data.
 */
import { describe, expect, it } from "vitest";
import { ActivationSchema, LayerSchema, LossSchema, OptimizerSchema } from "../../src/schemas/index.js";
import {
  ACTIVATION_LAYERS,
  ACTIVATIONS,
  DEFAULT_LOSS,
  LOSSES,
  lossesFor,
  OPTIMIZERS,
  OPTIMIZERS_LEFT_OUT,
} from "../../web/src/options.js";

const sorted = (values: Iterable<string>) => [...values].sort();

/** The `type` literal of each option of a discriminated union. */
const types = (union: { options: readonly unknown[] }) =>
  union.options.map((o) => (o as { shape: { type: { value: string } } }).shape.type.value);

describe("the playground's menus are the schemas' enums", () => {
  it("activations: all of the Activation enum", () => {
    expect(sorted(ACTIVATIONS)).toEqual(sorted(ActivationSchema.options));
    expect(new Set(ACTIVATIONS).size).toBe(ACTIVATIONS.length);
  });

  it("the advanced-activation layers offered are layer types of the schema", () => {
    const layerTypes = types(LayerSchema);
    for (const t of ACTIVATION_LAYERS) expect(layerTypes).toContain(t);
  });

  it("losses: all of the Loss enum, each fitting classification, regression or both", () => {
    const names = (LossSchema.options[0] as { options: string[] }).options;
    expect(sorted(Object.keys(LOSSES))).toEqual(sorted(names));
    // every loss is offered for some data, and the defaults are offered for theirs
    expect(sorted(new Set([...lossesFor(true), ...lossesFor(false)]))).toEqual(sorted(names));
    expect(lossesFor(true)).toContain(DEFAULT_LOSS.classification);
    expect(lossesFor(false)).toContain(DEFAULT_LOSS.regression);
    expect(lossesFor(true)[0]).toBe("sparseCategoricalCrossentropy");
    expect(lossesFor(false)).not.toContain("sparseCategoricalCrossentropy");
    expect(lossesFor(true)).not.toContain("meanAbsolutePercentageError");
  });

  it("optimisers: all of the Optimizer union but normalEquation", () => {
    expect(sorted([...OPTIMIZERS, ...OPTIMIZERS_LEFT_OUT])).toEqual(sorted(types(OptimizerSchema)));
    expect(OPTIMIZERS_LEFT_OUT).toEqual(["normalEquation"]);
    expect(OPTIMIZERS[0]).toBe("adam");
  });

  it("the output layer each loss calls for: softmax over 3 classes, one unit for 2 where it reads 0/1", () => {
    expect(LOSSES.sparseCategoricalCrossentropy.classes?.(3)).toEqual({ units: 3, activation: "softmax" });
    expect(LOSSES.meanSquaredError.classes?.(2)).toEqual({ units: 1, activation: "sigmoid" });
    expect(LOSSES.meanSquaredError.classes?.(3)).toEqual({ units: 3, activation: "softmax" });
    expect(LOSSES.hinge.classes?.(2)).toEqual({ units: 1, activation: "linear" });
    expect(LOSSES.categoricalHinge.classes?.(2)).toEqual({ units: 2, activation: "linear" });
    expect(LOSSES.poisson.regression).toEqual({ units: 1, activation: "softplus" });
  });
});
