// The native optimiser updates (native/optim.cc) give the TypeScript updates' bits exactly — the
// weights, the weights kept aside, the slots and the fault flags — on every instruction set this
// processor has, in float64 and float32, with non-finite and overflowing values among the inputs.
import { afterEach, describe, expect, it } from "vitest";
import type { Param } from "../../src/engine/layers/layer.js";
import { type NativeKernels, nativeKernels, useNativeKernels } from "../../src/engine/native.js";
import { NATIVE_UPDATE_MIN } from "../../src/engine/optimizers/base.js";
import { makeOptimizer, type StepFault } from "../../src/engine/optimizers.js";
import { Rng } from "../../src/engine/rng.js";
import type { GradientOptimizerSpec } from "../../src/engine/spec.js";
import { type Dtype, type Floats, floats } from "../../src/engine/tensor.js";

const native = nativeKernels();
// Every instruction set this processor has, switched as for the products and convolution (isa.h).
const best = native?.kernels;
const ISAS = (["native-avx512", "native-avx2", "native"] as const).filter((isa) => {
  if (!native || !best) return false;
  try {
    native.selectKernels(isa);
    native.selectKernels(best);
    return true;
  } catch {
    return false;
  }
});

afterEach(() => {
  useNativeKernels(native);
  if (best) native!.selectKernels(best);
});

/** Every number's bits, −0 included; NaN where the reference has NaN (JavaScript leaves NaN's payload open). */
function sameBits(a: Floats, b: Floats): boolean {
  if (a.length !== b.length || a.constructor !== b.constructor) return false;
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) return false;
  return true;
}

/** Weights and gradients in [−1, 1) with zeros, −0s and large and tiny magnitudes sprinkled in. */
function values(n: number, rng: Rng, scale: number): Float64Array {
  const v = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const u = rng.uniform(0, 1);
    v[i] = u < 0.04 ? 0 : u < 0.07 ? -0 : u < 0.1 ? rng.uniform(-1, 1) * 1e-30 : rng.uniform(-1, 1) * scale;
  }
  return v;
}

const SPECS: GradientOptimizerSpec[] = [
  { type: "sgd", learningRate: 0.1 },
  { type: "sgd", learningRate: 0.05, momentum: 0.9 },
  { type: "sgd", learningRate: 0.05, momentum: 0.8, nesterov: true },
  { type: "adam", learningRate: 0.01 },
  { type: "adam", learningRate: 0.003, beta1: 0.8, beta2: 0.99, epsilon: 1e-5 },
  { type: "adamw", learningRate: 0.01, weightDecay: 0.1 },
];

/** One run: `steps` steps of `spec` over parameters of the given lengths; everything it leaves behind. */
function run(
  spec: GradientOptimizerSpec,
  dtype: Dtype,
  lengths: number[],
  steps: number,
  seed: number,
  poison?: (step: number, grads: Floats[], values: Floats[]) => void,
) {
  const rng = new Rng(seed);
  const params: Param[] = lengths.map((n, k) => ({
    key: `p${k}/kernel`,
    shape: [n],
    value: floats(dtype, n),
    grad: floats(dtype, n),
  }));
  for (const p of params) p.value.set(values(p.value.length, rng, 1));
  const opt = makeOptimizer(spec, params);
  const before = params.map((p) => floats(dtype, p.value.length));
  const faults: (StepFault | null)[] = [];
  for (let s = 0; s < steps; s++) {
    for (const p of params) p.grad.set(values(p.grad.length, rng, s % 3 === 0 ? 1e3 : 1));
    poison?.(
      s,
      params.map((p) => p.grad),
      params.map((p) => p.value),
    );
    faults.push(opt.step(before));
  }
  return { params, before, faults, slots: opt.slots() };
}

function expectSame(a: ReturnType<typeof run>, b: ReturnType<typeof run>): void {
  expect(b.faults).toEqual(a.faults);
  a.params.forEach((p, k) => {
    expect(sameBits(p.value, b.params[k]!.value), `${p.key} value`).toBe(true);
    expect(sameBits(a.before[k]!, b.before[k]!), `${p.key} before`).toBe(true);
  });
  for (const [slot, tensors] of Object.entries(a.slots))
    for (const [key, t] of Object.entries(tensors))
      expect(sameBits(t.data, b.slots[slot as keyof typeof b.slots]![key]!.data), `${slot} ${key}`).toBe(
        true,
      );
}

/** A run with the TypeScript updates only, and one with the native kernels on `isa`. */
function both(
  spec: GradientOptimizerSpec,
  dtype: Dtype,
  lengths: number[],
  seed: number,
  poison?: Parameters<typeof run>[5],
) {
  useNativeKernels(null);
  const ts = run(spec, dtype, lengths, 7, seed, poison);
  useNativeKernels(native);
  return { ts, native: run(spec, dtype, lengths, 7, seed, poison) };
}

// Lengths around the threshold and every vector width's tail (2, 4 and 8 lanes), and a kernel's size.
const LENGTHS = [
  NATIVE_UPDATE_MIN,
  NATIVE_UPDATE_MIN + 1,
  NATIVE_UPDATE_MIN + 3,
  NATIVE_UPDATE_MIN + 7,
  1003,
];

describe.skipIf(!native?.optimSgd)("native optimiser updates", () => {
  for (const isa of ISAS)
    for (const dtype of ["float64", "float32"] as const)
      for (const spec of SPECS)
        it(`${JSON.stringify(spec)}, ${dtype}, ${isa}: the same bits`, () => {
          native!.selectKernels(isa);
          const r = both(spec, dtype, LENGTHS, 5);
          expect(r.native.faults.every((f) => f === null)).toBe(true);
          expectSame(r.ts, r.native);
          // The runs moved the weights (a test that compares two untouched arrays proves nothing).
          expect(sameBits(r.native.params[4]!.value, run(spec, dtype, LENGTHS, 0, 5).params[4]!.value)).toBe(
            false,
          );
        });

  for (const dtype of ["float64", "float32"] as const)
    for (const spec of SPECS)
      it(`${spec.type}, ${dtype}: the same faults and bits with NaN, ±∞ and overflowing values`, () => {
        const big = dtype === "float32" ? 3e38 : 1.7e308;
        const poisons: Parameters<typeof run>[5][] = [
          (s, g) => {
            if (s === 2) g[1]![NATIVE_UPDATE_MIN - 3] = Number.NaN;
          },
          (s, g) => {
            if (s === 3) g[3]![5] = Number.NEGATIVE_INFINITY;
          },
          // A finite gradient whose square overflows Adam's v̂, and weights pushed past the range.
          (s, g) => {
            if (s === 1) g[2]![17] = dtype === "float32" ? 3e38 : 1e300;
          },
          (s, g, w) => {
            if (s === 4) {
              w[0]![9] = big;
              g[0]![9] = -big;
            }
          },
        ];
        const stages = new Set<string>();
        for (const poison of poisons) {
          const r = both(spec, dtype, LENGTHS, 9, poison);
          expectSame(r.ts, r.native);
          for (const f of r.native.faults) if (f) stages.add(f.stage);
        }
        // Each run failed where it was poisoned: the gradient, and the weight (Adam: v̂ first).
        expect(stages.has("gradient")).toBe(true);
        expect(stages.has(spec.type.startsWith("adam") ? "moment" : "weight")).toBe(true);
      });

  for (const spec of SPECS)
    it(`${spec.type}: a float32 step finite in double but not once rounded is a weight fault, on both paths`, () => {
      // 3.4e38 + 5e36 = 3.45e38 is a double, but rounds to +∞ in float32 (largest: 3.4028235e38).
      const poison: Parameters<typeof run>[5] = (s, g, w) => {
        if (s === 4) {
          w[4]![11] = 3.4e38;
          g[4]![11] = spec.type === "sgd" ? -5e36 / (spec.learningRate as number) : -1;
        }
      };
      const r = both(spec, "float32", LENGTHS, 3, poison);
      expectSame(r.ts, r.native);
      // Checked as stored: the rounded +∞ is the fault (the training loop then restores the weights kept aside).
      if (spec.type === "sgd") expect(r.native.faults[4]?.stage).toBe("weight");
    });

  it("reports a non-finite gradient and a non-finite new weight in its flags", () => {
    const w = Float64Array.from({ length: 300 }, () => 1);
    const g = new Float64Array(300);
    const keep = new Float64Array(300);
    expect(native!.optimSgd!(w, g, keep, null, 0.1, 0, false)).toBe(0);
    g[299] = Number.NaN;
    expect(native!.optimSgd!(w, g, keep, null, 0.1, 0, false)).toBe(1 | 4);
    g[299] = 0;
    w[150] = 1.7e308;
    g[150] = -1.7e308;
    expect(native!.optimSgd!(w, g, keep, null, 2, 0, false)).toBe(4);
    expect(keep[150]).toBe(1.7e308);
    expect(w[150]).toBe(Number.POSITIVE_INFINITY);
  });

  it("throws on bad arguments instead of reading or writing out of bounds", () => {
    const k = native as NativeKernels;
    const a = () => new Float64Array(300);
    expect(() => k.optimSgd!(a(), a(), a(), null, 0.1, 0, false)).not.toThrow();
    expect(() => k.optimSgd!(a(), a().subarray(1), a(), null, 0.1, 0, false)).toThrow(RangeError);
    expect(() => k.optimSgd!(a(), a(), new Float64Array(299), null, 0.1, 0, false)).toThrow(RangeError);
    expect(() => k.optimSgd!(a(), a(), new Float32Array(300), null, 0.1, 0, false)).toThrow(TypeError);
    expect(() => k.optimSgd!(a(), a(), a(), new Float64Array(2), 0.1, 0.9, false)).toThrow(RangeError);
    const w = a();
    expect(() => k.optimSgd!(w, a(), w, null, 0.1, 0, false)).toThrow(RangeError);
    expect(() => k.optimSgd!(w, w.subarray(0), a(), null, 0.1, 0, false)).toThrow(RangeError);
    expect(() => k.optimSgd!(a(), a(), a(), null, "0.1" as unknown as number, 0, false)).toThrow(TypeError);
    expect(() =>
      k.optimSgd!(new Int32Array(300) as unknown as Float64Array, a(), a(), null, 0.1, 0, false),
    ).toThrow(TypeError);
    expect(() => k.optimAdam!(a(), a(), a(), a(), a(), 0.1, 0.9, 0.999, 1e-7, 0.1, 0.001, 0)).not.toThrow();
    expect(() =>
      k.optimAdam!(a(), a(), a(), a(), a().subarray(2), 0.1, 0.9, 0.999, 1e-7, 0.1, 0.001, 0),
    ).toThrow(RangeError);
    const m = a();
    expect(() => k.optimAdam!(a(), a(), a(), m, m, 0.1, 0.9, 0.999, 1e-7, 0.1, 0.001, 0)).toThrow(RangeError);
    expect(() => (k.optimAdam as unknown as (...x: unknown[]) => number)(a(), a(), a(), a(), a())).toThrow(
      TypeError,
    );
  });
});
