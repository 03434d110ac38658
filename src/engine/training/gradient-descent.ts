import type { EarlyStopping } from "../early-stopping.js";
import { evaluate } from "../evaluate.js";
import { dropoutLayers } from "../layers/dropout.js";
import { isClassifier } from "../losses.js";
import type { Model } from "../model.js";
import { makeOptimizer } from "../optimizers.js";
import type { GradientOptimizerSpec } from "../spec.js";
import { TelemetryRecorder } from "../telemetry.js";
import type { TrainOptions, TrainResult } from "../types.js";
import { BatchLoop } from "./batch-loop.js";
import { EarlyStop } from "./best-weights.js";
import { DivergenceWatch } from "./divergence.js";
import { EpochLog } from "./epoch-log.js";
import { distanceTo, optimumFor } from "./optimum.js";
import { finalState, provenance } from "./result.js";
import { RunState } from "./run-state.js";

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
 * @param linear whether the model is linear regression (so it has an optimum to measure against).
 * @throws EngineError at `["optimizerState", …]` for a state that does not fit this run.
 */
export function trainByGradient(
  model: Model,
  opts: TrainOptions,
  spec: GradientOptimizerSpec,
  nTrain: number,
  nVal: number,
  early: EarlyStopping | undefined,
  linear: boolean,
): TrainResult {
  const { data } = opts;
  const optimum = optimumFor(model, data, nTrain, linear);
  const batchSize = Math.max(1, Math.min(opts.batchSize ?? DEFAULT_BATCH_SIZE, nTrain));
  const params = model.params();
  const optimizer = makeOptimizer(spec, params);
  const run = new RunState(opts.seed, nTrain, dropoutLayers(model.layers));
  if (opts.optimizerState) run.resume(opts.optimizerState, spec, params, optimizer);
  const { initialEpoch } = run;

  const telemetry = opts.telemetry
    ? new TelemetryRecorder(model, params, Math.ceil(nTrain / batchSize))
    : undefined;
  const watch = new DivergenceWatch(model, params);
  const loop = new BatchLoop(model, data, optimizer, watch, telemetry, batchSize);
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
    if (opts.shuffle ?? true) run.shuffle();
    telemetry?.startEpoch();
    const sums = loop.run(epoch, run.order);
    if (watch.diverged) break;

    let val: { valLoss?: number; valAccuracy?: number } = {};
    if (nVal > 0) {
      const v = evaluate(model, data.x, data.y, nTrain, nVal);
      if (!watch.checkValLoss(epoch, sums.batches - 1, v.loss)) break;
      val = { valLoss: v.loss, ...(v.accuracy !== null ? { valAccuracy: v.accuracy } : {}) };
    }
    telemetry?.endEpoch();
    epochsRun = e + 1;
    const distance = optimum ? distanceTo(params, optimum) : undefined;
    const logs = log.record(epoch, sums.total, sums.correct, nTrain, distance, val, sums.penalty);
    if (opts.onEpochEnd?.(logs) === false) stoppedEarly = true;
    if (stopper?.update(epoch, logs.loss, val.valLoss, () => run.snapshot(optimizer, epoch + 1)))
      stoppedEarly = true;
  }

  const { diverged } = watch;
  let optimizerState =
    opts.returnOptimizerState && !diverged ? run.snapshot(optimizer, initialEpoch + epochsRun) : undefined;
  if (stopper) optimizerState = stopper.restore(optimizerState);
  return {
    ...finalState(model, data, nTrain, nVal),
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
    ...provenance(model, opts.seed),
  };
}
