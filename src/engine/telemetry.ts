import { Activation } from "./layers/activation.js";
import { Bidirectional } from "./layers/bidirectional.js";
import type { Param } from "./layers/layer.js";
import { Recurrent } from "./layers/recurrent.js";
import type { Model } from "./model.js";
import { type Floats, floatsLike } from "./tensor.js";
import type { ActivationTelemetry, Telemetry } from "./types.js";

/** How close to an asymptote a sigmoid or tanh output counts as saturated (see `ActivationTelemetry`). */
export const SATURATION_TOLERANCE = 1e-3;

interface Watched {
  /** Index of the activation layer in `model.layers`. */
  layer: number;
  activation: "relu" | "sigmoid" | "tanh";
  /** Size of the last axis: the units a relu unit is counted over. */
  units: number;
  /** relu: 1 once a unit has output > 0 in the current epoch. */
  alive: Uint8Array;
  /** sigmoid/tanh: saturated (element, sample) pairs so far in the current epoch. */
  saturated: number;
  /** Output elements per sample. */
  size: number;
  record: ActivationTelemetry;
}

/**
 * Collects `Telemetry` during training: `startEpoch` before an epoch's first batch, `recordBatch`
 * after each batch's checked forward and backward pass (before the step), `endEpoch` after its last
 * step. Buffers are allocated once here; per batch it only reads the model's outputs and gradients.
 */
export class TelemetryRecorder {
  readonly telemetry: Telemetry = { gradientNorm: {}, updateRatio: {}, activations: {} };
  private readonly start: Floats[];
  private readonly normSum: Floats;
  /** Per parameter: Σ over the epoch's batches of ‖∂P/∂w‖₂ / batches (docs/backprop.md §16.2). */
  private readonly penaltyNormSum: Floats;
  private readonly watched: Watched[] = [];
  /** Per recurrent layer: Σ over the epoch's batches of b · Σ_rows ‖∂L_B/∂h_t‖ (docs/backprop.md §22.5). */
  private readonly recurrent: { layer: Recurrent; sums: Float64Array; record: number[][] }[] = [];
  private samples = 0;

  /** @param batchesPerEpoch batches in an epoch, to average gradient norms without overflow. */
  constructor(
    private readonly model: Model,
    private readonly params: Param[],
    private readonly batchesPerEpoch: number,
  ) {
    this.start = params.map((p) => floatsLike(p.value));
    this.normSum = new Float64Array(params.length);
    for (const p of params) {
      this.telemetry.gradientNorm[p.key] = [];
      this.telemetry.updateRatio[p.key] = [];
    }
    this.penaltyNormSum = new Float64Array(params.length);
    if (params.some((p) => p.regularizer)) {
      const norms: Record<string, number[]> = {};
      for (const p of params) if (p.regularizer) norms[p.key] = [];
      this.telemetry.regularizationGradientNorm = norms;
    }
    model.layers.forEach((layer, i) => {
      if (!(layer instanceof Activation)) return;
      const a = layer.activation;
      if (a !== "relu" && a !== "sigmoid" && a !== "tanh") return;
      const shape = layer.outputShape;
      const units = shape[shape.length - 1]!;
      const record: ActivationTelemetry =
        a === "relu" ? { activation: a, deadFraction: [] } : { activation: a, saturatedFraction: [] };
      this.telemetry.activations[model.specLayerNames[model.specIndexOf(i)]!] = record;
      this.watched.push({
        layer: i,
        activation: a,
        units,
        alive: new Uint8Array(units),
        saturated: 0,
        size: shape.reduce((s, d) => s * d, 1),
        record,
      });
    });
    for (const { name, layer } of recurrentCopies(model)) {
      const record: number[][] = [];
      this.telemetry.stateGradientNorm ??= {};
      this.telemetry.stateGradientNorm[name] = record;
      layer.stateGradNorms = new Float64Array(layer.steps);
      this.recurrent.push({ layer, sums: new Float64Array(layer.steps), record });
    }
  }

  startEpoch(): void {
    this.params.forEach((p, k) => {
      this.start[k]!.set(p.value);
    });
    this.normSum.fill(0);
    this.penaltyNormSum.fill(0);
    this.samples = 0;
    for (const r of this.recurrent) r.sums.fill(0);
    for (const w of this.watched) {
      w.alive.fill(0);
      w.saturated = 0;
    }
  }

  /** After the batch's forward and backward pass: activation counts and gradient norms. */
  recordBatch(batch: number): void {
    this.samples += batch;
    for (const w of this.watched) {
      const y = this.model.layerOutput(w.layer);
      const n = batch * w.size;
      if (w.activation === "relu") {
        const alive = w.alive;
        const units = w.units;
        for (let o = 0; o < n; o += units) for (let j = 0; j < units; j++) if (y[o + j]! > 0) alive[j] = 1;
      } else {
        const lo = w.activation === "sigmoid" ? SATURATION_TOLERANCE : -1 + SATURATION_TOLERANCE;
        const hi = 1 - SATURATION_TOLERANCE;
        let count = 0;
        for (let i = 0; i < n; i++) {
          const v = y[i]!;
          if (v < lo || v > hi) count++;
        }
        w.saturated += count;
      }
    }
    // Σ_rows ‖∂L_B/∂h_t‖ with L_B = (1/b)·Σ wᵢlᵢ is (1/b)·Σ_rows ‖∂(wᵢlᵢ)/∂h_t‖: times b, the rows' own norms.
    for (const r of this.recurrent) {
      const norms = r.layer.stateGradNorms!;
      for (let t = 0; t < norms.length; t++) r.sums[t]! += batch * norms[t]!;
    }
    for (let k = 0; k < this.params.length; k++)
      this.normSum[k]! += l2norm(this.params[k]!.grad) / this.batchesPerEpoch;
    const reg = this.model.regularization;
    if (this.telemetry.regularizationGradientNorm && reg)
      for (let k = 0; k < this.params.length; k++)
        this.penaltyNormSum[k]! += reg.gradNorm[k]! / this.batchesPerEpoch;
  }

  /** After the epoch's last step. */
  endEpoch(): void {
    this.params.forEach((p, k) => {
      this.telemetry.gradientNorm[p.key]!.push(this.normSum[k]!);
      this.telemetry.updateRatio[p.key]!.push(changeRatio(this.start[k]!, p.value));
      this.telemetry.regularizationGradientNorm?.[p.key]?.push(this.penaltyNormSum[k]!);
    });
    for (const r of this.recurrent) r.record.push(Array.from(r.sums, (v) => v / this.samples));
    for (const w of this.watched) {
      if (w.activation === "relu") {
        let dead = 0;
        for (let j = 0; j < w.units; j++) if (w.alive[j] === 0) dead++;
        w.record.deadFraction!.push(dead / w.units);
      } else {
        w.record.saturatedFraction!.push(w.saturated / (this.samples * w.size));
      }
    }
  }
}

/** Sums of squares outside [TINY, ∞) lost digits to underflow or overflowed: redo them scaled. */
const TINY = 1e-290;

/** ‖a‖₂ of finite values; rescaled by max|aᵢ| when the plain sum of squares under- or overflows. */
export function l2norm(a: Floats): number {
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += a[i]! * a[i]!;
  if (sum >= TINY && sum < Number.POSITIVE_INFINITY) return Math.sqrt(sum);
  let scale = 0;
  for (let i = 0; i < a.length; i++) scale = Math.max(scale, Math.abs(a[i]!));
  if (scale === 0) return 0;
  sum = 0;
  for (let i = 0; i < a.length; i++) sum += (a[i]! / scale) ** 2;
  return scale * Math.sqrt(sum);
}

/**
 * ‖b − a‖₂ / ‖a‖₂ of finite arrays (rescaled when a sum of squares under- or overflows);
 * null when ‖a‖₂ = 0.
 */
export function changeRatio(a: Floats, b: Floats): number | null {
  let da = 0;
  let dd = 0;
  for (let i = 0; i < a.length; i++) {
    const d = b[i]! - a[i]!;
    da += a[i]! * a[i]!;
    dd += d * d;
  }
  if (
    da >= TINY &&
    da < Number.POSITIVE_INFINITY &&
    (dd === 0 || (dd >= TINY && dd < Number.POSITIVE_INFINITY))
  )
    return Math.sqrt(dd) / Math.sqrt(da);
  let scale = 0;
  for (let i = 0; i < a.length; i++) scale = Math.max(scale, Math.abs(a[i]!), Math.abs(b[i]!));
  if (scale === 0) return null;
  da = 0;
  dd = 0;
  for (let i = 0; i < a.length; i++) {
    const x = a[i]! / scale;
    const d = b[i]! / scale - x;
    da += x * x;
    dd += d * d;
  }
  return da === 0 ? null : Math.sqrt(dd) / Math.sqrt(da);
}

/**
 * The model's recurrent layers that report the state gradient's norms (docs/backprop.md §22.5):
 * a simpleRNN, lstm or gru under its spec layer's name; a bidirectional layer's two copies under
 * their weight prefixes, `<name>/forward_<inner>` then `<name>/backward_<inner>` (§23.1).
 */
export function recurrentCopies(model: Model): { name: string; layer: Recurrent }[] {
  const out: { name: string; layer: Recurrent }[] = [];
  model.layers.forEach((layer, i) => {
    if (layer instanceof Recurrent) out.push({ name: model.specLayerNames[model.specIndexOf(i)]!, layer });
    else if (layer instanceof Bidirectional)
      for (const copy of [layer.fwd, layer.bwd]) out.push({ name: copy.name, layer: copy });
  });
  return out;
}
