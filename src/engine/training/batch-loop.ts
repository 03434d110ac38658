import { targetSize } from "../data.js";
import { TRAINING_STEP } from "../layers/layer.js";
import { countCorrect } from "../losses.js";
import type { MetricAccumulator } from "../metrics/accumulator.js";
import type { Model } from "../model.js";
import { nativeKernels } from "../native.js";
import type { Optimizer } from "../optimizers.js";
import type { TelemetryRecorder } from "../telemetry.js";
import { type Floats, floats } from "../tensor.js";
import type { Dataset } from "../types.js";
import type { DivergenceWatch } from "./divergence.js";

/** What one epoch's batches add up to. */
export interface EpochSums {
  /** The summed (not mean) training loss over the epoch's samples. */
  total: number;
  /** Correct predictions over the epoch's samples (0 for `meanSquaredError`). */
  correct: number;
  /** Batches run; after a divergence, the index of the batch that diverged. */
  batches: number;
  /** The summed regularisation penalty (part of `total`; docs/backprop.md §16.2). */
  penalty: number;
}

/**
 * The mini-batch loop of one epoch (docs/backprop.md §2): per batch of `batchSize` samples in
 * `order` (the last one smaller), forward, loss, back-propagation of the mean batch loss and one
 * optimiser step, each checked by `watch`, then the kernel constraints; stops at the first divergence. The batches run in training mode
 * (`TRAINING_STEP`); a batch of consecutive samples (an unshuffled run) is read from the data in
 * place, any other is gathered row by row into buffers allocated once per run. With loss weights the batch's
 * weights are copied in `order` with its samples (docs/backprop.md §20.1); with metrics every
 * batch's outputs are added to them.
 */
export class BatchLoop {
  private readonly xb: Floats;
  private readonly yb: Floats;
  private readonly inSize: number;
  private readonly ts: number;
  private readonly wb: Floats | undefined;

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
    this.wb = weights ? new Float64Array(batchSize) : undefined;
  }

  /** Runs epoch `epoch` over the first `order.length` samples in `order`. */
  run(epoch: number, order: Uint32Array): EpochSums {
    const { model, data, optimizer, watch, telemetry, batchSize, xb, yb, inSize, ts, weights, wb, metrics } =
      this;
    const nTrain = order.length;
    let total = 0;
    let correct = 0;
    let penalty = 0;
    let batch = 0;
    model.setMode(TRAINING_STEP);
    for (let start = 0; start < nTrain; start += batchSize, batch++) {
      const b = Math.min(batchSize, nTrain - start);
      const first = order[start]!;
      // Samples in order (an unshuffled run) are read where they are; others are gathered.
      const inPlace = consecutive(order, start, b);
      if (!inPlace) {
        // Natively in one call per array where the kernels are loaded: a float32 run's rounding
        // copy through `set`, one value at a time, cost about a tenth of the bench CNN's float32
        // step (docs/performance.md, "float32 ahead of float64").
        const native = nativeKernels();
        if (native?.gatherRows) {
          native.gatherRows(data.x, order, start, b, inSize, xb);
          native.gatherRows(data.y, order, start, b, ts, yb);
        } else
          for (let r = 0; r < b; r++) {
            const s = order[start + r]!;
            xb.set(data.x.subarray(s * inSize, (s + 1) * inSize), r * inSize);
            yb.set(data.y.subarray(s * ts, (s + 1) * ts), r * ts);
          }
        if (wb) for (let r = 0; r < b; r++) wb[r] = weights![order[start + r]!]!;
      } else if (wb) wb.set(weights!.subarray(first, first + b));
      const xv = inPlace
        ? data.x.subarray(first * inSize, (first + b) * inSize)
        : b === batchSize
          ? xb
          : xb.subarray(0, b * inSize);
      const yv = inPlace
        ? data.y.subarray(first * ts, (first + b) * ts)
        : b === batchSize
          ? yb
          : yb.subarray(0, b * ts);
      model.zeroGrads();
      const out = model.forward(xv, b);
      if (!watch.checkOutputs(epoch, batch, b)) break;
      const batchLoss = wb
        ? model.loss(yv, b, true, 1 / b, b === batchSize ? wb : wb.subarray(0, b))
        : model.loss(yv, b, true, 1 / b);
      if (!watch.checkLoss(epoch, batch, total, batchLoss, b)) break;
      if (!watch.step(optimizer, epoch, batch)) break;
      model.regularization?.applyConstraints();
      telemetry?.recordBatch(b);
      total += batchLoss;
      penalty += model.regularization?.last ?? 0;
      correct += countCorrect(model.spec.loss, out, yv, b, model.outputSize) ?? 0;
      metrics?.add(out, yv, b);
    }
    return { total, correct, batches: batch, penalty };
  }
}

/** Whether `order[start … start + b)` are consecutive sample indices. */
function consecutive(order: Uint32Array, start: number, b: number): boolean {
  const first = order[start]!;
  for (let r = 1; r < b; r++) if (order[start + r] !== first + r) return false;
  return true;
}
