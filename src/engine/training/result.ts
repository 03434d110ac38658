import { evaluate } from "../evaluate.js";
import { ENGINE_VERSION, weightsSha256 } from "../fingerprint.js";
import { allFinite } from "../forensics.js";
import type { Model } from "../model.js";
import type { NamedTensors } from "../tensor.js";
import type { Dataset, TrainMetrics, TrainResult } from "../types.js";

/** What identifies a result: the engine's version, the seed, and the digest of the model's current weights. */
export function provenance(
  model: Model,
  seed: number,
): Pick<TrainResult, "engineVersion" | "seed" | "weightsSha256"> {
  return { engineVersion: ENGINE_VERSION, seed, weightsSha256: weightsSha256(model.getWeights()) };
}

/**
 * The current weights, the mean-loss gradient over the training samples there, and the metrics;
 * values that are not finite (only after a divergence) are left out and listed in `nonFinite`.
 */
export function finalState(
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
