import { evaluate } from "../evaluate.js";
import { engineVersionOf, weightsSha256 } from "../fingerprint.js";
import { allFinite } from "../forensics.js";
import { MetricAccumulator } from "../metrics/accumulator.js";
import { decisionOf } from "../metrics/classes.js";
import { asValidation, type MetricName, type MetricSeries } from "../metrics/names.js";
import type { Model } from "../model.js";
import type { Floats, NamedTensors } from "../tensor.js";
import type { ConfusionMatrix, Dataset, TrainMetrics, TrainResult } from "../types.js";

/**
 * What identifies a result: the engine's version with the model's dtype (`engineVersionOf`), the
 * seed, and the digest of the model's current weights (of their float32 bytes in a float32 run).
 * @param weights the model's current weights when the caller has copied them already (`finalState`'s).
 */
export function provenance(
  model: Model,
  seed: number,
  weights: NamedTensors = model.getWeights(),
): Pick<TrainResult, "engineVersion" | "seed" | "weightsSha256"> {
  return { engineVersion: engineVersionOf(model.dtype), seed, weightsSha256: weightsSha256(weights) };
}

/**
 * The current weights, the mean-loss gradient over the training samples there, and the metrics
 * (with `lossWeights`, the weighted loss and its gradient; the `metricNames` asked for, unweighted);
 * for a classifier the confusion matrices (docs/backprop.md §20.4). Values that are not finite
 * (only after a divergence) are left out and listed in `nonFinite`.
 * @param lossWeights `[n]` every sample's loss weight (`lossWeights`), or undefined for none.
 * @param withGradients false: no backward pass, no `gradients` (`TrainOptions.finalGradients`).
 */
export function finalState(
  model: Model,
  data: Dataset,
  nTrain: number,
  nVal: number,
  lossWeights?: Floats,
  metricNames: readonly MetricName[] = [],
  withGradients = true,
): Pick<TrainResult, "weights" | "gradients" | "metrics" | "nonFinite" | "confusionMatrix"> {
  const weights = model.getWeights();
  model.zeroGrads();
  const classifier = decisionOf(model.spec.loss, model.outputSize) !== undefined;
  const extra = metricNames.filter((m) => m !== "accuracy");
  const track = (count: number) =>
    classifier || extra.length > 0
      ? new MetricAccumulator(model.spec.loss, model.outputShape, extra, count)
      : undefined;
  const trainMetrics = track(nTrain);
  const fit = evaluate(model, data.x, data.y, 0, nTrain, withGradients, lossWeights, trainMetrics);
  const gradients: NamedTensors | undefined = withGradients ? model.getGrads() : undefined;
  const metrics: TrainMetrics = {};
  const omitted: NonNullable<TrainResult["nonFinite"]>["omitted"] = [];
  // A loss can overflow on finite outputs (a huge class weight, say): the accuracy and the metrics
  // are then still what the predictions score. Non-finite outputs leave them all out.
  if (Number.isFinite(fit.loss)) metrics.loss = fit.loss;
  else omitted.push("loss");
  if (fit.accuracy !== null) {
    if (fit.finiteOutputs) metrics.accuracy = fit.accuracy;
    else omitted.push("accuracy");
  }
  addMetrics(metrics, omitted, trainMetrics, false, fit.finiteOutputs);
  const valMetrics = nVal > 0 ? track(nVal) : undefined;
  if (nVal > 0) {
    const v = evaluate(model, data.x, data.y, nTrain, nVal, false, lossWeights, valMetrics);
    if (Number.isFinite(v.loss)) metrics.valLoss = v.loss;
    else omitted.push("valLoss");
    if (v.accuracy !== null) {
      if (v.finiteOutputs) metrics.valAccuracy = v.accuracy;
      else omitted.push("valAccuracy");
    }
    addMetrics(metrics, omitted, valMetrics, true, v.finiteOutputs);
  }
  const train = trainMetrics?.confusion();
  const confusionMatrix: ConfusionMatrix | undefined = train && {
    labels: train.map((_, i) => i),
    train,
    ...(valMetrics ? { validation: valMetrics.confusion()! } : {}),
  };
  const gradientsFinite = gradients !== undefined && Object.values(gradients).every((g) => allFinite(g.data));
  if (gradients && !gradientsFinite) omitted.push("gradients");
  return {
    weights,
    ...(gradientsFinite ? { gradients } : {}),
    metrics,
    ...(confusionMatrix ? { confusionMatrix } : {}),
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
 * Puts the values of `acc` into `metrics` (as `val…` for validation), leaving a non-finite one out in
 * `omitted`, and every one when the outputs they were read from were not all finite.
 */
function addMetrics(
  metrics: TrainMetrics,
  omitted: NonNullable<TrainResult["nonFinite"]>["omitted"],
  acc: MetricAccumulator | undefined,
  validation: boolean,
  finiteOutputs: boolean,
): void {
  if (!acc) return;
  const values: MetricSeries<number> = validation ? asValidation(acc.values()) : acc.values();
  for (const [key, v] of Object.entries(values) as [keyof MetricSeries<number>, number][]) {
    if (finiteOutputs && Number.isFinite(v)) metrics[key] = v;
    else omitted.push(key);
  }
}
