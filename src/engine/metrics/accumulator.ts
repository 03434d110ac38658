import type { LossSpec } from "../spec.js";
import type { Floats } from "../tensor.js";
import { exactAuc } from "./auc.js";
import { argmax, classCount, type Decision, decisionOf } from "./classes.js";
import type { ExtraMetric, MetricName } from "./names.js";

/**
 * Keras' stateful metrics over a stream of batches (docs/backprop.md §20.3): `add` each batch's
 * outputs and targets, read `values` at the end. Unweighted, as Keras' `compile(metrics=…)` (only
 * the loss takes `sampleWeight` and `classWeight`).
 * - precision, recall: from a confusion matrix. Binary (binary cross-entropy, hinges; every output
 *   element a decision, output > 0.5, or > 0 for logits and hinges; target > 0.5, or > 0 for the
 *   hinges): TP / (TP + FP) and TP / (TP + FN), pooled over the elements of multi-label outputs
 *   (Keras' micro average). Multi-class (argmax): one-vs-rest per class, then the macro average over
 *   the classes that occur as a label or as a prediction (scikit-learn's `average="macro"`). A ratio
 *   0/0 counts 0 (Keras' `divide_no_nan`).
 * - auc: the exact ROC AUC (`exactAuc`), binary over the pooled elements; multi-class one-vs-rest on
 *   the class's probability (softmax of logits with `fromLogits`), macro-averaged over the classes
 *   with at least one positive and one negative sample; 0 when no class has both. Keeps every score
 *   of the stream: `capacity · k` doubles, O(n) memory per epoch.
 * - meanAbsoluteError, meanSquaredError, rootMeanSquaredError: over every output element (the
 *   squares summed scaled by the largest error, so RMSE is finite whenever the errors are).
 * - r2 (Keras 3 `R2Score`, uniform average over the output elements, no regressors):
 *   `1 − SS_res / SS_tot` per output, SS_tot about the output's mean target (Welford's update);
 *   a constant target (SS_tot = 0) scores 1 when predicted exactly, else 0 (scikit-learn's `force_finite`).
 * A multi-class decision is a row of the output's last axis: one per sample for a vector output,
 * one per step for a sequence `[T, u]`. With a time-step mask at the output (`add`'s `mask`) only
 * the real steps count, in every metric and the confusion matrix (Keras 3 masks its mean metrics
 * the same way; docs/backprop.md §21.6).
 */
export class MetricAccumulator {
  private readonly decision: Decision | undefined;
  /** Values per sample, and per row: the output's last axis (a multi-class decision reads a row). */
  private readonly k: number;
  private readonly u: number;
  private readonly classes: number;
  private readonly cm: Floats;
  private readonly wantAuc: boolean;
  private readonly scores: Floats;
  private readonly truth: Int32Array;
  /** Scores kept for the AUC: rows (multi-class) or elements (binary). */
  private stored = 0;
  /** Output elements added (regression). */
  private elements = 0;
  private sumAbs = 0;
  /** Σe² as `sqScale² · sqSum` (LAPACK's dnrm2 update), so RMSE stays finite for errors near 1e308. */
  private sqScale = 0;
  private sqSum = 0;
  private readonly colCount: Floats;
  private readonly colMean: Floats;
  private readonly colM2: Floats;
  private readonly colRes: Floats;

  /**
   * @param loss the model's loss (its decision rule, see `decisionOf`).
   * @param outputShape the model's output per sample (a number: a vector of that many units); a
   *   multi-class decision reads each row of its last axis (each step of a sequence `[T, u]`).
   * @param metrics the metrics to compute (checked by `checkMetrics`).
   * @param capacity the most samples `add` will see before a `reset` (the AUC's buffer).
   */
  constructor(
    loss: LossSpec,
    outputShape: readonly number[] | number,
    readonly metrics: readonly MetricName[],
    capacity: number,
  ) {
    const shape = typeof outputShape === "number" ? [outputShape] : outputShape;
    const k = shape.reduce((a, d) => a * d, 1);
    const u = shape[shape.length - 1]!;
    this.k = k;
    this.u = u;
    this.decision = decisionOf(loss, u);
    this.classes = this.decision ? classCount(this.decision, u) : 0;
    this.cm = new Float64Array(this.classes * this.classes);
    this.wantAuc = metrics.includes("auc") && this.decision !== undefined;
    this.scores = new Float64Array(this.wantAuc ? capacity * k : 0);
    this.truth = new Int32Array(this.wantAuc ? capacity * (this.decision?.mode === "binary" ? k : k / u) : 0);
    const regression = this.decision === undefined;
    this.colCount = new Float64Array(regression ? k : 0);
    this.colMean = new Float64Array(regression ? k : 0);
    this.colM2 = new Float64Array(regression ? k : 0);
    this.colRes = new Float64Array(regression ? k : 0);
  }

  /** Starts a new stream (a new epoch). */
  reset(): void {
    this.cm.fill(0);
    this.stored = 0;
    this.elements = 0;
    this.sumAbs = 0;
    this.sqScale = 0;
    this.sqSum = 0;
    this.colCount.fill(0);
    this.colMean.fill(0);
    this.colM2.fill(0);
    this.colRes.fill(0);
  }

  /**
   * Adds a batch.
   * @param out the model's output `[batch, k]` (probabilities, or logits with `fromLogits`).
   * @param t targets `[batch, k]`, or labels `[batch, k/u]` for the sparse loss (one per row).
   * @param mask `[batch, T]` time-step mask at the output, or null: a masked step's values are
   *   left out of every metric and of the confusion matrix (docs/backprop.md §21.6).
   */
  add(out: Floats, t: Floats, batch: number, mask: Floats | null = null): void {
    const { decision, u } = this;
    const steps = mask ? mask.length / batch : 1;
    const per = this.k / steps;
    for (let s = 0; s < batch * steps; s++) {
      if (mask && mask[s] === 0) continue;
      const from = s * per;
      if (!decision) this.addRegression(out, t, from, per);
      else if (decision.mode === "binary") this.addBinary(decision, out, t, from, per);
      else for (let r = from / u; r < (from + per) / u; r++) this.addRow(decision, out, t, r);
    }
  }

  /** The `n` elements from `from` as yes/no decisions. */
  private addBinary(d: Decision, out: Floats, t: Floats, from: number, n: number): void {
    const { cm } = this;
    for (let i = from; i < from + n; i++) {
      const truth = t[i]! > d.targetThreshold ? 1 : 0;
      const predicted = out[i]! > d.threshold ? 1 : 0;
      cm[truth * 2 + predicted]! += 1;
      if (this.wantAuc) {
        this.scores[this.stored] = out[i]!;
        this.truth[this.stored++] = truth;
      }
    }
  }

  /** Row `r` (its `u` values) as one multi-class decision. */
  private addRow(d: Decision, out: Floats, t: Floats, r: number): void {
    const { u, cm, classes } = this;
    const o = r * u;
    const truth = d.labels ? t[r]! : argmax(t, o, u);
    cm[truth * classes + argmax(out, o, u)]! += 1;
    if (!this.wantAuc) return;
    const row = this.stored++;
    this.truth[row] = truth;
    const dst = row * u;
    if (d.fromLogits) {
      let max = Number.NEGATIVE_INFINITY;
      for (let j = 0; j < u; j++) max = Math.max(max, out[o + j]!);
      let sum = 0;
      for (let j = 0; j < u; j++) sum += this.scores[dst + j] = Math.exp(out[o + j]! - max);
      for (let j = 0; j < u; j++) this.scores[dst + j]! /= sum;
    } else for (let j = 0; j < u; j++) this.scores[dst + j] = out[o + j]!;
  }

  /** The `n` elements from `from`, each in its output column's statistics. */
  private addRegression(out: Floats, t: Floats, from: number, n: number): void {
    const { k, colCount, colMean, colM2, colRes } = this;
    for (let i = from, j = from % k; i < from + n; i++, j++) {
      const count = ++colCount[j]!;
      const e = out[i]! - t[i]!;
      this.sumAbs += Math.abs(e);
      const a = Math.abs(e);
      if (a > this.sqScale) {
        this.sqSum = 1 + this.sqSum * (this.sqScale / a) ** 2;
        this.sqScale = a;
      } else if (a > 0) this.sqSum += (a / this.sqScale) ** 2;
      colRes[j]! += e * e;
      const delta = t[i]! - colMean[j]!;
      colMean[j]! += delta / count;
      colM2[j]! += delta * (t[i]! - colMean[j]!);
    }
    this.elements += n;
  }

  /** The value of every metric asked for but `accuracy` (which the loop counts already), keyed by name. */
  values(): Partial<Record<ExtraMetric, number>> {
    const out: Partial<Record<ExtraMetric, number>> = {};
    for (const m of this.metrics) {
      if (m === "accuracy") continue;
      out[m] = this.value(m);
    }
    return out;
  }

  private value(m: ExtraMetric): number {
    const { elements } = this;
    switch (m) {
      case "precision":
        return this.ratio(true);
      case "recall":
        return this.ratio(false);
      case "auc":
        return this.auc();
      case "meanAbsoluteError":
        return this.sumAbs / elements;
      case "meanSquaredError":
        return this.sqScale * this.sqScale * (this.sqSum / elements);
      case "rootMeanSquaredError":
        return this.sqScale * Math.sqrt(this.sqSum / elements);
      case "r2": {
        // The mean over the output columns with a value (with a mask, a step masked everywhere has none).
        let sum = 0;
        let columns = 0;
        for (let j = 0; j < this.k; j++) {
          if (this.colCount[j] === 0) continue;
          const tot = this.colM2[j]!;
          const res = this.colRes[j]!;
          sum += tot > 0 ? 1 - res / tot : res === 0 ? 1 : 0;
          columns++;
        }
        return columns === 0 ? 0 : sum / columns;
      }
    }
  }

  /** Precision (`byPrediction`: over a column, the predictions) or recall (over a row, the truths). */
  private ratio(byPrediction: boolean): number {
    const { cm, classes } = this;
    const of = (c: number, r: number) => (byPrediction ? cm[r * classes + c]! : cm[c * classes + r]!);
    const perClass = (c: number) => {
      let total = 0;
      for (let r = 0; r < classes; r++) total += of(c, r);
      return total === 0 ? 0 : cm[c * classes + c]! / total;
    };
    if (this.decision!.mode === "binary") return perClass(1);
    let sum = 0;
    let present = 0;
    for (let c = 0; c < classes; c++) {
      let occurs = 0;
      for (let r = 0; r < classes; r++) occurs += cm[c * classes + r]! + cm[r * classes + c]!;
      if (occurs === 0) continue;
      present++;
      sum += perClass(c);
    }
    return present === 0 ? 0 : sum / present;
  }

  private auc(): number {
    const { u, stored } = this;
    if (this.decision!.mode === "binary") return exactAuc(this.scores, this.truth, stored) ?? 0;
    const positive = new Uint8Array(stored);
    let sum = 0;
    let defined = 0;
    for (let c = 0; c < u; c++) {
      for (let r = 0; r < stored; r++) positive[r] = this.truth[r] === c ? 1 : 0;
      const a = exactAuc(this.scores, positive, stored, c, u);
      if (a === null) continue;
      sum += a;
      defined++;
    }
    return defined === 0 ? 0 : sum / defined;
  }

  /** The confusion matrix of the stream, rows the true class, columns the predicted; `undefined` for regression. */
  confusion(): number[][] | undefined {
    if (!this.decision) return undefined;
    const { classes, cm } = this;
    return Array.from({ length: classes }, (_, r) => Array.from(cm.subarray(r * classes, (r + 1) * classes)));
  }
}
