import { checkData, targetSize } from "./data.js";
import { EngineError } from "./errors.js";
import { evaluate } from "./evaluate.js";
import { buildModel } from "./inspect.js";
import { countCorrect } from "./losses.js";
import type { Model } from "./model.js";
import { makeOptimizer } from "./optimizers.js";
import { Rng } from "./rng.js";
import type { NamedTensors } from "./tensor.js";
import type { Divergence, History, TrainOptions, TrainResult } from "./types.js";

/** Keras' default mini-batch size. */
export const DEFAULT_BATCH_SIZE = 32;

/** Shuffling draws from its own stream so it is the same with or without `initialWeights`. */
const SHUFFLE_STREAM = 0x5f3759df;

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
 *
 * @throws EngineError for a model, weights or data that do not fit (paths `["model", …]`,
 *   `["initialWeights", key]`, `["x"]`, `["y", i]`, `["validationSplit"]`).
 */
export function train(opts: TrainOptions): TrainResult {
  const model = buildModel(opts.model);
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
    const logs = { epoch, loss: total / nTrain, ...(classification ? { accuracy: correct / nTrain } : {}) };
    history.loss.push(logs.loss);
    if (classification) history.accuracy!.push(correct / nTrain);
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
  return {
    weights,
    history,
    gradients,
    metrics,
    epochsRun,
    ...(diverged ? { diverged } : {}),
    ...(stoppedEarly ? { stoppedEarly } : {}),
  };
}

function allFinite(params: ReturnType<Model["params"]>): boolean {
  for (const p of params)
    for (let i = 0; i < p.value.length; i++) if (!Number.isFinite(p.value[i]!)) return false;
  return true;
}
