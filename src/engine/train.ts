import { checkData, targetSize } from "./data.js";
import { EngineError } from "./errors.js";
import { evaluate } from "./evaluate.js";
import { buildModel } from "./inspect.js";
import { leastSquaresWeights, linearModelMismatch } from "./least-squares.js";
import { countCorrect } from "./losses.js";
import type { Model } from "./model.js";
import { makeOptimizer } from "./optimizers.js";
import { Rng } from "./rng.js";
import type { NamedTensors } from "./tensor.js";
import type { Dataset, Divergence, History, TrainOptions, TrainResult } from "./types.js";

/** Keras' default mini-batch size. */
export const DEFAULT_BATCH_SIZE = 32;

/** Shuffling draws from its own stream so it is the same with or without `initialWeights`. */
const SHUFFLE_STREAM = 0x5f3759df;

/**
 * Largest `samples × columns²` (columns = inputs + 1) for which a gradient-descent run on a linear
 * regression model also solves it in closed form for `optimum`: about half a second with ml-matrix.
 */
export const OPTIMUM_BUDGET = 5e7;

/**
 * Trains a model with mini-batch gradient descent (seed §1, §5): per batch, forward, loss,
 * back-propagation of the mean batch loss, one optimiser step.
 *
 * - Validation (Keras): the last `floor(n · validationSplit)` samples are held out before shuffling.
 * - `history.loss[e]` is the mean training loss over epoch e (batch losses weighted by size).
 * - A non-finite batch loss stops the run: `diverged` names the epoch and batch, and the
 *   weights returned are the last finite ones (those at the start of the latest epoch whose
 *   weights were all finite, or the current ones when still finite).
 * - Deterministic: the same options give bit-identical results.
 * - `optimizer: { type: "normalEquation" }` solves linear regression in closed form instead
 *   (`trainClosedForm`); for the same kind of model trained by `sgd` or `adam`, the result also
 *   carries that solution as `optimum` and `history.distanceToOptimum` (seed §1: closed form
 *   against gradient descent).
 *
 * @throws EngineError for a model, weights or data that do not fit (paths `["model", …]`,
 *   `["initialWeights", key]`, `["x"]`, `["y", i]`, `["validationSplit"]`), and for
 *   `normalEquation` with a model that is not linear regression (`["model", "layers", …]`,
 *   `["model", "loss"]`).
 */
export function train(opts: TrainOptions): TrainResult {
  const model = buildModel(opts.model);
  const notLinear = linearModelMismatch(opts.model);
  if (opts.optimizer.type === "normalEquation" && notLinear)
    throw new EngineError(notLinear.message, notLinear.path);
  const { data } = opts;
  checkData(model, data);
  if (opts.initialWeights) model.setWeights(opts.initialWeights, "initialWeights");
  else model.initialise(opts.seed);

  const split = opts.validationSplit ?? 0;
  const nTrain = Math.floor(data.n * (1 - split));
  const nVal = data.n - nTrain;
  if (nTrain < 1)
    throw new EngineError(`validationSplit ${split} leaves no training samples out of ${data.n}`, [
      "validationSplit",
    ]);
  if (opts.optimizer.type === "normalEquation") return trainClosedForm(model, opts, nTrain, nVal);

  const columns = model.inputSize + 1;
  const optimum =
    !notLinear && nTrain * columns * columns <= OPTIMUM_BUDGET
      ? leastSquaresWeights(model, data.x, data.y, nTrain).weights
      : undefined;
  const batchSize = Math.max(1, Math.min(opts.batchSize ?? DEFAULT_BATCH_SIZE, nTrain));
  const inSize = model.inputSize;
  const ts = targetSize(model);
  const params = model.params();
  const optimizer = makeOptimizer(opts.optimizer);
  const rng = new Rng((opts.seed ^ SHUFFLE_STREAM) >>> 0);
  const order = new Uint32Array(nTrain);
  for (let i = 0; i < nTrain; i++) order[i] = i;
  const xb = new Float64Array(batchSize * inSize);
  const yb = new Float64Array(batchSize * ts);

  const history: History = { loss: [] };
  const classification = model.spec.loss !== "meanSquaredError";
  if (classification) history.accuracy = [];
  if (optimum) history.distanceToOptimum = [];
  if (nVal > 0) {
    history.valLoss = [];
    if (classification) history.valAccuracy = [];
  }
  let finiteSnapshot = model.getWeights();
  let diverged: Divergence | undefined;
  let stoppedEarly = false;
  let epochsRun = 0;

  for (let epoch = 0; epoch < opts.epochs && !diverged && !stoppedEarly; epoch++) {
    if (epoch > 0 && allFinite(params)) finiteSnapshot = model.getWeights();
    if (opts.shuffle ?? true) rng.shuffle(order);
    let total = 0;
    let correct = 0;
    for (let start = 0, batch = 0; start < nTrain; start += batchSize, batch++) {
      const b = Math.min(batchSize, nTrain - start);
      for (let r = 0; r < b; r++) {
        const s = order[start + r]!;
        xb.set(data.x.subarray(s * inSize, (s + 1) * inSize), r * inSize);
        yb.set(data.y.subarray(s * ts, (s + 1) * ts), r * ts);
      }
      const xv = b === batchSize ? xb : xb.subarray(0, b * inSize);
      const yv = b === batchSize ? yb : yb.subarray(0, b * ts);
      model.zeroGrads();
      const out = model.forward(xv, b);
      const batchLoss = model.loss(yv, b, true, 1 / b);
      if (!Number.isFinite(batchLoss)) {
        diverged = {
          epoch,
          batch,
          message: `training diverged at epoch ${epoch + 1} (batch ${batch + 1}): the loss became ${batchLoss}; lower the learning rate or scale the inputs`,
        };
        break;
      }
      total += batchLoss;
      correct += countCorrect(model.spec.loss, out, yv, b, model.outputSize) ?? 0;
      optimizer.step(params);
    }
    if (diverged) break;
    epochsRun = epoch + 1;
    const distance = optimum ? distanceTo(params, optimum) : undefined;
    const logs = {
      epoch,
      loss: total / nTrain,
      ...(classification ? { accuracy: correct / nTrain } : {}),
      ...(distance !== undefined ? { distanceToOptimum: distance } : {}),
    };
    history.loss.push(logs.loss);
    if (classification) history.accuracy!.push(correct / nTrain);
    if (distance !== undefined) history.distanceToOptimum!.push(distance);
    let val: { valLoss?: number; valAccuracy?: number } = {};
    if (nVal > 0) {
      const v = evaluate(model, data.x, data.y, nTrain, nVal);
      history.valLoss!.push(v.loss);
      if (v.accuracy !== null) history.valAccuracy!.push(v.accuracy);
      val = { valLoss: v.loss, ...(v.accuracy !== null ? { valAccuracy: v.accuracy } : {}) };
    }
    if (opts.onEpochEnd?.({ ...logs, ...val }) === false) stoppedEarly = true;
  }

  if (!allFinite(params)) model.setWeights(finiteSnapshot);
  return {
    ...finalState(model, data, nTrain, nVal),
    history,
    epochsRun,
    ...(diverged ? { diverged } : {}),
    ...(stoppedEarly ? { stoppedEarly } : {}),
    ...(optimum ? { optimum } : {}),
  };
}

/**
 * `normalEquation`: the least-squares weights of a linear regression model on the training
 * samples, in one step (seed §1). Reported as one epoch: `epochsRun: 1`, `history.loss` =
 * [training MSE at the solution], `onEpochEnd` called once (its answer changes nothing).
 * `initialWeights` are checked but play no part; neither do `seed`, `batchSize` or `shuffle`.
 * `gradients` are those at the solution: zero up to rounding.
 */
function trainClosedForm(model: Model, opts: TrainOptions, nTrain: number, nVal: number): TrainResult {
  const { weights, fit } = leastSquaresWeights(model, opts.data.x, opts.data.y, nTrain);
  for (const w of Object.values(weights))
    if (!w.data.every(Number.isFinite))
      throw new EngineError("the least-squares solution overflows: the values in x or y are too large", [
        "x",
      ]);
  model.setWeights(weights);
  const final = finalState(model, opts.data, nTrain, nVal);
  const history: History = { loss: [final.metrics.loss] };
  if (nVal > 0) history.valLoss = [final.metrics.valLoss!];
  opts.onEpochEnd?.({
    epoch: 0,
    loss: final.metrics.loss,
    ...(nVal > 0 ? { valLoss: final.metrics.valLoss! } : {}),
  });
  return {
    ...final,
    history,
    epochsRun: 1,
    solution: { method: fit.method, rank: fit.rank, mse: fit.mse, r2: fit.r2 },
  };
}

/** The current weights, the mean-loss gradient over the training samples there, and the metrics. */
function finalState(
  model: Model,
  data: Dataset,
  nTrain: number,
  nVal: number,
): Pick<TrainResult, "weights" | "gradients" | "metrics"> {
  const weights = model.getWeights();
  model.zeroGrads();
  const fit = evaluate(model, data.x, data.y, 0, nTrain, true);
  const gradients: NamedTensors = model.getGrads();
  const metrics: TrainResult["metrics"] = { loss: fit.loss };
  if (fit.accuracy !== null) metrics.accuracy = fit.accuracy;
  if (nVal > 0) {
    const v = evaluate(model, data.x, data.y, nTrain, nVal);
    metrics.valLoss = v.loss;
    if (v.accuracy !== null) metrics.valAccuracy = v.accuracy;
  }
  return { weights, gradients, metrics };
}

/** ‖W − W*‖: the Frobenius norm of the difference over every parameter (kernel and bias together). */
function distanceTo(params: ReturnType<Model["params"]>, target: NamedTensors): number {
  let sum = 0;
  for (const p of params) {
    const t = target[p.key]!.data;
    for (let i = 0; i < p.value.length; i++) sum += (p.value[i]! - t[i]!) ** 2;
  }
  return Math.sqrt(sum);
}

function allFinite(params: ReturnType<Model["params"]>): boolean {
  for (const p of params)
    for (let i = 0; i < p.value.length; i++) if (!Number.isFinite(p.value[i]!)) return false;
  return true;
}
