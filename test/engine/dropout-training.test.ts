/**
 * Dropout in whole runs (docs/backprop.md §18.3, §18.4): masks from the request's seed or the
 * layer's own, independent of the weights' source; 10 + 10 epochs equal 20 through
 * `optimizerState.dropoutRng`, which is checked with paths; with batch normalisation in
 * `/gradients`; with telemetry, early stopping and NaN forensics.
 */
import { describe, expect, it } from "vitest";
import {
  computeGradients,
  initWeights,
  type ModelSpec,
  type TrainOptions,
  train,
} from "../../src/engine/index.js";
import { Rng } from "../../src/engine/rng.js";
import { expectGradientsMatch, expectTenPlusTenIsTwenty, randomBatch } from "./helpers.js";

const hiddenSpec = (dropout: object): ModelSpec => ({
  inputShape: [4],
  layers: [
    { type: "dense", units: 6, activation: "tanh", name: "hidden" },
    { type: "dropout", rate: 0.5, name: "drop", ...dropout },
    { type: "dense", units: 3, activation: "softmax", name: "out" },
  ],
  loss: "sparseCategoricalCrossentropy",
});

describe("dropout: determinism", () => {
  const spec = hiddenSpec({});
  const batch = randomBatch(spec, 4, 3, 15);
  const masksOf = (model: ModelSpec, seed: number, extra: object = {}) =>
    computeGradients({ model, seed, data: batch, ...extra }).dropoutMasks!.drop!.data;

  it("the same request gives the same masks; another seed other masks", () => {
    expect(masksOf(spec, 1)).toEqual(masksOf(spec, 1));
    expect(masksOf(spec, 1)).not.toEqual(masksOf(spec, 2));
  });

  it("the layer's seed fixes its masks whatever the request's seed, and changing it changes them", () => {
    const seeded = hiddenSpec({ seed: 99 });
    expect(masksOf(seeded, 1)).toEqual(masksOf(seeded, 2));
    expect(masksOf(seeded, 1)).not.toEqual(masksOf(hiddenSpec({ seed: 100 }), 1));
    expect(masksOf(seeded, 1)).not.toEqual(masksOf(spec, 1));
  });

  it("the masks do not depend on whether the weights are seeded or given", () => {
    const weights = computeGradients({ model: spec, seed: 77, data: batch }).weights;
    expect(masksOf(spec, 1, { weights })).toEqual(masksOf(spec, 1));
  });

  it("two dropout layers draw from different streams", () => {
    const two: ModelSpec = {
      inputShape: [16],
      layers: [
        { type: "dropout", rate: 0.5, name: "a" },
        { type: "dense", units: 16, kernelInitializer: "ones", name: "d" },
        { type: "dropout", rate: 0.5, name: "b" },
      ],
      loss: "meanSquaredError",
    };
    const r = computeGradients({ model: two, seed: 3, data: randomBatch(two, 1, 16, 1) });
    expect(r.dropoutMasks!.a!.data).not.toEqual(r.dropoutMasks!.b!.data);
  });
});

describe("dropout: training runs", () => {
  const spec = hiddenSpec({ rate: 0.3 });
  const base: Omit<TrainOptions, "epochs"> = {
    model: spec,
    data: randomBatch(spec, 30, 3, 21),
    optimizer: { type: "adam", learningRate: 0.01 },
    batchSize: 8,
    seed: 6,
    validationSplit: 0.2,
  };

  it("dropout changes training, the same options give bit-identical results", () => {
    const a = train({ ...base, epochs: 5 });
    expect(train({ ...base, epochs: 5 }).weightsSha256).toBe(a.weightsSha256);
    const noDrop = train({ ...base, model: hiddenSpec({ rate: 0 }), epochs: 5 });
    expect(noDrop.weightsSha256).not.toBe(a.weightsSha256);
    // With the same initial weights too: the masks come from the seed, not from the weights' source.
    const init = initWeights(spec, base.seed);
    expect(train({ ...base, epochs: 5, initialWeights: init }).weightsSha256).toBe(a.weightsSha256);
  });

  it("10 epochs, then 10 more from the returned optimizerState, equal 20 at once", () => {
    const { first, whole } = expectTenPlusTenIsTwenty(base, ["drop"]);
    // Resuming with a fresh stream instead (the state's streams removed) trains differently.
    const { dropoutRng: _, ...stateless } = first.optimizerState!;
    const reseeded = { ...stateless, dropoutRng: { drop: new Rng(1234).getState() } };
    const other = train({ ...base, epochs: 10, initialWeights: first.weights, optimizerState: reseeded });
    expect(other.weightsSha256).not.toBe(whole.weightsSha256);
  });

  it("a model without dropout returns no dropoutRng", () => {
    const plain = hiddenSpec({});
    const r = train({
      ...base,
      model: { ...plain, layers: [plain.layers[0]!, plain.layers[2]!] },
      epochs: 1,
      returnOptimizerState: true,
    });
    expect("dropoutRng" in r.optimizerState!).toBe(false);
  });

  it("restoreBestWeights returns the best epoch's streams, and continuing from them is exact", () => {
    const opts = {
      ...base,
      epochs: 12,
      returnOptimizerState: true,
      earlyStopping: { monitor: "loss" as const, patience: 0, minDelta: 10, restoreBestWeights: true },
    };
    const r = train(opts);
    expect(r.bestEpoch).toBe(0);
    const best = r.optimizerState!;
    expect(best.epochsCompleted).toBe(1);
    // One epoch from the start, then one more from the best state, equal two epochs at once.
    const two = train({ ...base, epochs: 2 });
    const cont = train({ ...base, epochs: 1, initialWeights: r.weights, optimizerState: best });
    expect(cont.weightsSha256).toBe(two.weightsSha256);
  });

  it.each([
    [(s: Record<string, unknown>) => ({ ...s, dropoutRng: undefined }), ["optimizerState", "dropoutRng"]],
    [(s: Record<string, unknown>) => ({ ...s, dropoutRng: {} }), ["optimizerState", "dropoutRng", "drop"]],
    [
      (s: Record<string, unknown>) => ({ ...s, dropoutRng: { drop: [0, 0, 0, 0] } }),
      ["optimizerState", "dropoutRng", "drop"],
    ],
    [
      (s: Record<string, unknown>) => ({ ...s, dropoutRng: { drop: [1, 2, 3, 4], other: [1, 2, 3, 4] } }),
      ["optimizerState", "dropoutRng", "other"],
    ],
  ])("a state whose dropoutRng does not fit is an error at its path (%#)", (change, path) => {
    const first = train({ ...base, epochs: 1, returnOptimizerState: true });
    const state = change(first.optimizerState! as unknown as Record<string, unknown>);
    if (state.dropoutRng === undefined) delete state.dropoutRng;
    expect(() =>
      train({
        ...base,
        epochs: 1,
        initialWeights: first.weights,
        optimizerState: state as unknown as TrainOptions["optimizerState"] & object,
      }),
    ).toThrow(expect.objectContaining({ path }));
  });
});

describe("dropout with batch normalisation in /gradients", () => {
  const spec: ModelSpec = {
    inputShape: [3],
    layers: [
      { type: "dense", units: 5, activation: "tanh", name: "hidden" },
      { type: "batchNormalization", name: "bn" },
      { type: "dropout", rate: 0.4, name: "drop" },
      { type: "dense", units: 2, name: "out" },
    ],
    loss: "meanSquaredError",
  };
  const batch = randomBatch(spec, 4, 2, 31);

  it("training: batch statistics and the drawn masks, checked numerically (< 1e-7); moving statistics untouched", () => {
    const r = expectGradientsMatch(spec, batch, { tolerance: 1e-7, seed: 2 });
    expect([...r.dropoutMasks!.drop!.data]).toContain(0);
    expect([...r.weights["bn/moving_mean"]!.data]).toEqual([0, 0, 0, 0, 0]);
    expect([...r.weights["bn/moving_variance"]!.data]).toEqual([1, 1, 1, 1, 1]);
    // Batch statistics: the normalised hidden layer has mean 0 over the batch, in every unit.
    const bn = r.activations[1]!.output.data;
    for (let j = 0; j < 5; j++) {
      let mean = 0;
      for (let s = 0; s < 4; s++) mean += bn[s * 5 + j]! / 4;
      expect(Math.abs(mean)).toBeLessThan(1e-12);
    }
  });

  it("training: false normalises with the moving statistics and drops nothing", () => {
    const r = computeGradients({ model: spec, seed: 2, data: batch, training: false, numericalCheck: {} });
    expect(r.dropoutMasks).toBeUndefined();
    expect(r.numerical!.maxRelError).toBeLessThan(1e-7);
    // Moving mean 0, variance 1, epsilon 1e-3: bn(x) = x / √1.001, and dropout passes it on.
    const hidden = r.activations[0]!.output.data;
    const bn = r.activations[1]!.output.data;
    const drop = r.activations[2]!.output.data;
    for (let i = 0; i < hidden.length; i++) {
      expect(bn[i]).toBeCloseTo(hidden[i]! / Math.sqrt(1.001), 14);
      expect(drop[i]).toBe(bn[i]);
    }
  });
});

describe("dropout with telemetry, early stopping and NaN forensics", () => {
  const spec: ModelSpec = {
    inputShape: [4],
    layers: [
      { type: "dense", units: 8, activation: "relu", name: "hidden" },
      { type: "dropout", rate: 0.5, name: "drop" },
      { type: "dense", units: 1, name: "out" },
    ],
    loss: "meanSquaredError",
  };
  const data = randomBatch(spec, 20, 1, 41);

  it("telemetry and early stopping run with it, deterministically", () => {
    const opts: TrainOptions = {
      model: spec,
      data,
      optimizer: { type: "sgd", learningRate: 0.05 },
      epochs: 30,
      batchSize: 4,
      seed: 9,
      validationSplit: 0.25,
      telemetry: true,
      earlyStopping: { monitor: "valLoss", patience: 2, restoreBestWeights: true },
    };
    const a = train(opts);
    expect(a.telemetry!.gradientNorm["hidden/kernel"]).toHaveLength(a.epochsRun);
    expect(a.telemetry!.activations["hidden"]!.deadFraction).toHaveLength(a.epochsRun);
    expect(train(opts).weightsSha256).toBe(a.weightsSha256);
    expect(a.history.valLoss).toHaveLength(a.epochsRun);
  });

  it("a divergence through dropout is reported, naming the stage and a layer", () => {
    const r = train({
      model: spec,
      data,
      optimizer: { type: "sgd", learningRate: 1e9 },
      epochs: 20,
      batchSize: 4,
      seed: 9,
    });
    expect(r.diverged).toBeDefined();
    expect(["activation", "loss", "gradient", "weight"]).toContain(r.diverged!.stage);
    for (const w of Object.values(r.weights)) expect(w.data.every(Number.isFinite)).toBe(true);
  });
});
