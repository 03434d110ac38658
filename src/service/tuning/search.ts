import { Rng } from "../../engine/rng.js";
import type { ChoiceValue } from "../../schemas/tuning.js";
import { isDiscrete, levels, type Param, type Point } from "./space.js";
import { type Observation, proposeTpe, TPE_STARTUP } from "./tpe.js";

/**
 * The body value of a point's coordinate: uniform min + u (max − min); logUniform
 * exp(ln min + u (ln max − ln min)); int min + k·step; choice values[k].
 */
export function decode(p: Param, x: number): ChoiceValue {
  const r = p.range;
  switch (r.type) {
    case "choice":
      return r.values[x]!;
    case "int":
      return r.min + x * (r.step ?? 1);
    case "uniform":
      return r.min + x * (r.max - r.min);
    case "logUniform":
      return Math.exp(Math.log(r.min) + x * (Math.log(r.max) - Math.log(r.min)));
  }
}

/** splitmix32's output function: mixes a uint32 into another (docs/tuning.md §1). */
function mix(z: number): number {
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
  return (z ^ (z >>> 16)) >>> 0;
}

/**
 * A uint32 derived from the tuning seed, a trial index and a stream (0: the trial's training seed;
 * 1: its proposal's draws): mix(mix(seed + φ·(index + 1)) ⊕ stream·φ), φ = 0x9e3779b9.
 */
export function derivedSeed(seed: number, index: number, stream: 0 | 1): number {
  const a = mix((seed + Math.imul(index + 1, 0x9e3779b9)) >>> 0);
  return mix((a ^ Math.imul(stream, 0x9e3779b9)) >>> 0);
}

/** Trials a search runs: maxTrials, or a grid's size when smaller. */
export function trialCount(algorithm: string, params: Param[], maxTrials: number): number {
  if (algorithm !== "grid") return maxTrials;
  let size = 1;
  for (const p of params) size = Math.min(size * levels(p), Number.MAX_SAFE_INTEGER);
  return Math.min(size, maxTrials);
}

/** The grid's `index`-th point: mixed radix, the first parameter varying slowest. */
export function gridPoint(params: Param[], index: number): Point {
  const point: Point = new Array(params.length);
  let rest = index;
  for (let i = params.length - 1; i >= 0; i--) {
    const n = levels(params[i]!);
    point[i] = rest % n;
    rest = Math.floor(rest / n);
  }
  return point;
}

/** A point drawn uniformly: u ∈ [0, 1) for a continuous parameter, a uniform index for a discrete one. */
export function randomPoint(params: Param[], rng: Rng): Point {
  return params.map((p) => (isDiscrete(p) ? rng.int(levels(p)) : rng.next()));
}

/**
 * The point of trial `index`, given every finished trial before its batch (`observations`, by
 * index): grid and random depend on the index alone; bayesian draws at random for the first
 * TPE_STARTUP trials, then proposes with TPE from the observations. Each trial's draws come from
 * its own generator (`derivedSeed(seed, index, 1)`), so a batch's proposals are a pure function
 * of the body and the results before it.
 */
export function propose(
  algorithm: "grid" | "random" | "bayesian",
  params: Param[],
  seed: number,
  index: number,
  observations: readonly Observation[],
): Point {
  if (algorithm === "grid") return gridPoint(params, index);
  const rng = new Rng(derivedSeed(seed, index, 1));
  if (algorithm === "random" || index < TPE_STARTUP || observations.length < TPE_STARTUP)
    return randomPoint(params, rng);
  return proposeTpe(params, observations, rng);
}
