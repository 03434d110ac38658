/**
 * The search algorithms on known functions: TPE against random search over many seeds, grid
 * order, the decoding of each range, the derived seeds, and the median rule by hand.
 */
import { describe, expect, it } from "vitest";
import type { SearchRange } from "../../../src/schemas/tuning.js";
import { median, medianStops, medianThresholds, stopsAt } from "../../../src/service/tuning/median.js";
import { decode, derivedSeed, gridPoint, propose, trialCount } from "../../../src/service/tuning/search.js";
import { type Param, parseSpace } from "../../../src/service/tuning/space.js";
import { normalCdf, type Observation, TPE_STARTUP } from "../../../src/service/tuning/tpe.js";

const params = (space: Record<string, SearchRange>, algorithm: "grid" | "random" | "bayesian" = "random") =>
  parseSpace(space, { a: {}, b: {}, c: {} }, algorithm);

/** Branin–Hoo on x1 ∈ [−5, 10], x2 ∈ [0, 15]: its minimum is 0.397887 (at three points). */
function branin(x1: number, x2: number): number {
  const b = 5.1 / (4 * Math.PI ** 2);
  const c = 5 / Math.PI;
  return (x2 - b * x1 ** 2 + c * x1 - 6) ** 2 + 10 * (1 - 1 / (8 * Math.PI)) * Math.cos(x1) + 10;
}
const BRANIN_MIN = 0.397887357729738;

/** The best value a search finds in `trials` sequential trials of `f` over `space`. */
function search(
  algorithm: "random" | "bayesian",
  space: Param[],
  seed: number,
  trials: number,
  f: (values: number[]) => number,
): number {
  const observations: Observation[] = [];
  let best = Number.POSITIVE_INFINITY;
  for (let i = 0; i < trials; i++) {
    const point = propose(algorithm, space, seed, i, observations);
    const loss = f(point.map((x, d) => decode(space[d]!, x) as number));
    observations.push({ point, loss });
    best = Math.min(best, loss);
  }
  return best;
}

describe("TPE against random search", () => {
  const SEEDS = 40;
  const TRIALS = 40;

  it("finds a lower Branin value on most seeds and on average", () => {
    const space = params({
      "a.x": { type: "uniform", min: -5, max: 10 },
      "b.y": { type: "uniform", min: 0, max: 15 },
    });
    const f = ([x, y]: number[]) => branin(x!, y!) - BRANIN_MIN;
    let wins = 0;
    let tpe = 0;
    let random = 0;
    for (let seed = 1; seed <= SEEDS; seed++) {
      const t = search("bayesian", space, seed, TRIALS, f);
      const r = search("random", space, seed, TRIALS, f);
      if (t < r) wins++;
      tpe += t / SEEDS;
      random += r / SEEDS;
    }
    expect(wins).toBeGreaterThanOrEqual(Math.ceil(SEEDS * 0.65));
    // 40 seeds: mean regret 0.676 (TPE) against 1.463 (random); TPE lower on 32.
    expect(tpe).toBeLessThan(0.6 * random);
  });

  it("does better on a learning rate × width bowl (logUniform, int and a choice)", () => {
    const space = params({
      "a.learningRate": { type: "logUniform", min: 1e-5, max: 1 },
      "b.units": { type: "int", min: 1, max: 256 },
      "c.activation": { type: "choice", values: [0, 1, 2, 3] },
    });
    // Best at lr = 1e-2, 64 units, choice 2.
    const f = ([lr, units, act]: number[]) =>
      (Math.log10(lr!) + 2) ** 2 + ((units! - 64) / 64) ** 2 + (act === 2 ? 0 : 1);
    let wins = 0;
    let tpe = 0;
    let random = 0;
    for (let seed = 1; seed <= SEEDS; seed++) {
      const t = search("bayesian", space, seed, TRIALS, f);
      const r = search("random", space, seed, TRIALS, f);
      if (t < r) wins++;
      tpe += t / SEEDS;
      random += r / SEEDS;
    }
    expect(wins).toBeGreaterThanOrEqual(Math.ceil(SEEDS * 0.65));
    // 40 seeds: 0.294 against 0.644; TPE lower on 30.
    expect(tpe).toBeLessThan(0.6 * random);
  });

  it("proposes at random for the first trials, and the same point for the same observations", () => {
    const space = params({ "a.x": { type: "uniform", min: 0, max: 1 } });
    const obs: Observation[] = [0.1, 0.5, 0.9, 0.3, 0.7, 0.2].map((x) => ({
      point: [x],
      loss: (x - 0.3) ** 2,
    }));
    for (let i = 0; i < TPE_STARTUP; i++)
      expect(propose("bayesian", space, 5, i, obs)).toEqual(propose("random", space, 5, i, []));
    expect(propose("bayesian", space, 5, 6, obs)).toEqual(propose("bayesian", space, 5, 6, obs));
    expect(propose("bayesian", space, 5, 6, obs)).not.toEqual(propose("random", space, 5, 6, []));
  });
});

describe("search space values", () => {
  it("decodes each range at its ends and inside", () => {
    const [u, l, n, c] = params({
      "a.u": { type: "uniform", min: -2, max: 6 },
      "a.l": { type: "logUniform", min: 0.001, max: 10 },
      "a.n": { type: "int", min: 3, max: 12, step: 4 },
      "a.c": { type: "choice", values: ["relu", "tanh"] },
    });
    expect(decode(u!, 0)).toBe(-2);
    expect(decode(u!, 0.25)).toBe(0);
    expect(decode(l!, 0)).toBeCloseTo(0.001, 15);
    expect(decode(l!, 0.5)).toBeCloseTo(0.1, 14); // the geometric middle of 1e-3 and 10
    expect([0, 1, 2].map((k) => decode(n!, k))).toEqual([3, 7, 11]); // 15 is past max
    expect(decode(c!, 1)).toBe("tanh");
  });

  it("walks a grid with the first parameter slowest, and runs no more than its size", () => {
    const space = params(
      { "a.x": { type: "choice", values: [1, 2, 3] }, "b.y": { type: "int", min: 0, max: 1 } },
      "grid",
    );
    expect([0, 1, 2, 3, 4, 5].map((i) => gridPoint(space, i))).toEqual([
      [0, 0],
      [0, 1],
      [1, 0],
      [1, 1],
      [2, 0],
      [2, 1],
    ]);
    expect(trialCount("grid", space, 100)).toBe(6);
    expect(trialCount("grid", space, 4)).toBe(4);
    expect(trialCount("random", space, 100)).toBe(100);
  });

  it("derives distinct seeds per trial and stream, the same for the same inputs", () => {
    const seeds = new Set<number>();
    for (let i = 0; i < 1000; i++) seeds.add(derivedSeed(42, i, 0)).add(derivedSeed(42, i, 1));
    expect(seeds.size).toBe(2000);
    expect(derivedSeed(42, 7, 0)).toBe(derivedSeed(42, 7, 0));
    expect(derivedSeed(43, 7, 0)).not.toBe(derivedSeed(42, 7, 0));
    for (const s of seeds) expect(Number.isInteger(s) && s >= 0 && s < 2 ** 32).toBe(true);
  });

  it("Φ agrees with known values", () => {
    expect(normalCdf(0)).toBeCloseTo(0.5, 7);
    expect(normalCdf(1.959963984540054)).toBeCloseTo(0.975, 6);
    expect(normalCdf(-1)).toBeCloseTo(0.15865525393145707, 6);
  });
});

describe("median stopping rule", () => {
  // Three finished trials' objectives per epoch.
  const refs = [
    [1.0, 0.8, 0.6, 0.4],
    [0.9, 0.7, 0.5],
    [2.0, 1.8, 1.6, 1.4],
  ];

  it("compares the best so far with the median of the running averages up to the same step", () => {
    // Step 2: averages 0.9, 0.8, 1.9 → median 0.9; best so far 0.95 > 0.9 stops, 0.85 does not.
    expect(median([0.9, 0.8, 1.9])).toBe(0.9);
    expect(medianStops([1.2, 0.95], refs, "minimize")).toBe(true);
    expect(medianStops([1.2, 0.85], refs, "minimize")).toBe(false);
    // Equal to the median is not worse.
    expect(medianStops([0.9, 1.0], refs, "minimize")).toBe(false);
    // Step 4: only two reached it: averages 0.7 and 1.7 → median 1.2.
    expect(medianStops([1.3, 1.3, 1.3, 1.21], refs, "minimize")).toBe(true);
    expect(medianStops([1.3, 1.3, 1.3, 1.19], refs, "minimize")).toBe(false);
  });

  it("maximises the other way round, and never stops without a reference at that step", () => {
    const acc = [
      [0.5, 0.7],
      [0.6, 0.8],
    ];
    // Averages 0.6, 0.7 → median 0.65.
    expect(medianStops([0.3, 0.64], acc, "maximize")).toBe(true);
    expect(medianStops([0.3, 0.66], acc, "maximize")).toBe(false);
    expect(medianStops([0.1, 0.1, 0.1], acc, "maximize")).toBe(false);
    expect(medianStops([5], [], "minimize")).toBe(false);
  });

  it("gives a trial's job the median of every step a reference reached, the rule it applies itself", () => {
    // Steps 1–3: medians of (1.0, 0.9, 2.0), (0.9, 0.8, 1.9), (0.8, 0.7, 1.8); step 4: of (0.7, 1.7).
    const m = medianThresholds(refs);
    expect(m).toHaveLength(4);
    expect(m[0]).toBe(1);
    expect(m[1]).toBe(median([(1.0 + 0.8) / 2, (0.9 + 0.7) / 2, (2.0 + 1.8) / 2]));
    expect(m[1]).toBeCloseTo(0.9, 15);
    expect(m[2]).toBeCloseTo(0.8, 15);
    expect(m[3]).toBeCloseTo(1.2, 15);
    expect(medianThresholds([])).toEqual([]);
    // The same decisions as medianStops, from the best so far.
    expect(stopsAt(0.95, m[1]!, "minimize")).toBe(true);
    expect(stopsAt(0.85, m[1]!, "minimize")).toBe(false);
    expect(stopsAt(1.21, m[3]!, "minimize")).toBe(true);
    expect(stopsAt(0.64, 0.65, "maximize")).toBe(true);
    expect(stopsAt(0.65, 0.65, "maximize")).toBe(false);
  });
});
