import type { Floats } from "../tensor.js";
import { GlobalMaxPooling2d } from "./global-pooling.js";
import { Buffer, type Layer, type Param, type SampleValues } from "./layer.js";
import { AveragePooling2d, MaxPooling2d } from "./pooling.js";

/**
 * tfjs' `maxPooling1d` / `averagePooling1d` (docs/backprop.md §21.4) over X `[batch, steps, C]`:
 * the 2-D pooling of `[1, steps, C]` with a `[1, poolSize]` window, which is the same data in the
 * same order, so the same sums, ties and NaN rule (docs/backprop.md §8), and the native max
 * pooling kernel where it is loaded. Output `[outSteps, C]`.
 */
export class Pooling1d implements Layer {
  readonly outputShape: number[];
  readonly forwardCost: number;
  readonly sampleValues: SampleValues;
  private readonly inner: MaxPooling2d | AveragePooling2d;

  /** @param inputShape `[steps, channels]`, validated so the output has at least one step. */
  constructor(
    readonly type: "maxPooling1d" | "averagePooling1d",
    readonly name: string,
    readonly inputShape: number[],
    poolSize: number,
    stride: number,
    padding: "valid" | "same",
  ) {
    const Kind = type === "maxPooling1d" ? MaxPooling2d : AveragePooling2d;
    this.inner = new Kind(name, [1, ...inputShape], [1, poolSize], [1, stride], padding);
    const [, outSteps, channels] = this.inner.outputShape as [number, number, number];
    this.outputShape = [outSteps, channels];
    this.forwardCost = this.inner.forwardCost;
    this.sampleValues = this.inner.sampleValues;
  }

  params(): Param[] {
    return [];
  }

  /** @param x `[batch, steps, C]` @returns `[batch, outSteps, C]` */
  forward(x: Floats, batch: number): Floats {
    return this.inner.forward(x, batch);
  }

  /** @returns `∂L/∂X` `[batch, steps, C]` */
  backward(dy: Floats, batch: number): Floats {
    return this.inner.backward(dy, batch);
  }
}

/**
 * tfjs' `globalMaxPooling1d`: X `[batch, T, C]` to `[batch, C]`, the maximum over the steps; the
 * gradient goes to the first maximum, a NaN wins (`globalMaxPooling2d` of `[1, T, C]`,
 * docs/backprop.md §17.1). A time-step mask is dropped, as Keras' (masked steps count).
 */
export class GlobalMaxPooling1d implements Layer {
  readonly type = "globalMaxPooling1d";
  readonly outputShape: number[];
  readonly forwardCost: number;
  readonly sampleValues: SampleValues;
  private readonly inner: GlobalMaxPooling2d;

  /** @param inputShape `[steps, channels]`. */
  constructor(
    readonly name: string,
    readonly inputShape: number[],
  ) {
    this.inner = new GlobalMaxPooling2d(name, [1, ...inputShape]);
    this.outputShape = [inputShape[1]!];
    this.forwardCost = this.inner.forwardCost;
    this.sampleValues = this.inner.sampleValues;
  }

  params(): Param[] {
    return [];
  }

  forward(x: Floats, batch: number): Floats {
    return this.inner.forward(x, batch);
  }

  backward(dy: Floats, batch: number): Floats {
    return this.inner.backward(dy, batch);
  }
}

/**
 * tfjs' `globalAveragePooling1d` with Keras' masking (docs/backprop.md §21.5): X `[batch, T, C]`
 * and a mask m `[batch, T]` (all ones without one) to Y `[batch, C]`,
 * `Y[b, c] = Σ_t m[b, t]·X[b, t, c] / n_b` with `n_b = Σ_t m[b, t]`, the sum in step order; backward
 * `∂L/∂X[b, t, c] = m[b, t]·∂L/∂Y[b, c] / n_b`. A sample whose every step is masked (`n_b = 0`)
 * gives 0 and no gradient (Keras divides 0 by 0: NaN). The mask is consumed, not passed on.
 */
export class GlobalAveragePooling1d implements Layer {
  readonly type = "globalAveragePooling1d";
  readonly masking = "consume" as const;
  readonly outputShape: number[];
  readonly forwardCost: number;
  readonly sampleValues: SampleValues;
  private readonly out: Buffer;
  private readonly dx: Buffer;
  private readonly steps: number;
  private readonly channels: number;
  private maskIn: Floats | null = null;

  /** @param inputShape `[steps, channels]`. */
  constructor(
    readonly name: string,
    readonly inputShape: number[],
  ) {
    this.steps = inputShape[0]!;
    this.channels = inputShape[1]!;
    this.outputShape = [this.channels];
    this.forwardCost = this.steps * this.channels;
    this.sampleValues = { forward: this.channels, backward: this.steps * this.channels };
    this.out = new Buffer(this.channels);
    this.dx = new Buffer(this.steps * this.channels);
  }

  params(): Param[] {
    return [];
  }

  setMask(mask: Floats | null): void {
    this.maskIn = mask;
  }

  /** `n_b`, the real steps of sample b (`T` without a mask). */
  private count(b: number): number {
    const m = this.maskIn;
    if (!m) return this.steps;
    let n = 0;
    for (let t = 0; t < this.steps; t++) n += m[b * this.steps + t]!;
    return n;
  }

  /** @param x `[batch, T, C]` @returns `[batch, C]` */
  forward(x: Floats, batch: number): Floats {
    const { steps: T, channels: C } = this;
    const m = this.maskIn;
    const y = this.out.get(batch);
    y.fill(0);
    for (let b = 0; b < batch; b++) {
      const o = b * C;
      for (let t = 0; t < T; t++) {
        if (m && m[b * T + t] === 0) continue;
        const s = (b * T + t) * C;
        for (let c = 0; c < C; c++) y[o + c]! += x[s + c]!;
      }
      // Divided by n, as averagePooling's mean; a sample with no real step keeps its zeros.
      const n = this.count(b);
      if (n > 0) for (let c = 0; c < C; c++) y[o + c]! /= n;
    }
    return y;
  }

  /** @param dy `[batch, C]` @returns `∂L/∂X` `[batch, T, C]` */
  backward(dy: Floats, batch: number): Floats {
    const { steps: T, channels: C } = this;
    const m = this.maskIn;
    const dx = this.dx.get(batch);
    for (let b = 0; b < batch; b++) {
      const n = this.count(b);
      const inv = n === 0 ? 0 : 1 / n;
      for (let t = 0; t < T; t++) {
        const s = (b * T + t) * C;
        const w = m ? m[b * T + t]! * inv : inv;
        for (let c = 0; c < C; c++) dx[s + c] = dy[b * C + c]! * w;
      }
    }
    return dx;
  }
}
