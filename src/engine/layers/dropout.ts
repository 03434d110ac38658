import { EngineError } from "../errors.js";
import { Rng } from "../rng.js";
import type { DropoutSpec } from "../spec.js";
import { type Floats, formatShape, sizeOf } from "../tensor.js";
import { Buffer, INFERENCE, type Layer, type LayerMode, type Param, type SampleValues } from "./layer.js";

/**
 * Mixed into the request's seed for a dropout layer's stream (with the layer's index), so masks
 * are independent of shuffling (its own constant) and of the weights' initialisation.
 */
const DROPOUT_STREAM = 0x2545f491;

/** splitmix32's finaliser: a 32-bit integer hash that spreads every input bit over the output. */
function mix32(x: number): number {
  let z = (x + 0x9e3779b9) >>> 0;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
  return (z ^ (z >>> 16)) >>> 0;
}

/** Mixed into a bidirectional layer's stream for its backward copy (docs/backprop.md §22.7). */
const BACKWARD_COPY = 0x6a09e667;

/**
 * The seed of the dropout stream of the layer at spec index `index` (a dropout layer without a
 * `seed` of its own, or a recurrent layer): `mix32(mix32(seed ⊕ DROPOUT_STREAM) + index)`
 * (docs/backprop.md §18.3); with `copy` 1, a bidirectional layer's backward copy, that mixed
 * once more with `BACKWARD_COPY` (§22.7).
 */
export function dropoutSeed(seed: number, index: number, copy = 0): number {
  const s = mix32((mix32((seed ^ DROPOUT_STREAM) >>> 0) + index) >>> 0);
  return copy === 0 ? s : mix32((s ^ BACKWARD_COPY) >>> 0);
}

/** 2⁻³²: turns a uniform uint32 into a uniform double in [0, 1). */
const UINT32_SCALE = 2 ** -32;

/**
 * Keras' / tfjs' `dropout` layer (inverted dropout, Srivastava et al. 2014; docs/backprop.md §18):
 * in training mode `y = x ⊙ m` with `m = 1/(1 − rate)` where a uniform draw `u ∈ [0, 1)` is
 * `≥ rate` and 0 elsewhere, one draw per element of the noise shape, broadcast over the axes where
 * it is 1; `∂L/∂X = ∂L/∂Y ⊙ m`. In inference mode, and always when `rate` is 0, `y = x` exactly
 * (the input array itself is returned). Each layer draws from its own xoshiro128** stream, one
 * uint32 per noise element (`u = draw · 2⁻³²`), seeded by `seedStream`.
 * Shapes: input and output `[batch, ...inputShape]`.
 */
export class Dropout implements Layer {
  readonly type = "dropout";
  /** A time-step mask goes on unchanged (docs/backprop.md §21.1). */
  readonly masking = "pass" as const;
  readonly outputShape: number[];
  readonly forwardCost: number;
  readonly sampleValues: SampleValues;
  /** The layer's generator: its state is what `OptimizerState.dropoutRng` carries. */
  rng: Rng;
  private mode: LayerMode = INFERENCE;
  /** 1/(1 − rate): the value of a kept unit's mask. */
  readonly scale: number;
  /** Per-sample noise size (the product of the per-sample noise shape). */
  private readonly noiseSize: number;
  /** For each element of one sample, the index of its draw in that sample's noise. */
  private readonly noiseIndex: Int32Array;
  private readonly out: Buffer;
  private readonly dx: Buffer;
  private readonly maskBuffer: Buffer;
  private readonly noise: Buffer;
  /** The mask of the last training forward, `[batch, ...inputShape]`; empty before the first. */
  private mask: Floats = new Float64Array(0);
  /** Whether the last forward applied `mask` (training with rate > 0) rather than the identity. */
  private masked = false;

  /**
   * @param noiseShape the per-sample noise shape (no batch axis), each entry 1 or the input's
   *   extent; `sharedOverBatch`: one mask for every sample of a batch (Keras' `noise_shape[0] = 1`).
   * @param index the layer's index in the spec, mixed into the request's seed when `seed` is absent.
   */
  constructor(
    readonly name: string,
    readonly inputShape: number[],
    readonly rate: number,
    readonly noiseShape: number[],
    readonly sharedOverBatch: boolean,
    readonly seed: number | undefined,
    readonly index: number,
  ) {
    this.outputShape = [...inputShape];
    const size = sizeOf(inputShape);
    this.forwardCost = size;
    this.sampleValues = { forward: 2 * size, backward: size };
    this.scale = 1 / (1 - rate);
    this.noiseSize = sizeOf(noiseShape);
    this.noiseIndex = new Int32Array(size);
    // Row-major strides of the noise shape, 0 along broadcast axes.
    const strides = noiseShape.map(() => 0);
    for (let d = noiseShape.length - 1, s = 1; d >= 0; d--) {
      strides[d] = noiseShape[d] === 1 ? 0 : s;
      s *= noiseShape[d]!;
    }
    for (let j = 0; j < size; j++) {
      let rest = j;
      let k = 0;
      for (let d = inputShape.length - 1; d >= 0; d--) {
        k += (rest % inputShape[d]!) * strides[d]!;
        rest = Math.floor(rest / inputShape[d]!);
      }
      this.noiseIndex[j] = k;
    }
    this.out = new Buffer(size);
    this.dx = new Buffer(size);
    this.maskBuffer = new Buffer(size);
    this.noise = new Buffer(this.noiseSize, "float64");
    this.rng = new Rng(seed ?? dropoutSeed(0, index));
  }

  /** Seeds the stream: from the layer's own `seed` when given, else from `dropoutSeed(seed, index)`. */
  seedStream(seed: number): void {
    this.rng = new Rng(this.seed ?? dropoutSeed(seed, this.index));
  }

  params(): Param[] {
    return [];
  }

  setMode(mode: LayerMode): void {
    this.mode = mode;
  }

  /**
   * The mask the last training forward applied, `[batch, ...inputShape]`: 0 for a dropped unit,
   * `1/(1 − rate)` for a kept one (all `1` when `rate` is 0); undefined before any.
   */
  lastMask(): Floats | undefined {
    return this.mask.length > 0 ? this.mask : undefined;
  }

  /** @param x `[batch, ...inputShape]` @returns `[batch, ...inputShape]` */
  forward(x: Floats, batch: number): Floats {
    const { mode, rate } = this;
    if (!mode.training || rate === 0) {
      this.masked = false;
      if (mode.training) this.mask = this.maskBuffer.get(batch).fill(1);
      return x;
    }
    const n = x.length;
    if (!(mode.reuseMasks && this.mask.length === n)) this.draw(batch);
    this.masked = true;
    const y = this.out.get(batch);
    const m = this.mask;
    for (let i = 0; i < n; i++) y[i] = x[i]! * m[i]!;
    return y;
  }

  /** @param dy `[batch, ...inputShape]` @returns `∂L/∂X = dy ⊙ mask`, or `dy` itself where the forward was the identity. */
  backward(dy: Floats, batch: number, needInputGrad = true): Floats {
    if (!this.masked || !needInputGrad) return dy;
    const dx = this.dx.get(batch);
    const m = this.mask;
    for (let i = 0; i < dy.length; i++) dx[i] = dy[i]! * m[i]!;
    return dx;
  }

  /** Draws a new mask for `batch` samples: one uniform per noise element, kept where `u ≥ rate`. */
  private draw(batch: number): void {
    const { rate, scale, noiseSize, noiseIndex, rng } = this;
    const draws = this.sharedOverBatch ? 1 : batch;
    const noise = this.noise.get(draws);
    for (let i = 0; i < noise.length; i++) noise[i] = rng.nextUint32() * UINT32_SCALE >= rate ? scale : 0;
    const m = this.maskBuffer.get(batch);
    const size = noiseIndex.length;
    for (let b = 0; b < batch; b++) {
      const base = this.sharedOverBatch ? 0 : b * noiseSize;
      const row = b * size;
      for (let j = 0; j < size; j++) m[row + j] = noise[base + noiseIndex[j]!]!;
    }
    this.mask = m;
  }
}

/**
 * Builds a dropout layer from its spec on `inShape`.
 * `noiseShape` is either per sample (`inShape.length` entries) or Keras' form with the batch axis
 * first (`inShape.length + 1` entries, the first `null`/`-1` for a mask per sample or `1` for one
 * mask shared by the batch); every other entry is `null`/`-1` (the input's extent), 1 (broadcast)
 * or the input's extent.
 * @throws EngineError at `["layers", i, "rate"]` unless 0 ≤ rate < 1, at `["layers", i, "seed"]`
 *   unless a uint32, at `["layers", i, "noiseShape"(, j)]` for a noise shape that does not broadcast.
 */
export function buildDropout(ls: DropoutSpec, name: string, inShape: number[], i: number): Dropout {
  const rate: unknown = ls.rate;
  if (typeof rate !== "number" || !(rate >= 0 && rate < 1))
    throw new EngineError(`layer ${name} (dropout): rate must be in [0, 1), got ${String(rate)}`, [
      "layers",
      i,
      "rate",
    ]);
  const seed: unknown = ls.seed;
  if (seed !== undefined && !(Number.isInteger(seed) && (seed as number) >= 0 && (seed as number) < 2 ** 32))
    throw new EngineError(`layer ${name} (dropout): seed must be an integer in [0, 2^32)`, [
      "layers",
      i,
      "seed",
    ]);
  let noise = [...inShape];
  let shared = false;
  if (ls.noiseShape !== undefined) {
    const given: unknown = ls.noiseShape;
    const path = ["layers", i, "noiseShape"];
    const rank = inShape.length;
    if (!Array.isArray(given) || (given.length !== rank && given.length !== rank + 1))
      throw new EngineError(
        `layer ${name} (dropout): noiseShape must have ${rank} entries (per sample) or ${rank + 1} (with the batch axis first) for the input ${formatShape(inShape)}`,
        path,
      );
    const withBatch = given.length === rank + 1;
    if (withBatch) {
      const b: unknown = given[0];
      if (!(b === null || b === -1 || b === 1))
        throw new EngineError(
          `layer ${name} (dropout): noiseShape's batch axis must be null or -1 (a mask per sample) or 1 (one mask for the batch), got ${JSON.stringify(b)}`,
          [...path, 0],
        );
      shared = b === 1;
    }
    noise = inShape.map((d, k) => {
      const v: unknown = given[withBatch ? k + 1 : k];
      if (v === null || v === -1) return d;
      if (v === 1 || v === d) return v;
      throw new EngineError(
        `layer ${name} (dropout): noiseShape ${JSON.stringify(given)} does not broadcast to the input ${formatShape(inShape)}: entry ${withBatch ? k + 1 : k} must be null, -1, 1 or ${d}, got ${JSON.stringify(v)}`,
        [...path, withBatch ? k + 1 : k],
      );
    });
  }
  return new Dropout(name, inShape, rate, noise, shared, seed as number | undefined, i);
}
