import { targetSize } from "../data.js";
import { TRAINING_STEP } from "../layers/layer.js";
import type { MetricAccumulator } from "../metrics/accumulator.js";
import { type AccuracyCounter, accuracyCounter, type Tally } from "../metrics/accuracy.js";
import type { Model } from "../model.js";
import { nativeKernels } from "../native.js";
import type { Optimizer } from "../optimizers.js";
import type { TelemetryRecorder } from "../telemetry.js";
import { type Floats, floats } from "../tensor.js";
import type { Dataset } from "../types.js";
import { DenseNet } from "./dense-net.js";
import type { DivergenceWatch } from "./divergence.js";

/** What one epoch's batches add up to. */
export interface EpochSums {
  /** The summed (not mean) training loss over the epoch's samples. */
  total: number;
  /** The epoch's accuracy decisions (none for a regression loss): over its real steps with a mask (docs/backprop.md §21.6). */
  accuracy: Tally;
  /** Batches run; after a divergence, the index of the batch that diverged. */
  batches: number;
  /** The summed regularisation penalty (part of `total`; docs/backprop.md §16.2). */
  penalty: number;
}

/** Rows shorter than this are gathered value by value; longer ones with one `set` (a view each). */
const SET_ROW = 16;

/**
 * The mini-batch loop of one epoch (docs/backprop.md §2): per batch of `batchSize` samples in
 * `order` (the last one smaller), forward, loss, back-propagation of the mean batch loss and one
 * optimiser step, each checked by `watch`, then the kernel constraints; stops at the first divergence. The batches run in training mode
 * (`TRAINING_STEP`); a batch of consecutive samples (an unshuffled run) is read from the data in
 * place, any other is gathered row by row into buffers allocated once per run. With loss weights the batch's
 * weights are copied in `order` with its samples (docs/backprop.md §20.1); with metrics every
 * batch's outputs are added to them. Accuracy and metrics compare the outputs with the targets as
 * sent (float64), as the validation and final passes do; the loss, in a float32 run, with the
 * targets rounded to float32 (docs/precision.md §1).
 *
 * A model of dense and activation layers only, without telemetry, runs its forward and backward
 * passes through a `DenseNet` (docs/performance.md, "Tiny networks"): the same operations, so the
 * same bits. A batch whose outputs are not finite is then run again through the model's layers,
 * whose check names the layer, so the forensics report is the same too.
 */
export class BatchLoop {
  private readonly xb: Floats;
  private readonly yb: Floats;
  /** The batch's targets as sent, for accuracy and metrics: `yb` itself in a float64 run. */
  private readonly ym: Float64Array;
  private readonly inSize: number;
  private readonly ts: number;
  private readonly wb: Float64Array | undefined;
  private readonly net: DenseNet | undefined;
  private readonly counter: AccuracyCounter | null;
  private total = 0;
  private accuracy: Tally = { correct: 0, counted: 0 };
  private penalty = 0;

  /**
   * @param weights `[n]` every sample's loss weight (`lossWeights`), or undefined for none.
   * @param metrics the epoch's metrics (reset by the caller every epoch), or undefined for none.
   */
  constructor(
    private readonly model: Model,
    private readonly data: Dataset,
    private readonly optimizer: Optimizer,
    private readonly watch: DivergenceWatch,
    private readonly telemetry: TelemetryRecorder | undefined,
    readonly batchSize: number,
    private readonly weights?: Floats,
    private readonly metrics?: MetricAccumulator,
  ) {
    this.inSize = model.inputSize;
    this.ts = targetSize(model);
    // The batch in the model's dtype: a float32 run rounds the inputs as it copies them (docs/precision.md §1).
    this.xb = floats(model.dtype, batchSize * this.inSize);
    this.yb = floats(model.dtype, batchSize * this.ts);
    this.ym = this.yb instanceof Float64Array ? this.yb : new Float64Array(batchSize * this.ts);
    this.wb = weights ? new Float64Array(batchSize) : undefined;
    this.counter = accuracyCounter(model.spec.loss, model.outputShape);
    // Telemetry reads the layers' own outputs, which the fused passes do not fill.
    this.net = telemetry ? undefined : DenseNet.of(model, batchSize);
  }

  /** Runs epoch `epoch` over the first `order.length` samples in `order`. */
  run(epoch: number, order: Uint32Array): EpochSums {
    const { batchSize, net } = this;
    const nTrain = order.length;
    this.total = 0;
    this.accuracy = { correct: 0, counted: 0 };
    this.penalty = 0;
    let batch = 0;
    this.model.setMode(TRAINING_STEP);
    for (let start = 0; start < nTrain; start += batchSize, batch++) {
      const b = Math.min(batchSize, nTrain - start);
      if (
        !(net
          ? this.fusedBatch(net, epoch, batch, order, start, b)
          : this.batch(epoch, batch, order, start, b))
      )
        break;
    }
    return { total: this.total, accuracy: this.accuracy, batches: batch, penalty: this.penalty };
  }

  /** A batch through the model's layers: samples in order (an unshuffled run) read where they are, others gathered. */
  private batch(epoch: number, batch: number, order: Uint32Array, start: number, b: number): boolean {
    if (!consecutive(order, start, b)) {
      this.gather(order, start, b);
      return this.step(
        epoch,
        batch,
        b,
        head(this.xb, b * this.inSize),
        head(this.yb, b * this.ts),
        this.ymOf(b),
      );
    }
    const { data, inSize, ts, wb } = this;
    const first = order[start]!;
    if (wb) wb.set(this.weights!.subarray(first, first + b));
    const yv = data.y.subarray(first * ts, (first + b) * ts);
    return this.step(epoch, batch, b, data.x.subarray(first * inSize, (first + b) * inSize), yv, yv);
  }

  /**
   * A batch through the fused passes. Its samples are gathered into the batch buffers, unless they
   * are consecutive and many in a float64 run (then read in place, as `batch` does). A non-finite
   * output sends the batch through `step`, whose check on the layers names the layer.
   */
  private fusedBatch(
    net: DenseNet,
    epoch: number,
    batch: number,
    order: Uint32Array,
    start: number,
    b: number,
  ): boolean {
    const { data, inSize, ts, wb } = this;
    let xv: Floats;
    let yv: Floats;
    let ym: Float64Array;
    if (this.batchSize === 1 && inSize < SET_ROW) {
      // Tested first: the tiny networks' every step.
      this.gatherOne(order[start]!);
      xv = this.xb;
      yv = this.yb;
      ym = this.ym;
    } else if (this.xb instanceof Float64Array && b * inSize >= 4 * SET_ROW && consecutive(order, start, b)) {
      const first = order[start]!;
      if (wb) wb.set(this.weights!.subarray(first, first + b));
      xv = data.x.subarray(first * inSize, (first + b) * inSize);
      yv = ym = data.y.subarray(first * ts, (first + b) * ts);
    } else {
      this.gather(order, start, b);
      xv = head(this.xb, b * inSize);
      yv = head(this.yb, b * ts);
      ym = this.ymOf(b);
    }
    const out = net.forward(xv, b);
    if (!out) return this.step(epoch, batch, b, xv, yv, ym);
    const sw = wb ? head(wb, b) : undefined;
    return this.finish(epoch, batch, b, out, net.lossAndGrads(yv, b, sw), ym, null);
  }

  /** The targets as sent of the gathered batch of `b`. */
  private ymOf(b: number): Float64Array {
    return head(this.ym, b * this.ts) as Float64Array;
  }

  /** Copies the samples `order[start … start + b)` (and their loss weights) into the batch buffers. */
  private gather(order: Uint32Array, start: number, b: number): void {
    const { data, xb, yb, ym, wb, weights, inSize, ts } = this;
    const { x, y } = data;
    const both = (ym as Floats) !== yb;
    // Long rows natively in one call where the kernels are loaded: a float32 run's rounding copy
    // through `set`, one row at a time, cost about a tenth of the bench CNN's float32 step
    // (docs/performance.md, "float32 ahead of float64").
    const native = inSize >= SET_ROW ? nativeKernels() : undefined;
    const gatherRows = native?.gatherRows !== undefined;
    if (gatherRows) native!.gatherRows!(x, order, start, b, inSize, xb);
    for (let r = 0; r < b; r++) {
      const s = order[start + r]!;
      if (gatherRows) {
        // the row is in place already
      } else if (inSize < SET_ROW) for (let c = 0; c < inSize; c++) xb[r * inSize + c] = x[s * inSize + c]!;
      else xb.set(x.subarray(s * inSize, (s + 1) * inSize), r * inSize);
      for (let c = 0; c < ts; c++) {
        const v = y[s * ts + c]!;
        yb[r * ts + c] = v;
        if (both) ym[r * ts + c] = v;
      }
      if (wb) wb[r] = weights![s]!;
    }
  }

  /**
   * `gather` of one sample `s` with a short row (batch size 1, the tiny networks' case:
   * docs/performance.md, "Tiny networks"), without its general loops.
   */
  private gatherOne(s: number): void {
    const { data, xb, yb, ym, wb, inSize, ts } = this;
    const { x, y } = data;
    for (let c = 0, o = s * inSize; c < inSize; c++, o++) xb[c] = x[o]!;
    for (let c = 0, o = s * ts; c < ts; c++, o++) yb[c] = y[o]!;
    if ((ym as Floats) !== yb) for (let c = 0, o = s * ts; c < ts; c++, o++) ym[c] = y[o]!;
    if (wb) wb[0] = this.weights![s]!;
  }

  /**
   * A batch through the model's layers: zeroed gradients, forward, its check, loss and backward.
   * @param yv the targets the loss reads; @param ym the targets as sent (float64).
   */
  private step(epoch: number, batch: number, b: number, xv: Floats, yv: Floats, ym: Float64Array): boolean {
    const { model, wb } = this;
    model.zeroGrads();
    const out = model.forward(xv, b);
    if (!this.watch.checkOutputs(epoch, batch, b)) return false;
    const batchLoss = wb ? model.loss(yv, b, true, 1 / b, head(wb, b)) : model.loss(yv, b, true, 1 / b);
    return this.finish(epoch, batch, b, out, batchLoss, ym, model.outMask);
  }

  /**
   * After the backward pass: the loss's check, the optimiser step and its checks, then the epoch's sums.
   * @param mask the time-step mask at the output (`Model.outMask`), or null.
   */
  private finish(
    epoch: number,
    batch: number,
    b: number,
    out: Floats,
    batchLoss: number,
    ym: Float64Array,
    mask: Floats | null,
  ): boolean {
    const { model, watch, counter } = this;
    if (!watch.checkLoss(epoch, batch, this.total, batchLoss, b)) return false;
    if (!watch.step(this.optimizer, epoch, batch)) return false;
    model.regularization?.applyConstraints();
    this.telemetry?.recordBatch(b);
    this.total += batchLoss;
    this.penalty += model.regularization?.last ?? 0;
    counter?.(out, ym, b, mask, this.accuracy);
    this.metrics?.add(out, ym, b, mask);
    return true;
  }
}

/** The first `n` values of `a`: `a` itself when that is all of it (no view to allocate). */
function head(a: Floats, n: number): Floats {
  return a.length === n ? a : a.subarray(0, n);
}

/** Whether `order[start … start + b)` are consecutive sample indices. */
function consecutive(order: Uint32Array, start: number, b: number): boolean {
  const first = order[start]!;
  for (let r = 1; r < b; r++) if (order[start + r] !== first + r) return false;
  return true;
}
