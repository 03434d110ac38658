import { checkInitializer, type InitializerSpec } from "../initializers.js";
import type { BatchNormalizationSpec } from "../spec.js";
import { type Floats, layerFloats, sizeOf } from "../tensor.js";
import {
  Buffer,
  INFERENCE,
  type Layer,
  type LayerMode,
  NO_INPUT_GRAD,
  type Param,
  type SampleValues,
} from "./layer.js";
import { axisError, checkNormalizationNumbers, indexAlong, sampleAxis } from "./normalization.js";

/** Keras' and tfjs' defaults. */
export const BATCH_NORM_DEFAULTS = { axis: -1, momentum: 0.99, epsilon: 1e-3 } as const;

/** The options of a built batch normalisation layer (defaults resolved). */
export interface BatchNormalizationOptions {
  /** Index into the per-sample shape of the normalised (channel) axis. */
  axis: number;
  momentum: number;
  epsilon: number;
  center: boolean;
  scale: boolean;
}

/**
 * Keras' `BatchNormalization` (Ioffe & Szegedy 2015; docs/backprop.md §19.1–§19.3) over any input
 * `[batch, ...shape]`: one channel per index along `axis`, its statistics over every other axis
 * (batch and spatial), `m = batch · size / channels` values each.
 * - Training mode: `μ`, `σ²` (biased) of the batch; `x̂ = (x − μ)/√(σ² + ε)`, `y = γ·x̂ + β`; with
 *   `updateStats`, `moving ← momentum·moving + (1 − momentum)·batch` for mean and variance.
 * - Inference: the same with `moving_mean` and `moving_variance` (a negative one counts as 0).
 * Weights: `<layer>/gamma` (scale) and `<layer>/beta` (center) trainable, `[channels]`;
 * `<layer>/moving_mean` and `<layer>/moving_variance` non-trainable (`state`).
 */
export class BatchNormalization implements Layer {
  readonly type = "batchNormalization";
  /**
   * A time-step mask goes on unchanged, as tfjs-layers; masked steps still count in the batch
   * statistics (Keras 3 leaves them out; docs/backprop.md §21.1).
   */
  readonly masking = "pass" as const;
  readonly outputShape: number[];
  readonly forwardCost: number;
  readonly sampleValues: SampleValues;
  readonly gamma: Param | undefined;
  readonly beta: Param | undefined;
  readonly movingMean: Param;
  readonly movingVariance: Param;
  readonly channels: number;
  /** The channel of each element of one sample. */
  private readonly channelOf: Int32Array;
  private readonly out: Buffer;
  private readonly xhat: Buffer;
  private readonly dx: Buffer;
  /** The statistics the last `forward` normalised with: mean and `1/√(σ² + ε)` per channel. */
  private readonly mean: Floats;
  private readonly inv: Floats;
  private readonly variance: Floats;
  /** Per-channel sums of `dy` and `dy·x̂` in `backward`. */
  private readonly sumDy: Floats;
  private readonly sumDyXhat: Floats;
  private mode: LayerMode = INFERENCE;
  /** Whether the last `forward` used the batch's statistics (its backward then differentiates them). */
  private usedBatchStats = false;

  constructor(
    readonly name: string,
    readonly inputShape: number[],
    readonly options: BatchNormalizationOptions,
  ) {
    const size = sizeOf(inputShape);
    const c = inputShape[options.axis]!;
    this.channels = c;
    this.outputShape = [...inputShape];
    // Mean, variance, normalise, scale and shift: about four operations per value.
    this.forwardCost = 4 * size;
    this.sampleValues = { forward: 2 * size, backward: size };
    this.channelOf = indexAlong(inputShape, [options.axis]);
    this.out = new Buffer(size);
    this.xhat = new Buffer(size);
    this.dx = new Buffer(size);
    const vec = (key: string): Param => ({
      key: `${name}/${key}`,
      shape: [c],
      value: layerFloats(c),
      grad: layerFloats(c),
    });
    this.gamma = options.scale ? { ...vec("gamma"), initializer: "ones" } : undefined;
    this.beta = options.center ? { ...vec("beta"), initializer: "zeros" } : undefined;
    this.movingMean = { ...vec("moving_mean"), initializer: "zeros" };
    this.movingVariance = { ...vec("moving_variance"), initializer: "ones" };
    this.mean = layerFloats(c);
    this.inv = layerFloats(c);
    this.variance = layerFloats(c);
    this.sumDy = layerFloats(c);
    this.sumDyXhat = layerFloats(c);
  }

  /**
   * How many values each channel's batch statistics are taken over for `batch` samples:
   * `m = batch · size / channels` (docs/backprop.md §19.1). With `m = 1`, in training, every
   * channel's variance is 0 and the layer degenerates (docs/backprop.md §19.2).
   */
  valuesPerChannel(batch: number): number {
    return (batch * this.channelOf.length) / this.channels;
  }

  /** gamma, then beta (Keras' order); only those `scale` and `center` keep. */
  params(): Param[] {
    return [...(this.gamma ? [this.gamma] : []), ...(this.beta ? [this.beta] : [])];
  }

  /** moving_mean, moving_variance. */
  state(): Param[] {
    return [this.movingMean, this.movingVariance];
  }

  setMode(mode: LayerMode): void {
    this.mode = mode;
  }

  /** @param x `[batch, ...shape]` @returns `[batch, ...shape]` */
  forward(x: Floats, batch: number): Floats {
    const { channelOf, mean, inv, variance, channels: c } = this;
    const size = channelOf.length;
    const eps = this.options.epsilon;
    const training = this.mode.training;
    this.usedBatchStats = training;
    if (training) {
      // Two passes (mean, then the mean squared deviation): the biased variance of docs §19.1.
      const m = this.valuesPerChannel(batch);
      mean.fill(0);
      variance.fill(0);
      for (let r = 0; r < batch; r++) {
        const o = r * size;
        for (let j = 0; j < size; j++) mean[channelOf[j]!]! += x[o + j]!;
      }
      for (let k = 0; k < c; k++) mean[k]! /= m;
      for (let r = 0; r < batch; r++) {
        const o = r * size;
        for (let j = 0; j < size; j++) {
          const d = x[o + j]! - mean[channelOf[j]!]!;
          variance[channelOf[j]!]! += d * d;
        }
      }
      let finite = true;
      for (let k = 0; k < c; k++) {
        variance[k]! /= m;
        // Statistics that overflowed make the output NaN, so the divergence watch names this layer.
        if (Number.isFinite(mean[k]!) && Number.isFinite(variance[k]!))
          inv[k] = 1 / Math.sqrt(variance[k]! + eps);
        else {
          inv[k] = Number.NaN;
          finite = false;
        }
      }
      if (this.mode.updateStats && finite) this.updateMovingStats();
    } else {
      const mm = this.movingMean.value;
      const mv = this.movingVariance.value;
      for (let k = 0; k < c; k++) {
        mean[k] = mm[k]!;
        inv[k] = 1 / Math.sqrt(Math.max(mv[k]!, 0) + eps);
      }
    }
    const y = this.out.get(batch);
    const xh = this.xhat.get(batch);
    const g = this.gamma?.value;
    const b = this.beta?.value;
    for (let r = 0; r < batch; r++) {
      const o = r * size;
      for (let j = 0; j < size; j++) {
        const k = channelOf[j]!;
        const h = (x[o + j]! - mean[k]!) * inv[k]!;
        xh[o + j] = h;
        y[o + j] = (g ? g[k]! * h : h) + (b ? b[k]! : 0);
      }
    }
    return y;
  }

  /** `moving ← momentum·moving + (1 − momentum)·batch` (Keras 3), kept only when all stay finite. */
  private updateMovingStats(): void {
    const { momentum } = this.options;
    const mm = this.movingMean.value;
    const mv = this.movingVariance.value;
    const { mean, variance } = this;
    for (let k = 0; k < mean.length; k++) {
      const a = momentum * mm[k]! + (1 - momentum) * mean[k]!;
      const v = momentum * mv[k]! + (1 - momentum) * variance[k]!;
      if (!Number.isFinite(a) || !Number.isFinite(v)) return;
    }
    for (let k = 0; k < mean.length; k++) {
      mm[k] = momentum * mm[k]! + (1 - momentum) * mean[k]!;
      mv[k] = momentum * mv[k]! + (1 - momentum) * variance[k]!;
    }
  }

  /**
   * `∂L/∂γ += Σ dy·x̂`, `∂L/∂β += Σ dy` over each channel's `m` values; `∂L/∂x`: in training
   * `(γ/(m·√(σ² + ε)))·(m·dy − Σ dy − x̂·Σ dy·x̂)` (the batch statistics differentiated,
   * docs/backprop.md §19.2), in inference `γ·dy/√(σ² + ε)`.
   */
  backward(dy: Floats, batch: number, needInputGrad = true): Floats {
    const { channelOf, inv, sumDy, sumDyXhat, channels: c } = this;
    const size = channelOf.length;
    const xh = this.xhat.get(batch);
    sumDy.fill(0);
    sumDyXhat.fill(0);
    for (let r = 0; r < batch; r++) {
      const o = r * size;
      for (let j = 0; j < size; j++) {
        const k = channelOf[j]!;
        const d = dy[o + j]!;
        sumDy[k]! += d;
        sumDyXhat[k]! += d * xh[o + j]!;
      }
    }
    if (this.gamma) for (let k = 0; k < c; k++) this.gamma.grad[k]! += sumDyXhat[k]!;
    if (this.beta) for (let k = 0; k < c; k++) this.beta.grad[k]! += sumDy[k]!;
    if (!needInputGrad) return NO_INPUT_GRAD;
    const dx = this.dx.get(batch);
    const g = this.gamma?.value;
    if (this.usedBatchStats) {
      const m = this.valuesPerChannel(batch);
      for (let r = 0; r < batch; r++) {
        const o = r * size;
        for (let j = 0; j < size; j++) {
          const k = channelOf[j]!;
          const s = (g ? g[k]! : 1) * inv[k]!;
          dx[o + j] = s * (dy[o + j]! - sumDy[k]! / m - (xh[o + j]! * sumDyXhat[k]!) / m);
        }
      }
    } else {
      for (let r = 0; r < batch; r++) {
        const o = r * size;
        for (let j = 0; j < size; j++) {
          const k = channelOf[j]!;
          dx[o + j] = (g ? g[k]! : 1) * inv[k]! * dy[o + j]!;
        }
      }
    }
    return dx;
  }
}

/** Resolved options of `ls` on `inShape`, or undefined when its axis does not fit (no throw). */
function optionsOf(
  ls: BatchNormalizationSpec,
  inShape: readonly number[],
): BatchNormalizationOptions | undefined {
  const axis = sampleAxis(ls.axis ?? BATCH_NORM_DEFAULTS.axis, inShape.length);
  if (axis === undefined) return undefined;
  return {
    axis,
    momentum: ls.momentum ?? BATCH_NORM_DEFAULTS.momentum,
    epsilon: ls.epsilon ?? BATCH_NORM_DEFAULTS.epsilon,
    center: ls.center ?? true,
    scale: ls.scale ?? true,
  };
}

/** Trainable parameters a batch normalisation layer will have on `inShape` (0 when the axis does not fit). */
export function batchNormalizationParamCount(ls: BatchNormalizationSpec, inShape: readonly number[]): number {
  const o = optionsOf(ls, inShape);
  return o ? inShape[o.axis]! * ((o.scale ? 1 : 0) + (o.center ? 1 : 0)) : 0;
}

/**
 * Builds a `batchNormalization` layer on `inShape`, its initialisers checked and attached
 * (defaults ones, zeros, zeros, ones).
 * @throws EngineError at `["layers", i, field]`: an `axis` that is 0 (the batch) or outside
 *   `[batch, ...inShape]`, `epsilon` not > 0, `momentum` outside [0, 1], an initialiser's arguments.
 */
export function buildBatchNormalization(
  ls: BatchNormalizationSpec,
  name: string,
  inShape: number[],
  i: number,
): BatchNormalization {
  const what = `layer ${name} (batchNormalization)`;
  const options = optionsOf(ls, inShape);
  if (!options) throw axisError(what, ls.axis, inShape, ["layers", i, "axis"]);
  checkNormalizationNumbers(what, i, options.epsilon, options.momentum);
  const layer = new BatchNormalization(name, inShape, options);
  const init = (p: Param | undefined, spec: InitializerSpec | undefined, field: string) => {
    if (!p || spec === undefined) return;
    const path = ["layers", i, field];
    checkInitializer(spec, p.shape, path);
    p.initializer = spec;
    p.initializerPath = path;
  };
  init(layer.gamma, ls.gammaInitializer, "gammaInitializer");
  init(layer.beta, ls.betaInitializer, "betaInitializer");
  init(layer.movingMean, ls.movingMeanInitializer, "movingMeanInitializer");
  init(layer.movingVariance, ls.movingVarianceInitializer, "movingVarianceInitializer");
  return layer;
}
