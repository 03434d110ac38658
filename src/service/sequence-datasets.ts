import { Rng } from "../engine/rng.js";

/**
 * The generated sequence data sets (docs/datasets.md): samples `[n, timesteps, features]` drawn
 * from a seed with the engine's xoshiro128** generator, so the same parameters give the same
 * bits on every machine and in every worker (a job's chunks regenerate them).
 */
export type SequenceSetName = "addingProblem" | "sineWave";

/** Parameters of a generated set: its length T, its sample count and the seed of its values. */
export interface SequenceParams {
  timesteps: number;
  samples: number;
  seed: number;
}

/** Defaults of the parameters a request leaves out. */
export const SEQUENCE_DEFAULTS: Record<SequenceSetName, SequenceParams> = {
  addingProblem: { timesteps: 50, samples: 1000, seed: 1997 },
  sineWave: { timesteps: 20, samples: 1000, seed: 2015 },
};

/** Features per step. */
export const SEQUENCE_FEATURES: Record<SequenceSetName, number> = { addingProblem: 2, sineWave: 1 };

/** sineWave's periods in steps, one per class. */
export const SINE_PERIODS = [6, 10, 16] as const;

/** sineWave's noise: the standard deviation of the Gaussian noise on every value. */
export const SINE_NOISE = 0.1;

/** A generated set: samples flat `[n, T, features]`, regression targets `[n]`, class labels if any. */
export interface SequenceSamples {
  x: Float64Array;
  /** One target per sample (the adding problem's sum; sineWave's next value). */
  y: Float64Array;
  /** sineWave: the index of each sample's period in `SINE_PERIODS`. */
  labels?: Uint8Array;
}

/**
 * The adding problem (Hochreiter & Schmidhuber 1997, §5 experiment 4; in the form of Le, Jaitly &
 * Hinton 2015 and Arjovsky, Shah & Bengio 2016): each step holds `[value, marker]`, the values
 * uniform in [0, 1), the marker 1 at exactly two steps, one drawn uniformly in the first half
 * (`[0, ⌊T/2⌋)`) and one in the second (`[⌊T/2⌋, T)`), 0 elsewhere; the target is the sum of the
 * two marked values. Predicting the mean (1) gives a mean squared error of 1/6.
 * @param T timesteps ≥ 2.
 */
export function addingProblem(T: number, n: number, seed: number): SequenceSamples {
  const rng = new Rng(seed);
  const x = new Float64Array(n * T * 2);
  const y = new Float64Array(n);
  const half = Math.floor(T / 2);
  for (let i = 0; i < n; i++) {
    const o = i * T * 2;
    for (let t = 0; t < T; t++) x[o + 2 * t] = rng.next();
    const a = rng.int(half);
    const b = half + rng.int(T - half);
    x[o + 2 * a + 1] = 1;
    x[o + 2 * b + 1] = 1;
    y[i] = x[o + 2 * a]! + x[o + 2 * b]!;
  }
  return { x, y };
}

/**
 * Noisy sine waves: sample i is `sin(2π(t + φ)/P) + ε_t` for t = 0 … T, its period P one of
 * `SINE_PERIODS` (uniformly; the class), its phase φ uniform in [0, P), the noise ε Gaussian with
 * standard deviation `SINE_NOISE` (Box–Muller). The first T values are the input `[T, 1]`; the
 * target is the (noisy) value at t = T, so the smallest mean squared error a forecaster can
 * reach is `SINE_NOISE²` = 0.01.
 */
export function sineWave(T: number, n: number, seed: number): SequenceSamples {
  const rng = new Rng(seed);
  const x = new Float64Array(n * T);
  const y = new Float64Array(n);
  const labels = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const k = rng.int(SINE_PERIODS.length);
    const period = SINE_PERIODS[k]!;
    const phase = rng.uniform(0, period);
    labels[i] = k;
    for (let t = 0; t <= T; t++) {
      const v = Math.sin((2 * Math.PI * (t + phase)) / period) + SINE_NOISE * gaussian(rng);
      if (t < T) x[i * T + t] = v;
      else y[i] = v;
    }
  }
  return { x, y, labels };
}

/** A standard normal draw (Box–Muller, the cosine half; 1 − u keeps the logarithm finite). */
function gaussian(rng: Rng): number {
  const u = 1 - rng.next();
  const v = rng.next();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
}

/** A generated set by name. */
export function generateSequences(name: SequenceSetName, p: SequenceParams): SequenceSamples {
  return name === "addingProblem"
    ? addingProblem(p.timesteps, p.samples, p.seed)
    : sineWave(p.timesteps, p.samples, p.seed);
}
