import { checkSamples } from "./data.js";
import { EarlyStopping } from "./early-stopping.js";
import { EngineError } from "./errors.js";
import { linearModelMismatch } from "./least-squares.js";
import { checkMetrics } from "./metrics/names.js";
import type { ModelSummary } from "./model.js";
import { checkNamedTensors } from "./named-tensors.js";
import { checkOptimizerSpec, checkOptimizerState } from "./optimizers.js";
import { Rng } from "./rng.js";
import { checkLossWeights } from "./sample-weights.js";
import type { OptimizerState, TrainOptions } from "./types.js";

/** What `checkTrainOptions` learnt about a run while checking it. */
export interface CheckedTraining {
  /** Samples trained on: the first `n − nVal` (validation is taken from the end, before shuffling). */
  nTrain: number;
  /** Samples held out by `validationSplit` (0 without one). */
  nVal: number;
  /** The model is linear regression (one dense layer, linear, meanSquaredError): the normal equation applies. */
  linear: boolean;
}

/**
 * Every check `train` makes of its options before it runs, without building the model's layers:
 * the model's description (`describeModel`) is all it needs. In order (the first fault is the one
 * reported): `normalEquation` on a model that is not linear regression; the data against the
 * model's sizes and loss; `initialWeights` keyed and shaped as the weights, finite; a
 * `validationSplit` that leaves training samples; `earlyStopping` (its monitor needs validation
 * data for `valLoss`); an `optimizerState` only with `initialWeights` and a gradient optimiser;
 * the learning rate or schedule; the optimiser state against the optimiser, the weights and the
 * training samples; `sampleWeight` and `classWeight` (`checkLossWeights`); `metrics` (`checkMetrics`). The service calls it when a request arrives (POST /train and POST /jobs
 * alike) and `train` calls it again, so both reject the same options the same way.
 *
 * @param summary the model's description (`describeModel(opts.model)`).
 * @param options.samplesChecked the caller has already run `checkSamples` on `opts.data` (the
 *   service does, before it converts the other fields), so it is not run again.
 * @throws EngineError at the option's path (`["model", …]`, `["x"]`, `["y", i]`,
 *   `["initialWeights", key]`, `["validationSplit"]`, `["earlyStopping", field]`,
 *   `["optimizer", "learningRate", …]`, `["optimizerState", …]`, `["sampleWeight", …]`,
 *   `["classWeight", …]`, `["metrics", i]`).
 */
export function checkTrainOptions(
  opts: Omit<TrainOptions, "onEpochEnd">,
  summary: Pick<ModelSummary, "inputSize" | "outputSize" | "outputShape" | "layers" | "dropoutStreams">,
  options: { samplesChecked?: boolean } = {},
): CheckedTraining {
  const notLinear = linearModelMismatch(opts.model);
  if (opts.optimizer.type === "normalEquation" && notLinear)
    throw new EngineError(notLinear.message, notLinear.path);
  const { data } = opts;
  if (!options.samplesChecked) checkSamples(summary, opts.model.loss, data);
  const params = summary.layers.flatMap((l) => l.params);
  if (opts.initialWeights)
    checkNamedTensors(
      summary.layers.flatMap((l) => [...l.params, ...(l.state ?? [])]),
      opts.initialWeights,
      ["initialWeights"],
      "weight",
    );

  const split = opts.validationSplit ?? 0;
  const nTrain = Math.floor(data.n * (1 - split));
  const nVal = data.n - nTrain;
  if (nTrain < 1)
    throw new EngineError(`validationSplit ${split} leaves no training samples out of ${data.n}`, [
      "validationSplit",
    ]);
  if (opts.earlyStopping) new EarlyStopping(opts.earlyStopping, nVal > 0);
  if (opts.optimizerState !== undefined) {
    if (opts.optimizer.type === "normalEquation")
      throw new EngineError("normalEquation keeps no optimiser state to continue from", ["optimizerState"]);
    if (!opts.initialWeights)
      throw new EngineError(
        "optimizerState continues a run: send that run's weights as initialWeights with it",
        ["optimizerState"],
      );
  }
  if (opts.optimizer.type !== "normalEquation") {
    checkOptimizerSpec(opts.optimizer);
    if (opts.optimizerState) {
      checkOptimizerState(opts.optimizerState, opts.optimizer, params);
      checkShuffleState(opts.optimizerState, nTrain);
      checkDropoutState(opts.optimizerState, summary.dropoutStreams);
    }
  }
  checkLossWeights({
    data,
    loss: opts.model.loss,
    k: summary.outputSize,
    outputShape: summary.outputShape,
    sampleWeight: opts.sampleWeight,
    classWeight: opts.classWeight,
    closedForm: opts.optimizer.type === "normalEquation",
  });
  checkMetrics(opts.metrics, opts.model.loss);
  return { nTrain, nVal, linear: !notLinear };
}

/**
 * The shuffle part of a state sent back: a valid generator state, and an order that is a
 * permutation of this run's training samples.
 * @throws EngineError at `["optimizerState", "shuffleRng" | "shuffleOrder"]`.
 */
export function checkShuffleState(state: OptimizerState, nTrain: number): void {
  const rng = state.shuffleRng;
  try {
    Rng.fromState(rng);
  } catch {
    throw new EngineError("shuffleRng must be four integers in [0, 2^32), not all zero", [
      "optimizerState",
      "shuffleRng",
    ]);
  }
  const order = state.shuffleOrder;
  const path = ["optimizerState", "shuffleOrder"];
  if (!Array.isArray(order) || order.length !== nTrain)
    throw new EngineError(
      `shuffleOrder has ${Array.isArray(order) ? order.length : "no"} entries, but this run has ${nTrain} training samples; continue with the same data and validationSplit`,
      path,
    );
  const seen = new Uint8Array(nTrain);
  for (const i of order) {
    if (!Number.isInteger(i) || i < 0 || i >= nTrain || seen[i] === 1)
      throw new EngineError(`shuffleOrder must be a permutation of 0 … ${nTrain - 1}`, path);
    seen[i] = 1;
  }
}

/**
 * The dropout part of a state sent back: with dropout streams (dropout layers, recurrent layers
 * with dropout), `dropoutRng` holds a valid generator state for exactly those; without, it is
 * absent or empty.
 * @param names the model's dropout streams' names (`ModelSummary.dropoutStreams`).
 * @throws EngineError at `["optimizerState", "dropoutRng"(, name)]`.
 */
export function checkDropoutState(state: OptimizerState, names: readonly string[]): void {
  const path = ["optimizerState", "dropoutRng"];
  const given: unknown = state.dropoutRng;
  if (given === undefined && names.length === 0) return;
  if (given === null || typeof given !== "object" || Array.isArray(given))
    throw new EngineError(
      `dropoutRng must hold the generator state of each layer that draws dropout masks (${names.join(", ")}), as the run that returned this state gave it`,
      path,
    );
  const streams = given as Record<string, unknown>;
  for (const key of Object.keys(streams))
    if (!names.includes(key))
      throw new EngineError(
        `dropoutRng has a state for "${key}", which draws no dropout masks in this model`,
        [...path, key],
      );
  for (const name of names) {
    const s = streams[name];
    let valid = Array.isArray(s);
    if (valid)
      try {
        Rng.fromState(s as number[]);
      } catch {
        valid = false;
      }
    if (!valid)
      throw new EngineError(
        `dropoutRng.${name} must be four integers in [0, 2^32), not all zero${s === undefined ? " (it is missing)" : ""}`,
        [...path, name],
      );
  }
}
