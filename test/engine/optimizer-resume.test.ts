/**
 * Exact resume with every optimiser (docs/backprop.md §15): 10 epochs, then 10 more from the
 * returned `optimizerState`, equal 20 at once bit for bit, with a learning-rate schedule and
 * clipping; and the state check names the slot, key and shape at fault.
 */
import { describe, expect, it } from "vitest";
import {
  EngineError,
  type GradientOptimizerSpec,
  initWeights,
  type ModelSpec,
  type OptimizerState,
  train,
} from "../../src/engine/index.js";
import { decodeOptimizerState, encodeOptimizerState } from "../../src/service/store/tensor-codec.js";
import { randomBatch } from "./helpers.js";

const model: ModelSpec = {
  inputShape: [3],
  layers: [
    { type: "dense", units: 5, activation: "tanh" },
    { type: "dense", units: 2, activation: "softmax" },
  ],
  loss: "categoricalCrossentropy",
};
const data = randomBatch(model, 23, 2, 8);
const schedule = {
  type: "exponentialDecay" as const,
  initialLearningRate: 0.05,
  decaySteps: 7,
  decayRate: 0.8,
};

const specs: GradientOptimizerSpec[] = [
  { type: "sgd", learningRate: schedule, momentum: 0.9, nesterov: true, clipnorm: 0.5 },
  { type: "rmsprop", learningRate: schedule, momentum: 0.5, centered: true, globalClipnorm: 1 },
  { type: "rmsprop", learningRate: 0.01 },
  { type: "adagrad", learningRate: schedule, initialAccumulatorValue: 0.2, clipvalue: 0.05 },
  { type: "adadelta", learningRate: 1 },
  { type: "adadelta" },
  { type: "adamax", learningRate: schedule, clipnorm: 0.1 },
  { type: "nadam", learningRate: schedule },
  { type: "adamw", learningRate: schedule, weightDecay: 0.05, globalClipnorm: 0.3 },
];

const run = (optimizer: GradientOptimizerSpec, epochs: number, from?: Awaited<ReturnType<typeof train>>) =>
  train({
    model,
    data,
    optimizer,
    epochs,
    batchSize: 5,
    seed: 3,
    returnOptimizerState: true,
    initialWeights: from ? from.weights : initWeights(model, 3),
    ...(from ? { optimizerState: from.optimizerState } : {}),
  });

const bits = (a: ArrayLike<number> & ArrayBufferView) =>
  Array.from(new BigUint64Array(a.buffer, a.byteOffset, a.length));

describe("10 epochs, then 10 more from the state, equal 20 at once", () => {
  it.each(specs.map((s) => [JSON.stringify(s), s] as const))("%s", (_name, spec) => {
    const whole = run(spec, 20);
    const first = run(spec, 10);
    // Through the checkpoint codec too: the jobs' path.
    const state = decodeOptimizerState(encodeOptimizerState(first.optimizerState!));
    expect(state).toEqual(first.optimizerState);
    const second = run(spec, 10, { ...first, optimizerState: state });
    expect(whole.diverged).toBeUndefined();
    for (const key of Object.keys(whole.weights))
      expect(bits(second.weights[key]!.data), key).toEqual(bits(whole.weights[key]!.data));
    expect(second.history.loss).toEqual(whole.history.loss.slice(10));
    expect(second.optimizerState).toEqual(whole.optimizerState);
    expect(whole.optimizerState!.type).toBe(spec.type);
    expect(whole.optimizerState!.iterations).toBe(100);
    // Training did something.
    expect(whole.history.loss[19]).not.toBe(whole.history.loss[0]);
  });
});

describe("each optimiser's state carries its slots under their names", () => {
  const slotsOf = (spec: GradientOptimizerSpec) =>
    Object.keys(run(spec, 1).optimizerState!).filter(
      (k) => !["type", "iterations", "epochsCompleted", "shuffleRng", "shuffleOrder"].includes(k),
    );
  it.each([
    [{ type: "sgd", learningRate: 0.1 }, []],
    [{ type: "sgd", learningRate: 0.1, momentum: 0.5, nesterov: true }, ["velocity"]],
    [{ type: "rmsprop", learningRate: 0.1 }, ["meanSquare"]],
    [
      { type: "rmsprop", learningRate: 0.1, momentum: 0.2, centered: true },
      ["meanSquare", "momentum", "meanGradient"],
    ],
    [{ type: "adagrad", learningRate: 0.1 }, ["accumulator"]],
    [{ type: "adadelta" }, ["accumulatedGrad", "accumulatedUpdate"]],
    [{ type: "adamax", learningRate: 0.1 }, ["m", "u"]],
    [{ type: "nadam", learningRate: 0.1 }, ["m", "v"]],
    [{ type: "adamw", learningRate: 0.1 }, ["m", "v"]],
  ] as [GradientOptimizerSpec, string[]][])("%o keeps %o", (spec, slots) => {
    expect(slotsOf(spec)).toEqual(slots);
  });
  it("adagrad's accumulator starts at initialAccumulatorValue: after one step from a zero gradient it is still 0.3", () => {
    const r = train({
      model: {
        inputShape: [1],
        layers: [{ type: "dense", units: 1, useBias: false }],
        loss: "meanSquaredError",
      },
      data: { n: 1, x: Float64Array.of(0), y: Float64Array.of(0) },
      optimizer: { type: "adagrad", learningRate: 0.1, initialAccumulatorValue: 0.3 },
      epochs: 1,
      seed: 0,
      returnOptimizerState: true,
    });
    expect(Array.from(r.optimizerState!.accumulator!["dense_0/kernel"]!.data)).toEqual([0.3]);
  });
});

describe("a state that does not fit is an error naming the slot", () => {
  const spec: GradientOptimizerSpec = { type: "rmsprop", learningRate: 0.01, momentum: 0.5, centered: true };
  const good = run(spec, 1);
  const resume = (change: (s: OptimizerState) => OptimizerState, optimizer: GradientOptimizerSpec = spec) => {
    try {
      run(optimizer, 1, { ...good, optimizerState: change(structuredClone(good.optimizerState!)) });
    } catch (e) {
      expect(e).toBeInstanceOf(EngineError);
      return { path: (e as EngineError).path, message: (e as Error).message };
    }
    throw new Error("accepted");
  };
  it("a missing slot", () => {
    const { path, message } = resume(({ meanGradient: _, ...s }) => s);
    expect(path).toEqual(["optimizerState", "meanGradient"]);
    expect(message).toMatch(/rmsprop \(with momentum, centered\) needs meanGradient/);
  });
  it("a slot this optimiser does not keep", () => {
    const { path } = resume((s) => s, { ...spec, centered: false });
    expect(path).toEqual(["optimizerState", "meanGradient"]);
  });
  it("a wrong shape, naming the key", () => {
    const { path, message } = resume((s) => {
      s.momentum!["dense_1/bias"] = { shape: [3], data: new Float64Array(3) };
      return s;
    });
    expect(path).toEqual(["optimizerState", "momentum", "dense_1/bias"]);
    expect(message).toMatch(/\[2\]/);
  });
  it("a negative mean square", () => {
    const { path } = resume((s) => {
      s.meanSquare!["dense_0/bias"]!.data[1] = -1;
      return s;
    });
    expect(path).toEqual(["optimizerState", "meanSquare", "dense_0/bias"]);
  });
  it("another optimiser's state", () => {
    const { path, message } = resume((s) => s, { type: "adagrad", learningRate: 0.1 });
    expect(path).toEqual(["optimizerState", "type"]);
    expect(message).toMatch(/of the optimiser "rmsprop", but the optimiser is adagrad/);
  });
});
