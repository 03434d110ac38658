/**
 * The seeded generator (`Rng`, xoshiro128**): its output against the algorithm's reference
 * sequence, and its state through `getState` / `fromState` as unsigned 32-bit words. The state is
 * kept as int32 bit patterns (a typed array, so a draw allocates nothing); words of 2³¹ and more
 * must come out as the same unsigned numbers.
 */
import { describe, expect, it } from "vitest";
import { Rng } from "../../src/engine/rng.js";

describe("Rng", () => {
  it("from the state (1, 2, 3, 4) gives xoshiro128**'s reference outputs (Blackman & Vigna's C code)", () => {
    const rng = Rng.fromState([1, 2, 3, 4]);
    const out = Array.from({ length: 10 }, () => rng.nextUint32());
    expect(out).toEqual([
      11520, 0, 5927040, 70819200, 2031721883, 1637235492, 1287239034, 3734860849, 3729100597, 4258142804,
    ]);
  });

  it("keeps words of 2³¹ and above as unsigned numbers, and continues a sequence exactly from its state", () => {
    const rng = new Rng(0xdeadbeef);
    // splitmix32 of the seed: three of the four words are ≥ 2³¹.
    expect(rng.getState()).toEqual([3553530007, 1645313261, 4073195585, 2760393073]);
    expect(Array.from({ length: 4 }, () => rng.nextUint32())).toEqual([
      2306529437, 2576298207, 1250671110, 2699168992,
    ]);
    const state = rng.getState();
    expect(state).toEqual([2597153255, 967515987, 748837996, 1972016198]);
    const copy = Rng.fromState(state);
    for (let i = 0; i < 100; i++) expect(copy.nextUint32()).toBe(rng.nextUint32());
    expect(copy.getState()).toEqual(rng.getState());
  });
});
