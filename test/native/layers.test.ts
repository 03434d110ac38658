// The kernels of native/layers.cc beyond conv.test.ts's: max pooling by vectors of channels with
// Int32Array indices, its backward pass window by window and through relu
// (`MaxPooling2d.backwardThrough`), in float32 and float64; the finiteness check; the batch copy.
import { describe, expect, it } from "vitest";
import { allFinite } from "../../src/engine/forensics.js";
import { Activation } from "../../src/engine/layers/activation.js";
import { GlobalMaxPooling2d } from "../../src/engine/layers/global-pooling.js";
import { MaxPooling2d } from "../../src/engine/layers/pooling.js";
import { type NativeKernels, useNativeKernels } from "../../src/engine/native.js";
import { Rng } from "../../src/engine/rng.js";
import { buildingIn, type Dtype, floats } from "../../src/engine/tensor.js";
import { ISAS, native, sameBits, values } from "./conv-helpers.js";

/** Runs `f` with the engine on `kernels` (null: TypeScript only). */
function using<T>(kernels: NativeKernels | null, f: () => T): T {
  const was = useNativeKernels(kernels);
  try {
    return f();
  } finally {
    useNativeKernels(was);
  }
}

interface PoolCase {
  shape: [number, number, number];
  pool: [number, number];
  strides: [number, number];
  padding: "valid" | "same";
  batch: number;
  /** globalMaxPooling2d (one window, the whole input; pool and strides unused). */
  global?: boolean;
}

/**
 * Channels 1–16 (vectors of 16, 32 and 64 bytes, and widths no vector fits), windows that overlap or
 * not, and globalMaxPooling2d (a MaxPooling2d with one window).
 */
function poolCases(): PoolCase[] {
  const out: PoolCase[] = [{ shape: [26, 26, 8], pool: [2, 2], strides: [2, 2], padding: "valid", batch: 2 }];
  for (const shape of [
    [5, 4, 8],
    [3, 6, 3],
    [4, 4, 16],
  ] as [number, number, number][])
    out.push({ shape, pool: [1, 1], strides: [1, 1], padding: "valid", batch: 2, global: true });
  const channels = [1, 2, 3, 4, 8, 16];
  for (let i = 0; i < 36; i++) {
    const pool: [number, number] = [1 + (i % 3), 1 + ((i >> 1) % 3)];
    const strides: [number, number] = [1 + ((i >> 2) % 3), 1 + (i % 3)];
    out.push({
      shape: [pool[0] + (i % 4), pool[1] + ((i * 5) % 4), channels[i % channels.length]!],
      pool,
      strides,
      padding: i % 2 === 0 ? "same" : "valid",
      batch: 1 + (i % 2),
    });
  }
  return out;
}

/**
 * relu → max pooling, forward and backward, on `kernels`: the pooling's output, its own `∂L/∂X`, and
 * `∂L/∂X` of the relu's input (through `backwardThrough` where the kernels take it, else the two passes).
 */
function reluPool(c: PoolCase, dtype: Dtype, kernels: NativeKernels | null, seed: number) {
  return using(kernels, () =>
    buildingIn(dtype, () => {
      const relu = new Activation("r", c.shape, "relu");
      const pool = c.global
        ? new GlobalMaxPooling2d("p", c.shape)
        : new MaxPooling2d("p", c.shape, c.pool, c.strides, c.padding);
      const rng = new Rng(seed);
      const x = floats(dtype, c.batch * c.shape[0] * c.shape[1] * c.shape[2]);
      x.set(values(x.length, rng));
      if (seed % 3 === 0) x[seed % x.length] = Number.NaN;
      const y = pool.forward(relu.forward(x, c.batch), c.batch).slice();
      const dy = floats(dtype, y.length);
      dy.set(values(y.length, rng));
      const dPool = pool.backward(dy, c.batch).slice();
      const through = pool.backwardThrough(relu, dy, c.batch);
      const dRelu = (through ?? relu.backward(pool.backward(dy, c.batch), c.batch)).slice();
      return { y, dPool, dRelu, fused: through !== undefined };
    }),
  );
}

describe.skipIf(!native?.maxPoolForward)("native max pooling by channel vectors", () => {
  for (const isa of ISAS)
    for (const dtype of ["float32", "float64"] as const)
      it(`gives the TypeScript layers' bits on ${isa} in ${dtype}: maxima, ∂X, and ∂X through relu`, () => {
        const was = native!.selectKernels(isa);
        try {
          poolCases().forEach((c, i) => {
            const ref = reluPool(c, dtype, null, i);
            const got = reluPool(c, dtype, native, i);
            const what = `${JSON.stringify(c)}`;
            expect(ref.fused, what).toBe(false);
            expect(got.fused, what).toBe(true);
            expect(sameBits(got.y, ref.y), `${what}: y`).toBe(true);
            expect(sameBits(got.dPool, ref.dPool), `${what}: ∂X`).toBe(true);
            expect(sameBits(got.dRelu, ref.dRelu), `${what}: ∂X through relu`).toBe(true);
          });
        } finally {
          native!.selectKernels(was);
        }
      });

  it("through relu with Float64Array indices (checked and scattered), overlapping windows adding up", () => {
    // A 1×3 input pooled by windows of 2 at stride 1: the middle cell is both windows' maximum.
    const dy = Float32Array.of(0.25, 0.5);
    const arg = Float64Array.of(1, 1);
    const dx = new Float32Array(3).fill(9);
    native!.maxPoolBackward!(dy, arg, dx, null, Float32Array.of(2, 2));
    expect([...dx]).toEqual([0, 0.75, 0]);
    // relu passes no gradient where its output is 0 or −0 (y > 0 is false), nor below.
    for (const y of [Float32Array.of(0, 0), Float32Array.of(-0, -0), Float32Array.of(-1, -1)]) {
      native!.maxPoolBackward!(dy, arg, dx, null, y);
      expect(Object.is(dx[1], 0), `y = ${y[0]}`).toBe(true);
    }
    expect(() => native!.maxPoolBackward!(dy, arg, dx, null, new Float32Array(3))).toThrow(RangeError);
    expect(() => native!.maxPoolBackward!(dy, arg, dx, null, new Float64Array(2))).toThrow(TypeError);
  });
});

describe.skipIf(!native?.allFinite)("native allFinite", () => {
  it("agrees with the TypeScript check on both sides of the native threshold, NaN and ±∞ anywhere", () => {
    for (const dtype of ["float32", "float64"] as const)
      for (const n of [255, 256, 257, 263, 300, 1000]) {
        const a = floats(dtype, n);
        a.set(values(n, new Rng(n)));
        expect(allFinite(a)).toBe(true);
        expect(native!.allFinite!(a)).toBe(true);
        for (const at of [0, 1, 7, 15, 16, 63, 64, n - 2, n - 1])
          for (const bad of [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY]) {
            const b = a.slice();
            b[at] = bad;
            expect(native!.allFinite!(b), `${dtype} n = ${n}, [${at}] = ${bad}`).toBe(false);
            expect(using(null, () => allFinite(b))).toBe(false);
          }
      }
  });
});

describe.skipIf(!native?.gatherRows)("native gatherRows", () => {
  const rows = 9;
  const rowLen = 13;
  const src = Float64Array.from(values(rows * rowLen, new Rng(3)), (v, i) => v * 10 ** (i % 9));
  const order = Uint32Array.of(4, 0, 8, 8, 2, 7);

  it("copies rows in order, float64 → float32 rounded as Float32Array's set rounds", () => {
    for (const make of [(n: number) => new Float32Array(n), (n: number) => new Float64Array(n)]) {
      for (const from of [src, Float32Array.from(src)]) {
        const got = make(4 * rowLen).fill(5);
        native!.gatherRows!(from, order, 1, 3, rowLen, got);
        const want = make(4 * rowLen).fill(5);
        [0, 8, 8].forEach((r, i) => {
          want.set(from.subarray(r * rowLen, (r + 1) * rowLen), i * rowLen);
        });
        expect(sameBits(got, want)).toBe(true);
      }
    }
  });

  it("refuses indices past src, counts past order and short destinations", () => {
    const dst = new Float32Array(6 * rowLen);
    expect(() => native!.gatherRows!(src, Uint32Array.of(9), 0, 1, rowLen, dst)).toThrow(RangeError);
    expect(() => native!.gatherRows!(src, order, 4, 3, rowLen, dst)).toThrow(RangeError);
    expect(() => native!.gatherRows!(src, order, 0, 6, rowLen, dst.subarray(1))).toThrow(RangeError);
    expect(() => native!.gatherRows!(src, order, 0.5, 1, rowLen, dst)).toThrow(RangeError);
    expect(() =>
      (native!.gatherRows as (...a: unknown[]) => void)(src, Int32Array.from(order), 0, 1, rowLen, dst),
    ).toThrow(TypeError);
  });
});
