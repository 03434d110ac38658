/**
 * A seeded pseudo-random generator: xoshiro128** (Blackman & Vigna, 2018), state expanded from
 * a 32-bit seed with splitmix32. Deterministic across platforms: the same seed gives the same
 * sequence, which is what makes training bit-reproducible.
 */
/** splitmix32's increment, ⌊2³² / φ⌋. */
const GOLDEN = 0x9e3779b9;

/** splitmix32's output function of its state `z` (a uint32). */
function splitmix32Mix(z: number): number {
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
  return (z ^ (z >>> 16)) >>> 0;
}

export class Rng {
  /**
   * The four state words, as int32 bit patterns: a typed array, because uint32 values past 2³¹ kept
   * in an object's fields are boxed doubles, which made a draw cost an allocation.
   */
  private readonly s = new Int32Array(4);

  /** @param seed any integer; only its low 32 bits are used. */
  constructor(seed: number) {
    // splitmix32's first four outputs: the state steps by the golden ratio, each output mixes it.
    // (Written out rather than as a closure: tsx names every closure it sees created.)
    const x = seed >>> 0;
    this.s[0] = splitmix32Mix((x + GOLDEN) >>> 0);
    this.s[1] = splitmix32Mix((x + 2 * GOLDEN) >>> 0);
    this.s[2] = splitmix32Mix((x + 3 * GOLDEN) >>> 0);
    this.s[3] = splitmix32Mix((x + 4 * GOLDEN) >>> 0);
  }

  /** The generator's state, four uint32: with `fromState`, continues the sequence exactly. */
  getState(): [number, number, number, number] {
    const { s } = this;
    return [s[0]! >>> 0, s[1]! >>> 0, s[2]! >>> 0, s[3]! >>> 0];
  }

  /**
   * A generator that continues from `state` (as `getState` returned it).
   * @throws Error unless `state` is four integers in [0, 2³²), not all zero (xoshiro's fixed point).
   */
  static fromState(state: readonly number[]): Rng {
    if (!isRngState(state)) throw new Error("an Rng state is four integers in [0, 2^32), not all zero");
    const rng = new Rng(0);
    rng.s.set(state);
    return rng;
  }

  /** A uniformly distributed unsigned 32-bit integer. */
  nextUint32(): number {
    const { s } = this;
    const s0 = s[0]!;
    const s1 = s[1]!;
    const result = Math.imul(rotl(Math.imul(s1, 5), 7), 9) >>> 0;
    const s2 = s[2]! ^ s0;
    const s3 = s[3]! ^ s1;
    s[0] = s0 ^ s3;
    s[1] = s1 ^ s2;
    s[2] = s2 ^ (s1 << 9);
    s[3] = rotl(s3, 11);
    return result;
  }

  /** A double uniformly distributed in [0, 1), with 53 random bits. */
  next(): number {
    const hi = this.nextUint32() >>> 5; // 27 bits
    const lo = this.nextUint32() >>> 6; // 26 bits
    return (hi * 67108864 + lo) / 9007199254740992;
  }

  /** A double uniformly distributed in [lo, hi). */
  uniform(lo: number, hi: number): number {
    return lo + (hi - lo) * this.next();
  }

  /** An integer uniformly distributed in [0, n), without modulo bias. */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  /** Shuffles `a` in place (Fisher–Yates). */
  shuffle(a: Uint32Array | number[]): void {
    for (let i = a.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const t = a[i] as number;
      a[i] = a[j] as number;
      a[j] = t;
    }
  }
}

/** True for a valid xoshiro128** state: four integers in [0, 2³²), not all zero. */
export function isRngState(state: unknown): state is [number, number, number, number] {
  return (
    Array.isArray(state) &&
    state.length === 4 &&
    state.every((v) => Number.isInteger(v) && v >= 0 && v <= 0xffffffff) &&
    state.some((v) => v !== 0)
  );
}

/** `x` rotated left by `k` bits, as an int32 bit pattern. */
function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}
