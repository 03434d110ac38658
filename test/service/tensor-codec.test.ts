import { describe, expect, it } from "vitest";
import type { OptimizerState } from "../../src/engine/index.js";
import {
  decodeOptimizerState,
  decodeTensors,
  encodeOptimizerState,
  encodeTensors,
} from "../../src/service/store/tensor-codec.js";

const bits = (a: ArrayLike<number> & ArrayBufferView) =>
  Array.from(new BigUint64Array(a.buffer, a.byteOffset, a.length));

describe("checkpoint blobs", () => {
  it("round-trip named tensors bit for bit (−0, subnormals, NaN payloads, extremes)", () => {
    const odd = Float64Array.from([-0, 5e-324, Number.MAX_VALUE, -Number.MIN_VALUE, 0.1 + 0.2, Number.NaN]);
    const tensors = {
      "dense_0/kernel": { shape: [2, 3], data: odd },
      "dense_0/bias": { shape: [3], data: Float64Array.from([1, 2, 3]) },
      "é/ü": { shape: [], data: Float64Array.from([Math.PI]) },
    };
    const { tensors: back, meta } = decodeTensors(encodeTensors(tensors, { at: 3 }));
    expect(meta).toEqual({ at: 3 });
    expect(Object.keys(back)).toEqual(Object.keys(tensors));
    for (const [key, t] of Object.entries(tensors)) {
      expect(back[key]!.shape).toEqual(t.shape);
      expect(bits(back[key]!.data)).toEqual(bits(t.data));
    }
  });

  it("round-trip an Adam state with its shuffle order", () => {
    const state: OptimizerState = {
      type: "adam",
      iterations: 123,
      epochsCompleted: 7,
      m: { "d/kernel": { shape: [2, 1], data: Float64Array.from([0.25, -1e-9]) } },
      v: { "d/kernel": { shape: [2, 1], data: Float64Array.from([1e-12, 3]) } },
      shuffleRng: [1, 2, 3, 4_294_967_295],
      shuffleOrder: [2, 0, 1],
    };
    const back = decodeOptimizerState(encodeOptimizerState(state));
    expect(back).toEqual(state);
  });

  it("round-trip the dropout streams, and a state without them stays without", () => {
    const state: OptimizerState = {
      type: "sgd",
      iterations: 4,
      epochsCompleted: 2,
      shuffleRng: [1, 2, 3, 4],
      shuffleOrder: [0, 1],
      dropoutRng: { drop: [5, 6, 7, 4_294_967_295], "a/b": [1, 0, 0, 0] },
    };
    expect(decodeOptimizerState(encodeOptimizerState(state))).toEqual(state);
    const { dropoutRng: _, ...plain } = state;
    expect("dropoutRng" in decodeOptimizerState(encodeOptimizerState(plain))).toBe(false);
  });

  it("rejects a truncated blob", () => {
    const blob = encodeTensors({ a: { shape: [4], data: new Float64Array(4) } });
    expect(() => decodeTensors(blob.subarray(0, blob.length - 8))).toThrow(/truncated/);
  });
});
