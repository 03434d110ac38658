import { EngineError } from "./errors.js";
import { isClassifier, lossName } from "./losses/options.js";
import { decisionOf, targetClass, weightClassCount } from "./metrics/classes.js";
import type { LossSpec } from "./spec.js";
import type { Dataset } from "./types.js";

/** What the weighting options of a run are checked against. */
interface WeightedRun {
  data: Dataset;
  loss: LossSpec;
  /** The model's output size. */
  k: number;
  /** The model's output shape per sample (`[k]`, or `[T, C]` for a sequence). */
  outputShape?: readonly number[];
  sampleWeight?: Float64Array;
  classWeight?: Record<string, number>;
  closedForm: boolean;
}

/** A class index as a JSON key: `"0"`, `"12"` (no sign, no leading zero, no fraction). */
const CLASS_KEY = /^(0|[1-9][0-9]*)$/;

/**
 * Checks `TrainOptions.sampleWeight` and `classWeight` (docs/backprop.md §20.1).
 * @throws EngineError at `["sampleWeight"]` for a length other than the number of samples (or with
 *   `normalEquation`, which solves the unweighted problem), at `["sampleWeight", i]` for a weight that
 *   is not finite or is negative; at `["classWeight"]` on a regression loss, at `["classWeight", key]`
 *   for a key that is not a class index of the model (`[0, units)`, or 0 and 1 for one unit) or a
 *   weight that is not finite or is negative; at `["classWeight"]` when the output has more than one
 *   axis (a class per step: Keras refuses `class_weight` for such targets too).
 */
export function checkLossWeights(run: WeightedRun): void {
  const { sampleWeight: sw, classWeight: cw, data } = run;
  if (sw !== undefined) {
    if (run.closedForm)
      throw new EngineError("normalEquation solves the unweighted least-squares problem; use sgd or adam", [
        "sampleWeight",
      ]);
    if (sw.length !== data.n)
      throw new EngineError(`sampleWeight has ${sw.length} weights, expected one per sample (${data.n})`, [
        "sampleWeight",
      ]);
    for (let i = 0; i < sw.length; i++)
      if (!(sw[i]! >= 0 && sw[i]! < Number.POSITIVE_INFINITY))
        throw new EngineError(`a sample weight must be finite and ≥ 0, got ${sw[i]}`, ["sampleWeight", i]);
  }
  if (cw === undefined) return;
  const decision = decisionOf(run.loss, run.k);
  if (!decision || !isClassifier(run.loss))
    throw new EngineError(
      `classWeight needs a classifier's loss (a cross-entropy or hinge), not ${lossName(run.loss)}; weight samples with sampleWeight`,
      ["classWeight"],
    );
  if (run.outputShape && run.outputShape.length > 1)
    throw new EngineError(
      `classWeight weighs each sample by its one class, but this model's output [${run.outputShape.join(", ")}] ` +
        "has a class per step (Keras refuses class_weight for such targets too); weigh samples with sampleWeight",
      ["classWeight"],
    );
  const classes = weightClassCount(decision, run.k);
  for (const [key, w] of Object.entries(cw)) {
    if (!CLASS_KEY.test(key) || Number(key) >= classes)
      throw new EngineError(
        `classWeight key "${key}" is not a class index in [0, ${classes}) (${
          decision.mode === "binary" && run.k === 1
            ? "one output unit: classes 0 and 1"
            : `${run.k} output units`
        })`,
        ["classWeight", key],
      );
    if (!(typeof w === "number" && w >= 0 && w < Number.POSITIVE_INFINITY))
      throw new EngineError(`a class weight must be finite and ≥ 0, got ${w}`, ["classWeight", key]);
  }
}

/**
 * Every sample's loss weight (docs/backprop.md §20.1), `[n]`: for the first `nTrain` (training)
 * samples `sampleWeight[i] × classWeight[class of i]` (a class without a weight: 1; the class as
 * `targetClass` reads it), for the validation samples `sampleWeight[i]` alone (Keras 3 splits
 * `sample_weight` with `validation_split`; `class_weight` applies to training only).
 * @returns `undefined` when every weight is 1 (or none was given), so that such a run computes
 *   exactly as an unweighted one and its loop does no extra work.
 */
export function lossWeights(run: WeightedRun, nTrain: number): Float64Array | undefined {
  const { sampleWeight: sw, classWeight: cw, data, k } = run;
  if (sw === undefined && cw === undefined) return undefined;
  const w = new Float64Array(data.n);
  if (sw) w.set(sw);
  else w.fill(1);
  const decision = decisionOf(run.loss, run.k);
  if (cw && decision) {
    const byClass = new Float64Array(weightClassCount(decision, k)).fill(1);
    for (const [key, v] of Object.entries(cw)) byClass[Number(key)] = v;
    for (let i = 0; i < nTrain; i++) w[i]! *= byClass[targetClass(decision, data.y, i, k)]!;
  }
  return w.every((v) => v === 1) ? undefined : w;
}
