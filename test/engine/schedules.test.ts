/**
 * Learning-rate schedules: Keras' formulas at chosen steps, their validation, and that sgd,
 * momentum and adam step with the scheduled rate of every update.
 */
import { describe, expect, it } from "vitest";
import {
  EngineError,
  type LearningRate,
  type LearningRateScheduleSpec,
  type ModelSpec,
  makeSchedule,
  type OptimizerSpec,
  train,
} from "../../src/engine/index.js";

const at = (lr: LearningRate, steps: number[]) => {
  const f = makeSchedule(lr, ["optimizer", "learningRate"]);
  return steps.map(f);
};

describe("schedules are Keras' formulas at optimiser step s", () => {
  it("exponentialDecay: η0 · r^(s / decaySteps), floored exponent with staircase", () => {
    const spec = {
      type: "exponentialDecay",
      initialLearningRate: 0.1,
      decaySteps: 10,
      decayRate: 0.5,
    } as const;
    const [s0, s5, s10, s25] = at(spec, [0, 5, 10, 25]);
    expect(s0).toBe(0.1);
    expect(s5).toBeCloseTo(0.1 * Math.SQRT1_2, 16); // 0.0707106781…
    expect(s10).toBe(0.05);
    expect(s25).toBeCloseTo(0.1 * 0.5 ** 2.5, 16);
    expect(at({ ...spec, staircase: true }, [0, 9, 10, 25, 29, 30])).toEqual([
      0.1, 0.1, 0.05, 0.025, 0.025, 0.0125,
    ]);
  });

  it("piecewiseConstantDecay: values[0] up to and including boundaries[0], and so on", () => {
    const spec: LearningRate = {
      type: "piecewiseConstantDecay",
      boundaries: [10, 20],
      values: [1, 0.5, 0.1],
    };
    expect(at(spec, [0, 10, 11, 20, 21, 1e6])).toEqual([1, 1, 0.5, 0.5, 0.1, 0.1]);
  });

  it("cosineDecay: η0 · ((1 − α)·½(1 + cos(π·min(s, D)/D)) + α)", () => {
    const spec = { type: "cosineDecay", initialLearningRate: 2, decaySteps: 100 } as const;
    const [s0, s25, s50, s100, s1000] = at(spec, [0, 25, 50, 100, 1000]);
    expect(s0).toBe(2);
    expect(s25).toBeCloseTo(1 + Math.SQRT1_2, 15); // 2·½(1 + cos(π/4)) = 1.7071067811865475
    expect(s50).toBeCloseTo(1, 15);
    expect(s100).toBe(0);
    expect(s1000).toBe(0); // held at the end
    const floored = at({ ...spec, alpha: 0.1 }, [0, 50, 100, 500]);
    expect(floored[0]).toBe(2);
    expect(floored[1]).toBeCloseTo(2 * (0.9 * 0.5 + 0.1), 15); // 1.1
    expect(floored[2]).toBeCloseTo(0.2, 15);
    expect(floored[3]).toBeCloseTo(0.2, 15);
  });

  it("cosineDecay with warm-up: linear from η0 to the target, then the cosine from the target", () => {
    const spec = {
      type: "cosineDecay",
      initialLearningRate: 0,
      decaySteps: 100,
      warmupTarget: 0.1,
      warmupSteps: 10,
    } as const;
    const [s0, s5, s10, s60, s110, s500] = at(spec, [0, 5, 10, 60, 110, 500]);
    expect(s0).toBe(0);
    expect(s5).toBeCloseTo(0.05, 16);
    expect(s10).toBe(0.1);
    expect(s60).toBeCloseTo(0.05, 16);
    expect(s110).toBe(0);
    expect(s500).toBe(0);
  });

  it.each<[string, LearningRate, (string | number)[]]>([
    ["a negative rate", -0.1, []],
    ["a NaN rate", Number.NaN, []],
    [
      "decaySteps 0",
      { type: "exponentialDecay", initialLearningRate: 0.1, decaySteps: 0, decayRate: 0.5 },
      ["decaySteps"],
    ],
    [
      "a negative decayRate",
      { type: "exponentialDecay", initialLearningRate: 0.1, decaySteps: 5, decayRate: -1 },
      ["decayRate"],
    ],
    [
      "boundaries not increasing",
      { type: "piecewiseConstantDecay", boundaries: [5, 5], values: [1, 2, 3] },
      ["boundaries", 1],
    ],
    ["one value too few", { type: "piecewiseConstantDecay", boundaries: [5], values: [1] }, ["values"]],
    ["no boundaries", { type: "piecewiseConstantDecay", boundaries: [], values: [1] }, ["boundaries"]],
    ["a negative value", { type: "piecewiseConstantDecay", boundaries: [5], values: [1, -1] }, ["values", 1]],
    ["alpha above 1", { type: "cosineDecay", initialLearningRate: 1, decaySteps: 10, alpha: 2 }, ["alpha"]],
    [
      "an unknown type",
      { type: "polynomial", initialLearningRate: 1 } as unknown as LearningRateScheduleSpec,
      ["type"],
    ],
  ])("rejects %s with the path of the field", (_, lr, tail) => {
    const spec: ModelSpec = {
      inputShape: [1],
      layers: [{ type: "dense", units: 1 }],
      loss: "meanSquaredError",
    };
    const run = () =>
      train({
        model: spec,
        data: { n: 1, x: Float64Array.from([1]), y: Float64Array.from([1]) },
        optimizer: { type: "sgd", learningRate: lr },
        epochs: 1,
        seed: 0,
      });
    expect(run).toThrow(EngineError);
    try {
      run();
    } catch (e) {
      expect((e as EngineError).path).toEqual(["optimizer", "learningRate", ...tail]);
    }
  });
});

describe("optimisers step with the scheduled rate of every update", () => {
  // The problem of docs/backprop.md §11.1: x = 2, y = 2, dense 1→1 without bias, MSE: ∂L/∂w = 8(w − 1) exactly in floating point.
  const model: ModelSpec = {
    inputShape: [1],
    layers: [{ type: "dense", units: 1, useBias: false }],
    loss: "meanSquaredError",
  };
  const run = (optimizer: OptimizerSpec, epochs: number, w0 = 0) =>
    train({
      model,
      data: { n: 1, x: Float64Array.from([2]), y: Float64Array.from([2]) },
      optimizer,
      epochs,
      seed: 0,
      initialWeights: { "dense_0/kernel": { shape: [1, 1], data: Float64Array.from([w0]) } },
    });
  const w = (r: ReturnType<typeof run>) => r.weights["dense_0/kernel"]!.data[0]!;

  it("sgd: the first update uses step 0 (0.0625: w = 0.5), the second step 1 (0.125: w = 1)", () => {
    const r = run(
      {
        type: "sgd",
        learningRate: { type: "piecewiseConstantDecay", boundaries: [0], values: [0.0625, 0.125] },
      },
      3,
    );
    expect(r.history.loss).toEqual([4, 1, 0]);
    expect(w(r)).toBe(1);
  });

  it("a schedule that stays constant gives bit-identical weights to the plain number", () => {
    for (const type of ["sgd", "adam"] as const) {
      const plain = run({ type, learningRate: 0.01 }, 7, 0.3);
      const scheduled = run(
        {
          type,
          learningRate: { type: "exponentialDecay", initialLearningRate: 0.01, decaySteps: 3, decayRate: 1 },
        },
        7,
        0.3,
      );
      expect(scheduled.weightsSha256).toBe(plain.weightsSha256);
    }
  });

  const schedule = {
    type: "exponentialDecay",
    initialLearningRate: 0.05,
    decaySteps: 2,
    decayRate: 0.5,
  } as const;
  const rate = makeSchedule(schedule, []);

  it("sgd with momentum: v ← μ·v − η_s·g, w ← w + v with η_s per step", () => {
    let wRef = 0.2;
    let v = 0;
    for (let s = 0; s < 6; s++) {
      v = 0.9 * v - rate(s) * (8 * (wRef - 1));
      wRef += v;
    }
    expect(w(run({ type: "sgd", learningRate: schedule, momentum: 0.9 }, 6, 0.2))).toBe(wRef);
    // and the schedule matters: the constant initial rate ends elsewhere
    expect(w(run({ type: "sgd", learningRate: 0.05, momentum: 0.9 }, 6, 0.2))).not.toBe(wRef);
  });

  it("adam: η_s·m̂/(√v̂ + ε) with η_s per step", () => {
    let wRef = 0.2;
    let m = 0;
    let v = 0;
    for (let s = 0; s < 6; s++) {
      const g = 8 * (wRef - 1);
      const t = s + 1;
      m = 0.9 * m + (1 - 0.9) * g;
      v = 0.999 * v + (1 - 0.999) * g * g;
      wRef -= (rate(s) * (m / (1 - 0.9 ** t))) / (Math.sqrt(v / (1 - 0.999 ** t)) + 1e-7);
    }
    expect(w(run({ type: "adam", learningRate: schedule }, 6, 0.2))).toBe(wRef);
  });
});
