import { targetSize } from "./data.js";
import { EarlyStopping } from "./early-stopping.js";
import { EngineError } from "./errors.js";
import { evaluate } from "./evaluate.js";
import { ENGINE_VERSION, weightsSha256 } from "./fingerprint.js";
import { allFinite, describeNonFinite, layerOfKey, nonFiniteOutput } from "./forensics.js";
import { buildModel } from "./inspect.js";
import { Activation } from "./layers/activation.js";
import type { Param } from "./layers/layer.js";
import { leastSquaresWeights } from "./least-squares.js";
import { countCorrect } from "./losses.js";
import type { Model } from "./model.js";
import { checkOptimizerState, makeOptimizer } from "./optimizers.js";
import { Rng } from "./rng.js";
import type { GradientOptimizerSpec } from "./spec.js";
import { changeRatio, TelemetryRecorder } from "./telemetry.js";
import type { NamedTensors } from "./tensor.js";
import { checkShuffleState, checkTrainOptions } from "./train-check.js";
import type {
  Dataset,
  Divergence,
  EpochLogs,
  History,
  OptimizerState,
  TrainMetrics,
  TrainOptions,
  TrainResult,
} from "./types.js";

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
 * - NaN forensics: every batch checks its layer outputs, loss, gradients and the weights after the
 *   step, and every epoch its validation loss; the first non-finite value stops the run and
 *   `diverged` names the epoch, batch, stage, layer and parameter (see `Divergence`). The weights
 *   returned are always finite: the optimiser copies each weight into a buffer allocated once as it
 *   updates it, so a step that makes a weight non-finite is undone (cost: about 2 % of an
 *   iris-sized run; the checks are fused into passes over the values that happen anyway where they can).
 * - Deterministic: the same options give bit-identical results; `weightsSha256` proves it.
 * - Opt-in diagnostics: `telemetry`, `earlyStopping`, `returnOptimizerState` / `optimizerState`
 *   (continue a run exactly), learning-rate schedules (`OptimizerSpec.learningRate`).
 * - `optimizer: { type: "normalEquation" }` solves linear regression in closed form instead
 *   (`trainClosedForm`); for the same kind of model trained by `sgd` or `adam`, the result also
 *   carries that solution as `optimum` and `history.distanceToOptimum` (seed §1: closed form
 *   against gradient descent).
 *
 * @throws EngineError, before any training, for what `checkTrainOptions` rejects: a model, weights or data that do not fit (paths `["model", …]`,
 *   `["initialWeights", key]`, `["x"]`, `["y", i]`, `["validationSplit"]`), for
 *   `normalEquation` with a model that is not linear regression (`["model", "layers", …]`,
 *   `["model", "loss"]`), a bad learning rate or schedule (`["optimizer", "learningRate", …]`),
 *   bad early stopping (`["earlyStopping", field]`) and an optimiser state that does not fit
 *   (`["optimizerState", …]`).
 */
export function train(opts: TrainOptions): TrainResult {
  const model = buildModel(opts.model);
  const { nTrain, nVal, linear } = checkTrainOptions(opts, model.summary());
  if (opts.initialWeights) model.setWeights(opts.initialWeights, "initialWeights");
  else model.initialise(opts.seed);
  const early = opts.earlyStopping ? new EarlyStopping(opts.earlyStopping, nVal > 0) : undefined;
  if (opts.optimizer.type === "normalEquation") return trainClosedForm(model, opts, nTrain, nVal);
  return trainByGradient(model, opts, opts.optimizer, nTrain, nVal, early, linear);
}

/** The mini-batch loop of `train` for `sgd` and `adam`. */
function trainByGradient(
  model: Model,
  opts: TrainOptions,
  spec: GradientOptimizerSpec,
  nTrain: number,
  nVal: number,
  early: EarlyStopping | undefined,
  linear: boolean,
): TrainResult {
  const { data } = opts;
  const columns = model.inputSize + 1;
  const optimum =
    linear && nTrain * columns * columns <= OPTIMUM_BUDGET
      ? leastSquaresWeights(model, data.x, data.y, nTrain).weights
      : undefined;
  const batchSize = Math.max(1, Math.min(opts.batchSize ?? DEFAULT_BATCH_SIZE, nTrain));
  const inSize = model.inputSize;
  const ts = targetSize(model);
  const params = model.params();
  const optimizer = makeOptimizer(spec, params);
  let rng = new Rng((opts.seed ^ SHUFFLE_STREAM) >>> 0);
  const order = new Uint32Array(nTrain);
  for (let i = 0; i < nTrain; i++) order[i] = i;
  let initialEpoch = 0;
  if (opts.optimizerState) {
    const state = opts.optimizerState;
    checkOptimizerState(state, spec, params);
    checkShuffleState(state, nTrain);
    optimizer.loadSlots(state);
    optimizer.iterations = state.iterations;
    rng = Rng.fromState(state.shuffleRng);
    order.set(state.shuffleOrder);
    initialEpoch = state.epochsCompleted;
  }
  const stateNow = (epochsCompleted: number): OptimizerState => ({
    type: optimizer.type,
    iterations: optimizer.iterations,
    epochsCompleted,
    ...optimizer.slots(),
    shuffleRng: rng.getState(),
    shuffleOrder: Array.from(order),
  });

  const xb = new Float64Array(batchSize * inSize);
  const yb = new Float64Array(batchSize * ts);
  const telemetry = opts.telemetry
    ? new TelemetryRecorder(model, params, Math.ceil(nTrain / batchSize))
    : undefined;
  // The weights before the current step, to undo a step that makes one non-finite.
  const before = params.map((p) => new Float64Array(p.value.length));
  let best: { weights: Float64Array[]; state?: OptimizerState } | undefined;

  const history: History = { loss: [] };
  const classification = model.spec.loss !== "meanSquaredError";
  if (classification) history.accuracy = [];
  if (optimum) history.distanceToOptimum = [];
  if (nVal > 0) {
    history.valLoss = [];
    if (classification) history.valAccuracy = [];
  }
  let diverged: Divergence | undefined;
  let lastFiniteLoss: number | undefined;
  let stepsTaken = 0;
  let stoppedEarly = false;
  let epochsRun = 0;
  const fail = (
    epoch: number,
    batch: number,
    stage: Divergence["stage"],
    detail: string,
    where: { layer?: string; parameter?: string } = {},
  ) => {
    // Before a step, `before` still holds the weights from before the previous one.
    const culprit =
      stage !== "weight" && stage !== "gradient" && stepsTaken > 0
        ? largestUpdate(params, before)
        : undefined;
    diverged = {
      epoch,
      batch,
      stage,
      ...where,
      ...(culprit ? { largestUpdate: culprit } : {}),
      ...(lastFiniteLoss !== undefined ? { lastFiniteLoss } : {}),
      message: `training diverged in epoch ${epoch} (0-based; the ${ordinal(epoch + 1)}), batch ${batch}: ${detail}; lower the learning rate or scale the inputs`,
    };
  };

  for (let e = 0; e < opts.epochs && !diverged && !stoppedEarly; e++) {
    const epoch = initialEpoch + e;
    if (opts.shuffle ?? true) rng.shuffle(order);
    telemetry?.startEpoch();
    let total = 0;
    let correct = 0;
    let batch = 0;
    for (let start = 0; start < nTrain; start += batchSize, batch++) {
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
      const badLayer = nonFiniteOutput(model);
      if (badLayer >= 0) {
        const layer = model.layers[badLayer]!;
        const what = layer instanceof Activation ? `${layer.name} (${layer.activation})` : layer.name;
        fail(
          epoch,
          batch,
          "activation",
          `the output of ${what} became ${describeNonFinite(model.layerOutput(badLayer), [b, ...layer.outputShape])}`,
          { layer: model.specLayerNames[model.specIndexOf(badLayer)]! },
        );
        break;
      }
      const batchLoss = model.loss(yv, b, true, 1 / b);
      if (!Number.isFinite(total + batchLoss)) {
        const what = Number.isFinite(batchLoss)
          ? "the epoch's summed loss overflowed"
          : `the loss became ${batchLoss}`;
        fail(epoch, batch, "loss", what);
        break;
      }
      lastFiniteLoss = batchLoss / b;
      // The step checks the gradients, Adam's moments and the new weights as it goes, and keeps
      // the weights it started from in `before`.
      const fault = optimizer.step(before);
      stepsTaken++;
      if (fault) {
        const p = params[fault.param]!;
        const detail =
          fault.stage === "gradient"
            ? `the gradient of ${p.key} became ${describeNonFinite(p.grad, p.shape)}`
            : fault.stage === "moment"
              ? `the gradient of ${p.key} is too large for adam: its square overflowed the bias-corrected second moment v̂ (|g| ≳ 1.3e154)`
              : `the update made ${p.key} ${describeNonFinite(p.value, p.shape)} (the step is undone)`;
        for (let k = 0; k < params.length; k++) params[k]!.value.set(before[k]!);
        fail(epoch, batch, fault.stage === "weight" ? "weight" : "gradient", detail, owner(p));
        break;
      }
      telemetry?.recordBatch(b);
      total += batchLoss;
      correct += countCorrect(model.spec.loss, out, yv, b, model.outputSize) ?? 0;
    }
    if (diverged) break;

    let val: { valLoss?: number; valAccuracy?: number } = {};
    if (nVal > 0) {
      const v = evaluate(model, data.x, data.y, nTrain, nVal);
      if (!Number.isFinite(v.loss)) {
        fail(epoch, batch - 1, "valLoss", `the validation loss at the end of the epoch became ${v.loss}`);
        break;
      }
      val = { valLoss: v.loss, ...(v.accuracy !== null ? { valAccuracy: v.accuracy } : {}) };
    }
    telemetry?.endEpoch();
    epochsRun = e + 1;
    const distance = optimum ? distanceTo(params, optimum) : undefined;
    const logs: EpochLogs = {
      epoch,
      loss: total / nTrain,
      ...(classification ? { accuracy: correct / nTrain } : {}),
      ...(distance !== undefined ? { distanceToOptimum: distance } : {}),
      ...val,
    };
    history.loss.push(logs.loss);
    if (classification) history.accuracy!.push(logs.accuracy!);
    if (distance !== undefined) history.distanceToOptimum!.push(distance);
    if (val.valLoss !== undefined) history.valLoss!.push(val.valLoss);
    if (val.valAccuracy !== undefined) history.valAccuracy!.push(val.valAccuracy);
    if (opts.onEpochEnd?.(logs) === false) stoppedEarly = true;
    if (early) {
      const { snapshot, stop } = early.update(epoch, early.monitor === "loss" ? logs.loss : val.valLoss!);
      if (snapshot && early.restoreBestWeights) {
        best ??= { weights: params.map((p) => new Float64Array(p.value.length)) };
        for (let k = 0; k < params.length; k++) best.weights[k]!.set(params[k]!.value);
        if (opts.returnOptimizerState) best.state = stateNow(epoch + 1);
      }
      if (stop) stoppedEarly = true;
    }
  }

  let optimizerState =
    opts.returnOptimizerState && !diverged ? stateNow(initialEpoch + epochsRun) : undefined;
  if (best) {
    for (let k = 0; k < params.length; k++) params[k]!.value.set(best.weights[k]!);
    optimizerState = best.state;
  }
  return {
    ...finalState(model, data, nTrain, nVal),
    history,
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

/**
 * `normalEquation`: the least-squares weights of a linear regression model on the training
 * samples, in one step (seed §1). Reported as one epoch: `epochsRun: 1`, `history.loss` =
 * [training MSE at the solution], `onEpochEnd` called once (its answer changes nothing).
 * `initialWeights` are checked but play no part; neither do `seed`, `batchSize`, `shuffle`,
 * `telemetry`, `earlyStopping` or `returnOptimizerState`.
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
  if (final.nonFinite)
    throw new EngineError("the least-squares fit overflows: the values in x or y are too large", ["x"]);
  const history: History = { loss: [final.metrics.loss!] };
  if (nVal > 0) history.valLoss = [final.metrics.valLoss!];
  opts.onEpochEnd?.({
    epoch: 0,
    loss: final.metrics.loss!,
    ...(nVal > 0 ? { valLoss: final.metrics.valLoss! } : {}),
  });
  return {
    ...final,
    history,
    epochsRun: 1,
    initialEpoch: 0,
    solution: { method: fit.method, rank: fit.rank, mse: fit.mse, r2: fit.r2 },
    ...provenance(model, opts.seed),
  };
}

/** What identifies a result: the engine's version, the seed, and the digest of the model's current weights. */
function provenance(
  model: Model,
  seed: number,
): Pick<TrainResult, "engineVersion" | "seed" | "weightsSha256"> {
  return { engineVersion: ENGINE_VERSION, seed, weightsSha256: weightsSha256(model.getWeights()) };
}

/**
 * The current weights, the mean-loss gradient over the training samples there, and the metrics;
 * values that are not finite (only after a divergence) are left out and listed in `nonFinite`.
 */
function finalState(
  model: Model,
  data: Dataset,
  nTrain: number,
  nVal: number,
): Pick<TrainResult, "weights" | "gradients" | "metrics" | "nonFinite"> {
  const weights = model.getWeights();
  model.zeroGrads();
  const fit = evaluate(model, data.x, data.y, 0, nTrain, true);
  const gradients: NamedTensors = model.getGrads();
  const metrics: TrainMetrics = {};
  const omitted: NonNullable<TrainResult["nonFinite"]>["omitted"] = [];
  if (Number.isFinite(fit.loss)) {
    metrics.loss = fit.loss;
    if (fit.accuracy !== null) metrics.accuracy = fit.accuracy;
  } else {
    omitted.push("loss");
    if (fit.accuracy !== null) omitted.push("accuracy");
  }
  if (nVal > 0) {
    const v = evaluate(model, data.x, data.y, nTrain, nVal);
    if (Number.isFinite(v.loss)) {
      metrics.valLoss = v.loss;
      if (v.accuracy !== null) metrics.valAccuracy = v.accuracy;
    } else {
      omitted.push("valLoss");
      if (v.accuracy !== null) omitted.push("valAccuracy");
    }
  }
  const gradientsFinite = Object.values(gradients).every((g) => allFinite(g.data));
  if (!gradientsFinite) omitted.push("gradients");
  return {
    weights,
    ...(gradientsFinite ? { gradients } : {}),
    metrics,
    ...(omitted.length > 0
      ? {
          nonFinite: {
            omitted,
            message: `not finite at the returned weights, so left out: ${omitted.join(", ")}`,
          },
        }
      : {}),
  };
}

/**
 * The parameter whose latest step changed it most relative to its size (`Divergence.largestUpdate`).
 * @param before the weights before that step, in `params` order; `params` hold the ones after it.
 */
function largestUpdate(params: Param[], before: Float64Array[]): Divergence["largestUpdate"] {
  let best: { parameter: string; ratio: number | null } | undefined;
  params.forEach((p, k) => {
    const ratio = changeRatio(before[k]!, p.value);
    if (!best || (ratio !== null && (best.ratio === null || ratio > best.ratio)))
      best = { parameter: p.key, ratio };
  });
  return best;
}

/** The layer and key that name a parameter in `Divergence`. */
function owner(p: Param): { layer: string; parameter: string } {
  return { layer: layerOfKey(p.key), parameter: p.key };
}

/** ‖W − W*‖: the Frobenius norm of the difference over every parameter (kernel and bias together). */
function distanceTo(params: Param[], target: NamedTensors): number {
  // Scaled by the largest difference, so finite weights of 1e300 give a finite distance
  // instead of an overflowed sum of squares.
  let scale = 0;
  for (const p of params) {
    const t = target[p.key]!.data;
    for (let i = 0; i < p.value.length; i++) scale = Math.max(scale, Math.abs(p.value[i]! - t[i]!));
  }
  if (scale === 0 || !Number.isFinite(scale)) return scale;
  let sum = 0;
  for (const p of params) {
    const t = target[p.key]!.data;
    for (let i = 0; i < p.value.length; i++) sum += ((p.value[i]! - t[i]!) / scale) ** 2;
  }
  return scale * Math.sqrt(sum);
}

/** 1 → "1st", 2 → "2nd", 11 → "11th", 23 → "23rd". */
function ordinal(n: number): string {
  const tens = n % 100;
  const suffix = tens >= 11 && tens <= 13 ? "th" : (["th", "st", "nd", "rd"][n % 10] ?? "th");
  return `${n}${suffix}`;
}
