import type { Rng } from "../../engine/rng.js";
import { isDiscrete, levels, type Param, type Point } from "./space.js";

/**
 * The tree-structured Parzen estimator (Bergstra, Bardenet, Bengio & Kégl 2011, "Algorithms for
 * Hyper-Parameter Optimization", §4), for a flat search space: docs/tuning.md §2.
 */

/** A finished trial as the search sees it: its point and its loss (the objective, negated when maximised; +∞ when it failed). */
export interface Observation {
  point: Point;
  loss: number;
}

/** Trials drawn at random before TPE proposes (it needs observations to split). */
export const TPE_STARTUP = 5;
/** The fraction γ of observations that make the "good" density l(x). */
export const TPE_GAMMA = 0.25;
/** Candidates drawn from l(x) per proposal; the one maximising l(x)/g(x) is proposed. */
export const TPE_CANDIDATES = 24;

/** One dimension's Parzen estimator: a density over [0, 1] (continuous) or over the levels (discrete). */
interface Estimator {
  sample(rng: Rng): number;
  logDensity(x: number): number;
}

/**
 * The next point: observations sorted by loss (ties by order given), the best ⌈γ·n⌉ fit l(x) and
 * the rest g(x), one estimator per parameter; TPE_CANDIDATES points drawn from l, the one with
 * the highest Σ_d log l_d(x_d) − log g_d(x_d) proposed (the first of equals).
 * @param observations at least 2
 */
export function proposeTpe(params: Param[], observations: readonly Observation[], rng: Rng): Point {
  const sorted = observations
    .map((o, i) => ({ o, i }))
    .sort((a, b) => compareLoss(a.o.loss, b.o.loss) || a.i - b.i)
    .map(({ o }) => o);
  const nGood = Math.max(1, Math.min(sorted.length - 1, Math.ceil(TPE_GAMMA * sorted.length)));
  const good = sorted.slice(0, nGood);
  const bad = sorted.slice(nGood);
  const l = params.map((p, d) =>
    estimator(
      p,
      good.map((o) => o.point[d]!),
    ),
  );
  const g = params.map((p, d) =>
    estimator(
      p,
      bad.map((o) => o.point[d]!),
    ),
  );
  let best: Point | undefined;
  let bestScore = Number.NEGATIVE_INFINITY;
  for (let c = 0; c < TPE_CANDIDATES; c++) {
    const x = l.map((e) => e.sample(rng));
    let score = 0;
    for (let d = 0; d < x.length; d++) score += l[d]!.logDensity(x[d]!) - g[d]!.logDensity(x[d]!);
    if (best === undefined || score > bestScore) {
      best = x;
      bestScore = score;
    }
  }
  return best!;
}

/** Losses in increasing order, NaN last (as +∞). */
function compareLoss(a: number, b: number): number {
  const x = Number.isNaN(a) ? Number.POSITIVE_INFINITY : a;
  const y = Number.isNaN(b) ? Number.POSITIVE_INFINITY : b;
  return x < y ? -1 : x > y ? 1 : 0;
}

function estimator(p: Param, xs: number[]): Estimator {
  return isDiscrete(p) ? categorical(levels(p), xs) : parzen(xs);
}

/**
 * A discrete parameter's estimator: P(k) = (count_k + 1) / (n + K), the observed counts with one
 * prior observation of each of the K levels (Bergstra et al. §4.1's categorical case).
 */
function categorical(k: number, xs: number[]): Estimator {
  const counts = new Float64Array(k).fill(1);
  for (const x of xs) counts[x]! += 1;
  const total = xs.length + k;
  return {
    sample: (rng) => {
      let r = rng.next() * total;
      for (let i = 0; i < k; i++) {
        r -= counts[i]!;
        if (r < 0) return i;
      }
      return k - 1;
    },
    logDensity: (x) => Math.log(counts[x]! / total),
  };
}

/**
 * A continuous parameter's adaptive Parzen estimator on [0, 1] (Bergstra et al. §4.1, as
 * hyperopt builds it): an equal mixture of the prior N(0.5, 1) and one Gaussian per observation,
 * each truncated to [0, 1]; an observation's σ is the larger distance to its neighbours among
 * the sorted means (the interval's ends counting as neighbours), clipped to [1 / min(100, n + 1), 1].
 */
function parzen(xs: number[]): Estimator {
  const mus = [0.5, ...xs];
  const order = mus.map((_, i) => i).sort((a, b) => mus[a]! - mus[b]! || a - b);
  const sigmas = new Array<number>(mus.length);
  const minSigma = 1 / Math.min(100, mus.length);
  order.forEach((idx, r) => {
    const left = r === 0 ? 0 : mus[order[r - 1]!]!;
    const right = r === order.length - 1 ? 1 : mus[order[r + 1]!]!;
    const mu = mus[idx]!;
    sigmas[idx] = Math.min(1, Math.max(minSigma, mu - left, right - mu));
  });
  sigmas[0] = 1; // the prior keeps its width
  const mass = mus.map((mu, i) => normalCdf((1 - mu) / sigmas[i]!) - normalCdf(-mu / sigmas[i]!));
  const w = 1 / mus.length;
  return {
    sample: (rng) => {
      const i = rng.int(mus.length);
      for (let attempt = 0; attempt < 64; attempt++) {
        const x = mus[i]! + sigmas[i]! * gaussian(rng);
        if (x >= 0 && x < 1) return x;
      }
      return Math.min(Math.max(mus[i]!, 0), 1 - 2 ** -53);
    },
    logDensity: (x) => {
      let p = 0;
      for (let i = 0; i < mus.length; i++) {
        const z = (x - mus[i]!) / sigmas[i]!;
        p += (w * Math.exp(-0.5 * z * z)) / (Math.sqrt(2 * Math.PI) * sigmas[i]! * mass[i]!);
      }
      return Math.log(p);
    },
  };
}

/** A standard normal draw (Box–Muller, the cosine half). */
function gaussian(rng: Rng): number {
  const u = 1 - rng.next(); // (0, 1]
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rng.next());
}

/** Φ(z) through erf (Abramowitz & Stegun 7.1.26, absolute error below 1.5e-7). */
export function normalCdf(z: number): number {
  const x = Math.abs(z) / Math.SQRT2;
  const t = 1 / (1 + 0.3275911 * x);
  const poly =
    t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))));
  const erf = 1 - poly * Math.exp(-x * x);
  return z >= 0 ? 0.5 * (1 + erf) : 0.5 * (1 - erf);
}
