import { EarlyStopping } from "./early-stopping.js";
import { EngineError } from "./errors.js";
import { buildModel, initialiseModel } from "./inspect.js";
import { withRecycledBuffers } from "./layers/buffer-pool.js";
import { seedDropoutStreams } from "./layers/dropout-streams.js";
import { leastSquaresOverflowReason, leastSquaresShape, leastSquaresWeights } from "./least-squares.js";
import { checkMetrics, type MetricName } from "./metrics/names.js";
import type { Model } from "./model.js";
import { lossWeights } from "./sample-weights.js";
import { checkTrainOptions } from "./train-check.js";
import { type GradientRun, trainByGradient } from "./training/gradient-descent.js";
import { finalState, provenance } from "./training/result.js";
import type { History, TrainOptions, TrainResult } from "./types.js";

export { DEFAULT_BATCH_SIZE } from "./training/gradient-descent.js";
export { OPTIMUM_BUDGET } from "./training/optimum.js";

/**
 * Trains a model with mini-batch gradient descent (docs/backprop.md §2, §4): per batch, forward,
 * loss, back-propagation of the mean batch loss, one optimiser step.
 *
 * - Validation (Keras): the last `n − floor(n · (1 − validationSplit))` samples are held
 *   out before shuffling.
 * - `history.loss[e]` is the mean training loss over epoch e (batch losses weighted by size).
 * - NaN forensics: every batch checks its layer outputs, loss, gradients and the weights after the
 *   step, and every epoch its validation loss; the first non-finite value stops the run and
 *   `diverged` names the epoch, batch, stage, layer and parameter (see `Divergence`). The weights
 *   returned are always finite: the optimiser copies each weight into a buffer allocated once as it
 *   updates it, so a step that makes a weight non-finite is undone (cost: about 2 % of an
 *   iris-sized run; the checks are fused into passes over the values that happen anyway where they can).
 * - Deterministic: the same options give bit-identical results; `weightsSha256` proves it.
 * - A model of dense and activation layers runs its batches through fused passes (`DenseNet`,
 *   docs/performance.md "Tiny networks"): the same operations, so the same bits and forensics.
 * - `dtype`: float64 (default) or float32, every array of the run in that type (docs/precision.md);
 *   `engineVersion` ends in `+float32` for a float32 run.
 * - Opt-in diagnostics: `telemetry`, `earlyStopping`, `returnOptimizerState` / `optimizerState`
 *   (continue a run exactly), learning-rate schedules (`OptimizerSpec.learningRate`).
 * - Keras' fit arguments: `sampleWeight` and `classWeight` weight each sample's loss
 *   (docs/backprop.md §20.1), `metrics` adds per-epoch series; classifiers get a `confusionMatrix`.
 * - `optimizer: { type: "normalEquation" }` solves linear regression in closed form instead
 *   (`trainClosedForm`); for the same kind of model trained by `sgd` or `adam`, the result also
 *   carries that solution as `optimum` and `history.distanceToOptimum` (docs/backprop.md §9: closed
 *   form against gradient descent).
 *
 * @throws EngineError, before any training, for what `checkTrainOptions` rejects: a model, weights or data that do not fit (paths `["model", …]`,
 *   `["initialWeights", key]`, `["x"]`, `["y", i]`, `["validationSplit"]`), for
 *   `normalEquation` with a model that is not linear regression (`["model", "layers", …]`,
 *   `["model", "loss"]`), a bad learning rate or schedule (`["optimizer", "learningRate", …]`),
 *   bad early stopping (`["earlyStopping", field]`), an optimiser state that does not fit
 *   (`["optimizerState", …]`), bad loss weights (`["sampleWeight", …]`, `["classWeight", …]`) and a
 *   metric that does not apply (`["metrics", i]`).
 */
export function train(opts: TrainOptions): TrainResult {
  // The model dies with the call and every array the result carries is a copy: its layers'
  // buffers go back to the pool for the next call (docs/performance.md, "train()").
  return withRecycledBuffers(() => {
    const { model, nTrain, nVal, early, linear, weights, metrics } = prepareRun(opts);
    if (opts.optimizer.type === "normalEquation") return trainClosedForm(model, opts, nTrain, nVal, metrics);
    return trainByGradient(model, opts, opts.optimizer, { nTrain, nVal, early, linear, weights, metrics });
  });
}

/** A run's checked options (`GradientRun`: the split, early stopping, weights, metrics) and its model, initialised. */
interface PreparedRun extends GradientRun {
  model: Model;
}

/**
 * Checks the options (`checkTrainOptions`, in the order their errors are reported), then builds
 * the model and initialises it: the initial weights, or weights drawn from the seed; the dropout
 * layers' streams always from the seed.
 * @throws EngineError as `train` documents.
 */
function prepareRun(opts: TrainOptions): PreparedRun {
  const model = buildModel(opts.model, opts.dtype);
  const { nTrain, nVal, linear } = checkTrainOptions(opts, model.summary());
  const metrics = checkMetrics(opts.metrics, opts.model.loss);
  if (opts.initialWeights) model.setWeights(opts.initialWeights, "initialWeights");
  else initialiseModel(model, opts.seed);
  // Dropout's streams come from the seed whether or not the weights do (docs/backprop.md §18.3).
  seedDropoutStreams(model.layers, opts.seed);
  const early = opts.earlyStopping ? new EarlyStopping(opts.earlyStopping, nVal > 0) : undefined;
  const weights = lossWeights(
    {
      data: opts.data,
      loss: opts.model.loss,
      k: model.outputSize,
      sampleWeight: opts.sampleWeight,
      classWeight: opts.classWeight,
      closedForm: false,
    },
    nTrain,
  );
  return { model, nTrain, nVal, early, linear, weights, metrics };
}

/**
 * `normalEquation`: the least-squares weights of a linear regression model on the training
 * samples, in one step (docs/backprop.md §9). Reported as one epoch: `epochsRun: 1`, `history.loss` =
 * [training MSE at the solution], `onEpochEnd` called once (its answer changes nothing).
 * `initialWeights` are checked but play no part; neither do `seed`, `batchSize`, `shuffle`,
 * `telemetry`, `earlyStopping` or `returnOptimizerState`. The `metrics` asked for are those at the
 * solution, in `history` as its one epoch too.
 * `gradients` are those at the solution: zero up to rounding.
 */
function trainClosedForm(
  model: Model,
  opts: TrainOptions,
  nTrain: number,
  nVal: number,
  metrics: MetricName[],
): TrainResult {
  const { weights, fit } = leastSquaresWeights(model, opts.data.x, opts.data.y, nTrain);
  for (const w of Object.values(weights))
    if (!w.data.every(Number.isFinite)) {
      const { rows, p, k } = leastSquaresShape(model, nTrain);
      throw new EngineError(
        `the least-squares solution overflows: ${leastSquaresOverflowReason(opts.data.x, opts.data.y, rows, p, k)}`,
        ["x"],
      );
    }
  model.setWeights(weights);
  const final = finalState(model, opts.data, nTrain, nVal, undefined, metrics);
  if (final.nonFinite)
    throw new EngineError("the least-squares fit overflows: the values in x or y are too large", ["x"]);
  const history: History = { loss: [final.metrics.loss!] };
  if (nVal > 0) history.valLoss = [final.metrics.valLoss!];
  // The metrics asked for, at the solution: its one epoch's values.
  const { loss, accuracy, valLoss, valAccuracy, ...extra } = final.metrics;
  for (const [key, v] of Object.entries(extra) as [keyof typeof extra, number][]) history[key] = [v];
  opts.onEpochEnd?.({
    epoch: 0,
    loss: final.metrics.loss!,
    ...(nVal > 0 ? { valLoss: final.metrics.valLoss! } : {}),
    ...extra,
  });
  return {
    ...final,
    history,
    epochsRun: 1,
    initialEpoch: 0,
    solution: { method: fit.method, rank: fit.rank, mse: fit.mse, r2: fit.r2 },
    ...provenance(model, opts.seed, final.weights),
  };
}
