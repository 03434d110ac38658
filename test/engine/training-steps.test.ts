/**
 * The named steps of a gradient-descent run (src/engine/training), each on its own: the ordinal
 * in divergence messages, the distance to the optimum, early stopping's snapshot and restore,
 * and the run state a continued run starts from.
 */
import { describe, expect, it } from "vitest";
import { EarlyStopping } from "../../src/engine/early-stopping.js";
import { EngineError } from "../../src/engine/errors.js";
import type { Param } from "../../src/engine/layers/layer.js";
import { makeOptimizer } from "../../src/engine/optimizers.js";
import { EarlyStop } from "../../src/engine/training/best-weights.js";
import { ordinal } from "../../src/engine/training/divergence.js";
import { EpochLog } from "../../src/engine/training/epoch-log.js";
import { distanceTo } from "../../src/engine/training/optimum.js";
import { RunState } from "../../src/engine/training/run-state.js";

const param = (key: string, values: number[]): Param => ({
  key,
  shape: [values.length],
  value: Float64Array.from(values),
  grad: new Float64Array(values.length),
});
const tensor = (values: number[]) => ({ shape: [values.length], data: Float64Array.from(values) });

describe("ordinal", () => {
  it("names epochs as English ordinals, teens included", () => {
    expect([1, 2, 3, 4, 11, 12, 13, 21, 22, 23, 101, 111, 112].map(ordinal)).toEqual([
      "1st",
      "2nd",
      "3rd",
      "4th",
      "11th",
      "12th",
      "13th",
      "21st",
      "22nd",
      "23rd",
      "101st",
      "111th",
      "112th",
    ]);
  });
});

describe("distanceTo (docs/backprop.md §9.4)", () => {
  it("is the Frobenius norm over kernel and bias together", () => {
    const params = [param("d/kernel", [3, 1]), param("d/bias", [2])];
    const target = { "d/kernel": tensor([0, 1]), "d/bias": tensor([6]) };
    expect(distanceTo(params, target)).toBe(5); // √(3² + 0² + 4²)
    expect(distanceTo(params, { "d/kernel": tensor([3, 1]), "d/bias": tensor([2]) })).toBe(0);
  });

  it("stays finite where the plain sum of squares would overflow", () => {
    const params = [param("d/kernel", [1e300, -1e300])];
    expect(distanceTo(params, { "d/kernel": tensor([0, 0]) })).toBeCloseTo(Math.SQRT2 * 1e300, -285);
    expect(Number.isFinite(distanceTo(params, { "d/kernel": tensor([0, 0]) }))).toBe(true);
  });
});

describe("EpochLog", () => {
  it("keeps the series the run has and hands back each epoch's logs", () => {
    const log = new EpochLog(true, false, true);
    const logs = log.record(4, 6, { correct: 3, counted: 4 }, 4, undefined, { valLoss: 0.5, valAccuracy: 1 });
    expect(logs).toEqual({ epoch: 4, loss: 1.5, accuracy: 0.75, valLoss: 0.5, valAccuracy: 1 });
    expect(log.history).toEqual({ loss: [1.5], accuracy: [0.75], valLoss: [0.5], valAccuracy: [1] });
    const regression = new EpochLog(false, true, false);
    expect(regression.record(0, 2, { correct: 0, counted: 0 }, 4, 0.25, {})).toEqual({
      epoch: 0,
      loss: 0.5,
      distanceToOptimum: 0.25,
    });
    expect(regression.history).toEqual({ loss: [0.5], distanceToOptimum: [0.25] });
  });
});

describe("EarlyStop", () => {
  it("restores the best epoch's weights and optimiser state", () => {
    const p = param("d/kernel", [0]);
    const rule = new EarlyStopping({ monitor: "loss", patience: 1, restoreBestWeights: true }, false);
    const stop = new EarlyStop(rule, [p], true);
    const losses = [1, 0.5, 0.7, 0.8];
    let stoppedAt = -1;
    for (let epoch = 0; epoch < losses.length && stoppedAt < 0; epoch++) {
      p.value[0] = 10 + epoch; // the weights after this epoch
      const state = { epochsCompleted: epoch + 1 } as never;
      if (stop.update(epoch, losses[epoch]!, undefined, () => state)) stoppedAt = epoch;
    }
    expect(stoppedAt).toBe(2);
    expect(rule.bestEpoch).toBe(1);
    expect(stop.restore(undefined)).toEqual({ epochsCompleted: 2 });
    expect(p.value[0]).toBe(11);
  });

  it("leaves weights and state alone without restoreBestWeights", () => {
    const p = param("d/kernel", [7]);
    const stop = new EarlyStop(new EarlyStopping({ monitor: "loss" }, false), [p], true);
    expect(stop.update(0, 1, undefined, () => ({}) as never)).toBe(false);
    const current = { epochsCompleted: 1 } as never;
    expect(stop.restore(current)).toBe(current);
    expect(p.value[0]).toBe(7);
  });
});

describe("RunState", () => {
  it("continues exactly: a snapshot resumed gives the same next shuffles", () => {
    const params = [param("d/kernel", [0.5, -0.5])];
    const spec = { type: "sgd", learningRate: 0.1, momentum: 0.9 } as const;
    const a = new RunState(3, 6);
    expect(Array.from(a.order)).toEqual([0, 1, 2, 3, 4, 5]);
    a.shuffle();
    const optimizer = makeOptimizer(spec, params);
    const saved = a.snapshot(optimizer, 1);
    expect(saved.epochsCompleted).toBe(1);
    expect([...saved.shuffleOrder].sort()).toEqual([0, 1, 2, 3, 4, 5]);
    const b = new RunState(999, 6);
    b.resume(saved, spec, params, makeOptimizer(spec, params));
    expect(b.initialEpoch).toBe(1);
    a.shuffle();
    b.shuffle();
    expect(Array.from(b.order)).toEqual(Array.from(a.order));
  });

  it("rejects an order that is not a permutation of this run's samples, naming the field", () => {
    const params = [param("d/kernel", [0])];
    const spec = { type: "sgd", learningRate: 0.1 } as const;
    const saved = new RunState(1, 3).snapshot(makeOptimizer(spec, params), 1);
    const resume = (order: number[]) =>
      new RunState(1, 3).resume({ ...saved, shuffleOrder: order }, spec, params, makeOptimizer(spec, params));
    for (const order of [
      [0, 1],
      [0, 1, 1],
      [0, 1, 3],
    ]) {
      expect(() => resume(order)).toThrow(EngineError);
      try {
        resume(order);
      } catch (e) {
        expect((e as EngineError).path).toEqual(["optimizerState", "shuffleOrder"]);
      }
    }
    expect(() => resume([2, 0, 1])).not.toThrow();
  });
});
