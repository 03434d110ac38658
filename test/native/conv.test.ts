// The native convolution, relu and max-pooling kernels (native/conv.cc, native/layers.cc) give the
// TypeScript layers' bits exactly, on every instruction set this processor has, in float64 and float32.
import { describe, expect, it } from "vitest";
import { windowGeometry } from "../../src/engine/im2col.js";
import { Activation } from "../../src/engine/layers/activation.js";
import { Conv2d } from "../../src/engine/layers/conv2d.js";
import { MaxPooling2d } from "../../src/engine/layers/pooling.js";
import { type NativeKernels, useNativeKernels } from "../../src/engine/native.js";
import { NativeGeometry } from "../../src/engine/native-conv.js";
import { Rng } from "../../src/engine/rng.js";
import {
  type Case,
  DIRECT_CASES,
  float32Case,
  ISA_THREADS,
  ISAS,
  label,
  native,
  onKernels,
  sameBits,
  values,
} from "./conv-helpers.js";

/**
 * Geometries covering kernels 1–6, strides 1–3, both paddings, 1–5 channels, 1–17 filters, batches
 * 1–3, with the direct kernels' single-channel ones (`DIRECT_CASES`) among the first 30.
 */
function cases(): Case[] {
  const rng = new Rng(17);
  const pick = (lo: number, hi: number) => lo + Math.floor(rng.uniform(0, hi - lo + 1));
  const out: Case[] = [
    // The bench's CNN layer, and the shapes of every filter-chunk edge at 8 and 16 lanes.
    {
      inH: 28,
      inW: 28,
      channels: 1,
      filters: 8,
      k: [3, 3],
      strides: [1, 1],
      padding: "valid",
      batch: 3,
      useBias: true,
    },
    ...DIRECT_CASES,
    {
      inH: 7,
      inW: 9,
      channels: 3,
      filters: 17,
      k: [3, 3],
      strides: [1, 1],
      padding: "same",
      batch: 2,
      useBias: true,
    },
    {
      inH: 6,
      inW: 5,
      channels: 5,
      filters: 16,
      k: [5, 5],
      strides: [1, 1],
      padding: "same",
      batch: 1,
      useBias: false,
    },
    // 3×3×8 = 72 kernel rows: ∂K splits at row 40 on 2 threads; 5 samples split unevenly.
    {
      inH: 9,
      inW: 8,
      channels: 8,
      filters: 11,
      k: [3, 3],
      strides: [1, 1],
      padding: "same",
      batch: 5,
      useBias: true,
    },
    {
      inH: 5,
      inW: 5,
      channels: 2,
      filters: 1,
      k: [1, 1],
      strides: [1, 1],
      padding: "valid",
      batch: 2,
      useBias: true,
    },
  ];
  while (out.length < 60) {
    const k: [number, number] = [pick(1, 5), pick(1, 5)];
    const padding = rng.uniform(0, 1) < 0.5 ? "same" : "valid";
    const c: Case = {
      inH: pick(k[0], 11),
      inW: pick(k[1], 11),
      channels: pick(1, 5),
      filters: pick(1, 17),
      k,
      strides: [pick(1, 3), pick(1, 3)],
      padding,
      batch: pick(1, 3),
      useBias: rng.uniform(0, 1) < 0.8,
    };
    out.push(c);
  }
  return out;
}

/** One forward and backward pass of a Conv2d on `kernels`: its output, ∂X and the parameters' gradients. */
function convPass(c: Case, kernels: NativeKernels | null, special: boolean) {
  const was = useNativeKernels(kernels);
  try {
    const layer = new Conv2d(
      "c",
      [c.inH, c.inW, c.channels],
      c.filters,
      c.k,
      c.strides,
      c.padding,
      c.useBias,
    );
    const rng = new Rng(5);
    layer.kernel.value.set(values(layer.kernel.value.length, rng));
    // Gradients start non-zero: the layer adds to them.
    layer.kernel.grad.set(values(layer.kernel.grad.length, rng));
    if (special) {
      // An infinite and a NaN weight: padded taps multiply them by im2col's zeros.
      layer.kernel.value[0] = Number.POSITIVE_INFINITY;
      layer.kernel.value[layer.kernel.value.length - 1] = Number.NaN;
    }
    if (layer.bias) {
      layer.bias.value.set(values(c.filters, rng));
      layer.bias.grad.set(values(c.filters, rng));
    }
    const x = values(c.batch * c.inH * c.inW * c.channels, rng);
    const y = Float64Array.from(layer.forward(x, c.batch));
    const dy = values(y.length, rng);
    const dx = Float64Array.from(layer.backward(dy, c.batch, true));
    return { y, dx, dk: layer.kernel.grad, db: layer.bias?.grad ?? new Float64Array(0) };
  } finally {
    useNativeKernels(was);
  }
}

describe.skipIf(!native?.convForward)("native conv2d (native/conv.cc)", () => {
  const k = native!;

  it("run on the products' instruction set, switched by selectKernels, which refuses unknown ones", () => {
    expect(ISAS).toContain("native");
    expect(ISAS).toContain(k.kernels);
    expect(() => k.selectKernels("sse9" as "native")).toThrow(RangeError);
    const was = k.selectKernels("native");
    try {
      expect(k.selectKernels("native")).toBe("native");
    } finally {
      k.selectKernels(was);
    }
  });

  // On 2 threads with minWork 0 every call is split (samples for y and ∂X, kernel rows for ∂K
  // where there are at least 16 per thread): the parts must give one thread's bits.
  for (const [isa, threads] of ISA_THREADS)
    it(`gives the TypeScript path's bits on ${isa}, ${threads} thread(s): forward, ∂X, ∂K, ∂b, over 60 geometries`, () =>
      onKernels(isa, threads, () => {
        for (const c of cases())
          for (const special of [false, true]) {
            const ref = convPass(c, null, special);
            const got = convPass(c, k, special);
            for (const part of ["y", "dx", "dk", "db"] as const)
              expect(sameBits(got[part], ref[part]), `${label(c)}${special ? " Inf/NaN" : ""}: ${part}`).toBe(
                true,
              );
          }
      }));

  for (const [isa, threads] of ISA_THREADS)
    it(`computes float32 with single-precision operations in the reference's order on ${isa}, ${threads} thread(s)`, () =>
      onKernels(isa, threads, () => {
        for (const c of cases().slice(0, 30)) {
          const { geometry, inputs: i, expected: e } = float32Case({ ...c, useBias: true }, 9);
          const y = new Float32Array(e.y.length);
          k.convForward!(geometry, i.x, i.kernel, i.bias, y, false);
          const dk = Float32Array.from(i.dk0);
          k.convFilterGrad!(geometry, i.x, i.dy, dk);
          const db = Float32Array.from(i.db0);
          k.convBiasGrad!(geometry, i.dy, db);
          const dx = new Float32Array(e.dx.length).fill(7);
          k.convInputGrad!(geometry, i.dy, i.kernel, dx);
          expect(sameBits(y, e.y), `${label(c)}: y`).toBe(true);
          expect(sameBits(dk, e.dk), `${label(c)}: dk`).toBe(true);
          expect(sameBits(db, e.db), `${label(c)}: db`).toBe(true);
          expect(sameBits(dx, e.dx), `${label(c)}: dx`).toBe(true);
          // The fused relu: Math.max(y, 0) of the same values.
          const yRelu = new Float32Array(e.y.length);
          k.convForward!(geometry, i.x, i.kernel, i.bias, yRelu, true);
          expect(sameBits(yRelu, e.yRelu), `${label(c)}: relu`).toBe(true);
        }
      }));

  it("throws on bad arguments instead of reading or writing out of bounds", () => {
    const g = new NativeGeometry(windowGeometry([5, 5, 2], [3, 3], [1, 1], "same"), 4).setBatch(2);
    const x = new Float64Array(2 * 5 * 5 * 2);
    const kernel = new Float64Array(3 * 3 * 2 * 4);
    const y = new Float64Array(2 * 5 * 5 * 4);
    expect(() => k.convForward!(g, x, kernel, null, y, false)).not.toThrow();
    expect(() => k.convForward!(g, x.subarray(1), kernel, null, y, false)).toThrow(RangeError);
    expect(() => k.convForward!(g, x, kernel, new Float64Array(3), y, false)).toThrow(RangeError);
    expect(() => k.convForward!(g, x, new Float32Array(kernel.length), null, y, false)).toThrow(TypeError);
    expect(() => k.convForward!(g, x, kernel, null, x, false)).toThrow(RangeError);
    expect(() => k.convForward!(Int32Array.from(g).fill(-1, 4, 5), x, kernel, null, y, false)).toThrow(
      RangeError,
    );
    expect(() => k.convForward!(new Int32Array(3), x, kernel, null, y, false)).toThrow(TypeError);
    expect(() =>
      (k.convForward as unknown as (...a: unknown[]) => void)(g, [1, 2], kernel, null, y, false),
    ).toThrow(TypeError);
    expect(() => (k.convForward as unknown as (...a: unknown[]) => void)(g, x)).toThrow(TypeError);
    expect(() => k.convFilterGrad!(g, x, y, new Float64Array(5))).toThrow(RangeError);
    expect(() => k.convBiasGrad!(g, y, new Float64Array(5))).toThrow(RangeError);
    expect(() => k.convInputGrad!(g, y, kernel, new Float64Array(5))).toThrow(RangeError);
    const huge = Int32Array.from(g);
    huge.fill(2 ** 30, 1, 3);
    expect(() => k.convForward!(huge, x, kernel, null, y, false)).toThrow(RangeError);
    const dy = new Float64Array(4);
    expect(() => k.maxPoolBackward!(dy, Float64Array.of(0, 1, 2, 9), new Float64Array(9))).toThrow(
      RangeError,
    );
    expect(() => k.maxPoolBackward!(dy, Float64Array.of(0, 1, 2, 0.5), new Float64Array(9))).toThrow(
      RangeError,
    );
    expect(() => k.reluForward!(x, new Float64Array(3))).toThrow(RangeError);
  });
});

describe.skipIf(!native?.maxPoolForward || !native.reluForward)("native max pooling and relu", () => {
  const k = native!;

  it("max pooling gives the TypeScript layer's maxima, argmax and gradient (ties, NaN, −0, padding)", () => {
    const rng = new Rng(23);
    for (let i = 0; i < 40; i++) {
      const pool: [number, number] = [1 + (i % 3), 1 + ((i >> 1) % 3)];
      const strides: [number, number] = [1 + (i % 2), 1 + ((i >> 2) % 3)];
      const padding = i % 2 === 0 ? "same" : "valid";
      const shape = [pool[0] + (i % 5), pool[1] + ((i * 7) % 5), 1 + (i % 4)];
      const batch = 1 + (i % 3);
      const x = values(batch * shape[0]! * shape[1]! * shape[2]!, rng);
      if (i % 4 === 0) x[i % x.length] = Number.NaN;
      const run = (kernels: NativeKernels | null) => {
        const was = useNativeKernels(kernels);
        try {
          const layer = new MaxPooling2d("p", shape, pool, strides, padding);
          const y = Float64Array.from(layer.forward(x, batch));
          const dy = values(y.length, new Rng(i));
          return { y, dx: Float64Array.from(layer.backward(dy, batch)) };
        } finally {
          useNativeKernels(was);
        }
      };
      const ref = run(null);
      const got = run(k);
      expect(sameBits(got.y, ref.y), `case ${i}: y`).toBe(true);
      expect(sameBits(got.dx, ref.dx), `case ${i}: dx`).toBe(true);
    }
  });

  it("relu gives Math.max(x, 0) and its gradient, NaN and −0 included", () => {
    const x = values(1003, new Rng(29));
    x[5] = Number.NaN;
    x[6] = Number.NEGATIVE_INFINITY;
    const dy = values(1003, new Rng(30));
    const run = (kernels: NativeKernels | null) => {
      const was = useNativeKernels(kernels);
      try {
        const layer = new Activation("a", [1003], "relu");
        const y = Float64Array.from(layer.forward(x, 1));
        return { y, dx: Float64Array.from(layer.backward(dy, 1)) };
      } finally {
        useNativeKernels(was);
      }
    };
    const ref = run(null);
    const got = run(k);
    expect(sameBits(got.y, ref.y)).toBe(true);
    expect(sameBits(got.dx, ref.dx)).toBe(true);
    expect(Object.is(got.y[5], Number.NaN) && Object.is(got.y[6], 0)).toBe(true);
    const y32 = new Float32Array(Float32Array.from(x).length);
    k.reluForward!(Float32Array.from(x), y32);
    expect(
      sameBits(
        y32,
        Float32Array.from(x).map((v) => Math.max(v, 0)),
      ),
    ).toBe(true);
  });
});
