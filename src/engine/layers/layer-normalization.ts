import { EngineError } from "../errors.js";
import type { LayerNormalizationSpec } from "../spec.js";
import { type Floats, formatShape, layerFloats, sizeOf } from "../tensor.js";
import { Buffer, type Layer, NO_INPUT_GRAD, type Param, type SampleValues } from "./layer.js";
import { axisError, checkNormalizationNumbers, indexAlong, sampleAxis } from "./normalization.js";

/** Keras' and tfjs' defaults. */
export const LAYER_NORM_DEFAULTS = { axis: -1, epsilon: 1e-3 } as const;

/**
 * Keras' `LayerNormalization` (Ba, Kiros & Hinton 2016; docs/backprop.md §19.4), the same in
 * training and inference: each sample is normalised over `axes` (per group of the other axes),
 * `x̂ = (x − μ)/√(σ² + ε)` with the group's mean and biased variance over its `N` values, then
 * `y = γ·x̂ + β` with `γ`, `β` shaped over `axes` (broadcast over the others).
 * Backward: `∂L/∂γ += Σ dy·x̂`, `∂L/∂β += Σ dy` (over the batch and the other axes);
 * with `g = γ·dy`, `∂L/∂x = (1/√(σ² + ε))·(g − mean(g) − x̂·mean(g·x̂))`, the means over the group.
 */
export class LayerNormalization implements Layer {
  readonly type = "layerNormalization";
  /** A time-step mask goes on unchanged (docs/backprop.md §21.1). */
  readonly masking = "pass" as const;
  readonly outputShape: number[];
  readonly forwardCost: number;
  readonly sampleValues: SampleValues;
  readonly gamma: Param | undefined;
  readonly beta: Param | undefined;
  /** Values per group (`N`) and groups per sample. */
  readonly groupSize: number;
  readonly groups: number;
  /** For each element of a sample, its group and its index into `γ`/`β`. */
  private readonly groupOf: Int32Array;
  private readonly paramOf: Int32Array;
  private readonly out: Buffer;
  private readonly xhat: Buffer;
  private readonly dx: Buffer;
  /** Per (sample, group): mean and `1/√(σ² + ε)` (the mean's slot holds the variance meanwhile). */
  private readonly mean: Buffer;
  private readonly inv: Buffer;
  /** Per group of one sample: sums of `g` and `g·x̂` in `backward`. */
  private readonly sumG: Floats;
  private readonly sumGXhat: Floats;

  /**
   * @param axes sorted, distinct indices into `inputShape`.
   * @param paramShape `γ`'s shape: the sizes along `axes` in the order the request listed them (Keras).
   */
  constructor(
    readonly name: string,
    readonly inputShape: number[],
    readonly axes: readonly number[],
    paramShape: number[],
    readonly epsilon: number,
    center: boolean,
    scale: boolean,
  ) {
    const size = sizeOf(inputShape);
    this.outputShape = [...inputShape];
    this.groupSize = sizeOf(axes.map((a) => inputShape[a]!));
    this.groups = size / this.groupSize;
    this.groupOf = indexAlong(inputShape, axes, true);
    this.paramOf = indexAlong(inputShape, axes);
    this.forwardCost = 4 * size;
    this.sampleValues = { forward: 2 * size + 2 * this.groups, backward: size };
    this.out = new Buffer(size);
    this.xhat = new Buffer(size);
    this.dx = new Buffer(size);
    this.mean = new Buffer(this.groups);
    this.inv = new Buffer(this.groups);
    this.sumG = layerFloats(this.groups);
    this.sumGXhat = layerFloats(this.groups);
    const n = this.groupSize;
    const param = (key: string, initializer: "ones" | "zeros"): Param => ({
      key: `${name}/${key}`,
      shape: [...paramShape],
      value: layerFloats(n),
      grad: layerFloats(n),
      initializer,
    });
    this.gamma = scale ? param("gamma", "ones") : undefined;
    this.beta = center ? param("beta", "zeros") : undefined;
  }

  /** gamma, then beta; only those `scale` and `center` keep. */
  params(): Param[] {
    return [...(this.gamma ? [this.gamma] : []), ...(this.beta ? [this.beta] : [])];
  }

  /** @param x `[batch, ...shape]` @returns `[batch, ...shape]` */
  forward(x: Floats, batch: number): Floats {
    const { groupOf, paramOf, groups, groupSize: n } = this;
    const size = groupOf.length;
    const mean = this.mean.get(batch);
    const inv = this.inv.get(batch);
    const y = this.out.get(batch);
    const xh = this.xhat.get(batch);
    const g = this.gamma?.value;
    const b = this.beta?.value;
    mean.fill(0);
    inv.fill(0);
    for (let r = 0; r < batch; r++) {
      const o = r * size;
      const q = r * groups;
      for (let j = 0; j < size; j++) mean[q + groupOf[j]!]! += x[o + j]!;
      for (let k = 0; k < groups; k++) mean[q + k]! /= n;
      // inv holds the summed squared deviations until it is turned into 1/√(σ² + ε).
      for (let j = 0; j < size; j++) {
        const d = x[o + j]! - mean[q + groupOf[j]!]!;
        inv[q + groupOf[j]!]! += d * d;
      }
      for (let k = 0; k < groups; k++) {
        const v = inv[q + k]! / n;
        // Overflowed statistics make the output NaN, so the divergence watch names this layer.
        inv[q + k] =
          Number.isFinite(v) && Number.isFinite(mean[q + k]!) ? 1 / Math.sqrt(v + this.epsilon) : Number.NaN;
      }
      for (let j = 0; j < size; j++) {
        const k = q + groupOf[j]!;
        const p = paramOf[j]!;
        const h = (x[o + j]! - mean[k]!) * inv[k]!;
        xh[o + j] = h;
        y[o + j] = (g ? g[p]! * h : h) + (b ? b[p]! : 0);
      }
    }
    return y;
  }

  backward(dy: Floats, batch: number, needInputGrad = true): Floats {
    const { groupOf, paramOf, groups, groupSize: n, sumG, sumGXhat } = this;
    const size = groupOf.length;
    const xh = this.xhat.get(batch);
    const gamma = this.gamma;
    const beta = this.beta;
    for (let r = 0; r < batch; r++) {
      const o = r * size;
      for (let j = 0; j < size; j++) {
        const p = paramOf[j]!;
        if (gamma) gamma.grad[p]! += dy[o + j]! * xh[o + j]!;
        if (beta) beta.grad[p]! += dy[o + j]!;
      }
    }
    if (!needInputGrad) return NO_INPUT_GRAD;
    const dx = this.dx.get(batch);
    const inv = this.inv.get(batch);
    const g = gamma?.value;
    for (let r = 0; r < batch; r++) {
      const o = r * size;
      const q = r * groups;
      sumG.fill(0);
      sumGXhat.fill(0);
      for (let j = 0; j < size; j++) {
        const gj = g ? g[paramOf[j]!]! * dy[o + j]! : dy[o + j]!;
        sumG[groupOf[j]!]! += gj;
        sumGXhat[groupOf[j]!]! += gj * xh[o + j]!;
      }
      for (let j = 0; j < size; j++) {
        const k = groupOf[j]!;
        const gj = g ? g[paramOf[j]!]! * dy[o + j]! : dy[o + j]!;
        dx[o + j] = inv[q + k]! * (gj - sumG[k]! / n - (xh[o + j]! * sumGXhat[k]!) / n);
      }
    }
    return dx;
  }
}

/** `axis` as a list of Keras axes (an integer or a list). */
function axesOf(ls: LayerNormalizationSpec): unknown[] {
  const a: unknown = ls.axis ?? LAYER_NORM_DEFAULTS.axis;
  return Array.isArray(a) ? a : [a];
}

/**
 * The normalised axes of `ls` on `inShape` as indices into `inShape`, in the request's order, or
 * a reason they do not fit.
 */
function resolveAxes(ls: LayerNormalizationSpec, inShape: readonly number[]): number[] | string {
  const listed = axesOf(ls);
  if (listed.length === 0) return "it lists no axis";
  const out: number[] = [];
  for (const a of listed) {
    const s = sampleAxis(a, inShape.length);
    if (s === undefined) return `axis ${JSON.stringify(a)} is 0 (the batch) or not an axis of it`;
    if (out.includes(s)) return `axis ${JSON.stringify(a)} is listed twice`;
    out.push(s);
  }
  return out;
}

/** Trainable parameters a layer normalisation layer will have on `inShape` (0 when its axes do not fit). */
export function layerNormalizationParamCount(ls: LayerNormalizationSpec, inShape: readonly number[]): number {
  const axes = resolveAxes(ls, inShape);
  if (typeof axes === "string") return 0;
  return (
    sizeOf(axes.map((a) => inShape[a]!)) * (((ls.scale ?? true) ? 1 : 0) + ((ls.center ?? true) ? 1 : 0))
  );
}

/**
 * Builds a `layerNormalization` layer on `inShape`.
 * @throws EngineError at `["layers", i, "axis"]` for an axis that is 0 (the batch), outside
 *   `[batch, ...inShape]` or listed twice, and at `["layers", i, "epsilon"]` for `epsilon` not > 0.
 */
export function buildLayerNormalization(
  ls: LayerNormalizationSpec,
  name: string,
  inShape: number[],
  i: number,
): LayerNormalization {
  const what = `layer ${name} (layerNormalization)`;
  const axes = resolveAxes(ls, inShape);
  if (typeof axes === "string") {
    const listed = axesOf(ls);
    if (listed.length === 1 && sampleAxis(listed[0], inShape.length) === undefined)
      throw axisError(what, listed[0], inShape, ["layers", i, "axis"]);
    throw new EngineError(
      `${what}: axis ${JSON.stringify(ls.axis)} does not fit its input ${formatShape(inShape)}: ${axes}; ` +
        `expected distinct integers in [1, ${inShape.length}] or [-${inShape.length}, -1], counting the batch axis as 0`,
      ["layers", i, "axis"],
    );
  }
  const epsilon = ls.epsilon ?? LAYER_NORM_DEFAULTS.epsilon;
  checkNormalizationNumbers(what, i, epsilon);
  const sorted = [...axes].sort((a, b) => a - b);
  return new LayerNormalization(
    name,
    inShape,
    sorted,
    axes.map((a) => inShape[a]!),
    epsilon,
    ls.center ?? true,
    ls.scale ?? true,
  );
}
