/**
 * A trial job's median rule as its runner applies it (`StopRuleTracker`): the best objective so
 * far against the median of its step, and the best read back from stored events on a resume.
 */
import { describe, expect, it } from "vitest";
import { StopRuleTracker } from "../../src/service/jobs/stop-rule.js";

const rule = { metric: "valLoss", goal: "minimize" as const, medians: [1.0, 0.9, 0.8] };
const p = (epoch: number, valLoss?: number) => ({
  epoch,
  epochs: 10,
  ...(valLoss === undefined ? {} : { valLoss }),
});

describe("StopRuleTracker", () => {
  it("stops at the first epoch whose best so far is worse than that step's median", () => {
    const t = new StopRuleTracker(rule);
    expect(t.step(p(1, 0.95))).toBe(false); // 0.95 ≤ 1.0
    expect(t.step(p(2, 1.5))).toBe(true); // best 0.95 > 0.9
  });

  it("keeps the best (a later worse epoch does not stop it), goes on past the medians, skips a missing metric", () => {
    const t = new StopRuleTracker(rule);
    expect(t.step(p(1, 0.5))).toBe(false);
    expect(t.step(p(2))).toBe(false);
    expect(t.step(p(3, 5))).toBe(false); // best 0.5 ≤ 0.8
    expect(t.step(p(4, 9))).toBe(false); // no reference reached step 4
  });

  it("maximises the other way round", () => {
    const t = new StopRuleTracker({ metric: "valAccuracy", goal: "maximize", medians: [0.5, 0.7] });
    expect(t.step({ epoch: 1, valAccuracy: 0.6 })).toBe(false);
    expect(t.step({ epoch: 2, valAccuracy: 0.65 })).toBe(true); // best 0.65 < 0.7
  });

  it("resumes with the best of the stored epochs up to the checkpoint", () => {
    const stored = [1, 2, 3].map((e, i) => ({
      seq: e,
      type: "progress" as const,
      data: JSON.stringify(p(e, [0.85, 0.99, 0.1][i])),
    }));
    const t = new StopRuleTracker(rule);
    t.replay([...stored, { seq: 11, type: "succeeded", data: "{}" }], 2);
    // Best of epochs 1–2 is 0.85 (epoch 3's 0.1 lies past the checkpoint): 0.85 > 0.8 stops.
    expect(t.step(p(3, 0.9))).toBe(true);
    const fresh = new StopRuleTracker(rule);
    fresh.replay(stored, 3);
    expect(fresh.step(p(4, 0.9))).toBe(false);
  });
});
