/**
 * The fuzz suite's source of randomness: every generator draws from fast-check's `gen()` through
 * this face, so a failing case is replayed from the seed and shrunk.
 */
import fc from "fast-check";

/** A thin, typed face over `fc.gen()`. */
export interface Rand {
  int(min: number, max: number): number;
  /** True with probability `p`. */
  bool(p?: number): boolean;
  pick<T>(xs: readonly T[]): T;
  num(min: number, max: number): number;
}

export function rand(g: fc.GeneratorValue): Rand {
  return {
    int: (min, max) => g(fc.integer, { min, max }),
    bool: (p = 0.5) => g(fc.integer, { min: 0, max: 999 }) < p * 1000,
    pick: <T>(xs: readonly T[]) => xs[g(fc.integer, { min: 0, max: xs.length - 1 })] as T,
    num: (min, max) => g(fc.double, { min, max, noNaN: true, noDefaultInfinity: true }),
  };
}
