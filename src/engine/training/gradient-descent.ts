import type { EarlyStopping } from "../early-stopping.js";
import { evaluate } from "../evaluate.js";
import { dropoutStreams } from "../layers/dropout-streams.js";
import { isClassifier } from "../losses.js";
import { droppedMaskWarnings } from "../mask-flow.js";
import { MetricAccumulator } from "../metrics/accumulator.js";
import { asValidation, type MetricName, type MetricSeries } from "../metrics/names.js";
import type { Model } from "../model.js";
import { makeOptimizer } from "../optimizers.js";
import type { GradientOptimizerSpec } from "../spec.js";
import { TelemetryRecorder } from "../telemetry.js";
import type { Floats } from "../tensor.js";
import type { TrainOptions, TrainResult } from "../types.js";
import { BatchLoop } from "./batch-loop.js";
import { EarlyStop } from "./best-weights.js";
import { DivergenceWatch } from "./divergence.js";
import { EpochLog } from "./epoch-log.js";
import { distanceTo, optimumFor } from "./optimum.js";
import { finalState, provenance } from "./result.js";
import { RunState } from "./run-state.js";

/** What `train` learnt while checking a gradient-descent run (see `trainByGradient`). */
export interface GradientRun {
  /** Training samples: the first `nTrain`; validation: the last `nVal`. */
  nTrain: number;
  nVal: number;
  early: EarlyStopping | undefined;
  /** Whether the model is linear regression (so it has an optimum to measure against). */
  linear: boolean;
  /** `[n]` every sample's loss weight (`lossWeights`), or undefined for an unweighted run. */
  weights: Floats | undefined;
  /** `TrainOptions.metrics`, checked. */
  metrics: MetricName[];
}

/** Keras' default mini-batch size. */
export const DEFAULT_BATCH_SIZE = 32;

/**
 * The gradient-descent half of `train` (`sgd`, `adam`; docs/backprop.md §2, §11), on a model that
 * is built, checked and initialised, in named steps:
 * 1. the optimum: the least-squares weights when the model is linear regression (`optimumFor`);
 * 2. the run state: optimiser, shuffling, and a continued run's state (`RunState`);
 * 3. per epoch: shuffle, the batch loop (`BatchLoop`, checked by `DivergenceWatch`), the
 *    validation loss, telemetry (`TelemetryRecorder`), the distance to the optimum (`distanceTo`),
 *    the epoch's logs (`EpochLog`), `onEpochEnd`, early stopping (`EarlyStop`);
 * 4. the result: best weights restored, final metrics and gradients (`finalState`), provenance.
 * With loss weights every batch is weighted (docs/backprop.md §20.1); with metrics each epoch
 * reports them from its training batches and, at its end, from the validation split (§20.3).
 * @throws EngineError at `["optimizerState", …]` for a state that does not fit this run.
 */
export function trainByGradient(
  model: Model,
  opts: TrainOptions,
  spec: GradientOptimizerSpec,
  run: GradientRun,
): TrainResult {
  const { data } = opts;
  const { nTrain, nVal, early, weights, metrics } = run;
  // The optimum is the unweighted least-squares one: not what a weighted run approaches.
  const optimum = optimumFor(model, data, nTrain, run.linear && !weights);
  const batchSize = Math.max(1, Math.min(opts.batchSize ?? DEFAULT_BATCH_SIZE, nTrain));
  const params = model.params();
  const optimizer = makeOptimizer(spec, params);
  const state = new RunState(opts.seed, nTrain, dropoutStreams(model.layers));
  if (opts.optimizerState) state.resume(opts.optimizerState, spec, params, optimizer);
  const { initialEpoch } = state;
  const extra = metrics.filter((m) => m !== "accuracy");
  const trainMetrics =
    extra.length > 0 ? new MetricAccumulator(model.spec.loss, model.outputShape, extra, nTrain) : undefined;
  const valMetrics =
    extra.length > 0 && nVal > 0
      ? new MetricAccumulator(model.spec.loss, model.outputShape, extra, nVal)
      : undefined;

  const telemetry = opts.telemetry
    ? new TelemetryRecorder(model, params, Math.ceil(nTrain / batchSize))
    : undefined;
  const watch = new DivergenceWatch(model, params, spec);
  const loop = new BatchLoop(model, data, optimizer, watch, telemetry, batchSize, weights, trainMetrics);
  const stopper = early
    ? new EarlyStop(early, model.weights(), opts.returnOptimizerState === true)
    : undefined;
  const log = new EpochLog(
    isClassifier(model.spec.loss),
    optimum !== undefined,
    nVal > 0,
    model.regularization?.penalized === true,
  );
  let stoppedEarly = false;
  let epochsRun = 0;

  for (let e = 0; e < opts.epochs && !watch.diverged && !stoppedEarly; e++) {
    const epoch = initialEpoch + e;
    if (opts.shuffle ?? true) state.shuffle();
    telemetry?.startEpoch();
    trainMetrics?.reset();
    const sums = loop.run(epoch, state.order);
    if (watch.diverged) break;

    let val: { valLoss?: number; valAccuracy?: number } = {};
    const values: MetricSeries<number> = { ...trainMetrics?.values() };
    if (nVal > 0) {
      valMetrics?.reset();
      const v = evaluate(model, data.x, data.y, nTrain, nVal, false, weights, valMetrics);
      if (!watch.checkValLoss(epoch, sums.batches - 1, v.loss)) break;
      val = { valLoss: v.loss, ...(v.accuracy !== null ? { valAccuracy: v.accuracy } : {}) };
      if (valMetrics) Object.assign(values, asValidation(valMetrics.values()));
    }
    telemetry?.endEpoch();
    epochsRun = e + 1;
    const distance = optimum ? distanceTo(params, optimum) : undefined;
    const logs = log.record(epoch, sums.total, sums.accuracy, nTrain, distance, val, sums.penalty, values);
    if (opts.onEpochEnd?.(logs) === false) stoppedEarly = true;
    if (stopper?.update(epoch, logs.loss, val.valLoss, () => state.snapshot(optimizer, epoch + 1)))
      stoppedEarly = true;
  }

  const { diverged } = watch;
  let optimizerState =
    opts.returnOptimizerState && !diverged ? state.snapshot(optimizer, initialEpoch + epochsRun) : undefined;
  if (stopper) optimizerState = stopper.restore(optimizerState);
  const final = finalState(model, data, nTrain, nVal, weights, metrics, opts.finalGradients !== false);
  const warnings = droppedMaskWarnings(model);
  return {
    ...final,
    history: log.history,
    epochsRun,
    initialEpoch,
    ...(diverged ? { diverged } : {}),
    ...(stoppedEarly ? { stoppedEarly } : {}),
    ...(early?.stoppedEpoch !== undefined ? { stoppedEpoch: early.stoppedEpoch } : {}),
    ...(early?.bestEpoch !== undefined ? { bestEpoch: early.bestEpoch } : {}),
    ...(telemetry ? { telemetry: telemetry.telemetry } : {}),
    ...(optimizerState ? { optimizerState } : {}),
    ...(optimum ? { optimum } : {}),
    ...(warnings.length > 0 ? { warnings } : {}),
    ...provenance(model, opts.seed, final.weights),
  };
}
