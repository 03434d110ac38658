import { EngineError } from "../errors.js";
import { isClassifier, lossName } from "../losses/options.js";
import type { LossSpec } from "../spec.js";

/**
 * The metrics `TrainOptions.metrics` may ask for (Keras' metrics in tfjs-layers' camelCase;
 * definitions in docs/backprop.md §20.3). `accuracy` is reported for every classifier anyway.
 */
export const METRIC_NAMES = [
  "accuracy",
  "precision",
  "recall",
  "auc",
  "meanAbsoluteError",
  "meanSquaredError",
  "rootMeanSquaredError",
  "r2",
] as const;

export type MetricName = (typeof METRIC_NAMES)[number];

/** The metrics of classifiers (`isClassifier` losses): computed from class decisions and scores. */
export const CLASSIFICATION_METRICS = ["accuracy", "precision", "recall", "auc"] as const;

/** The metrics of regression losses: computed from the output minus the target, element by element. */
export const REGRESSION_METRICS = [
  "meanAbsoluteError",
  "meanSquaredError",
  "rootMeanSquaredError",
  "r2",
] as const;

/** A metric's series besides `accuracy` (which `History` always had): its name, then `val` + Name. */
export type ExtraMetric = Exclude<MetricName, "accuracy">;

/** `history` / `metrics` key of a validation value: `precision` → `valPrecision`, `r2` → `valR2`. */
export type ValKey<M extends string> = `val${Capitalize<M>}`;

/** Per-epoch (or final) values of the extra metrics, training and validation, keyed as in `history`. */
export type MetricSeries<T> = { [K in ExtraMetric | ValKey<ExtraMetric>]?: T };

/** The validation key of `name` (`valPrecision`). */
export function valKey<M extends string>(name: M): ValKey<M> {
  return `val${name[0]!.toUpperCase()}${name.slice(1)}` as ValKey<M>;
}

/** Metric values as validation ones: `{ precision: v }` → `{ valPrecision: v }`. */
export function asValidation(values: Partial<Record<ExtraMetric, number>>): MetricSeries<number> {
  const out: MetricSeries<number> = {};
  for (const [name, v] of Object.entries(values) as [ExtraMetric, number][]) out[valKey(name)] = v;
  return out;
}

/** Whether `metric` applies to a model trained with `loss`: classification metrics to classifiers, the others to the rest. */
export function metricApplies(metric: MetricName, loss: LossSpec): boolean {
  const classifier = isClassifier(loss);
  return (CLASSIFICATION_METRICS as readonly string[]).includes(metric) ? classifier : !classifier;
}

/**
 * Checks `TrainOptions.metrics` and returns them without duplicates, in order.
 * @throws EngineError at `["metrics", i]` for an unknown name or one that does not apply to the loss
 *   (a classification metric on a regression loss, or the reverse).
 */
export function checkMetrics(metrics: readonly string[] | undefined, loss: LossSpec): MetricName[] {
  if (metrics === undefined) return [];
  const out: MetricName[] = [];
  metrics.forEach((m, i) => {
    if (!(METRIC_NAMES as readonly string[]).includes(m))
      throw new EngineError(`unknown metric "${m}"; available: ${METRIC_NAMES.join(", ")}`, ["metrics", i]);
    const metric = m as MetricName;
    if (!metricApplies(metric, loss)) {
      const classifier = isClassifier(loss);
      throw new EngineError(
        `${metric} does not apply to ${lossName(loss)}: ${
          classifier
            ? `a classifier's metrics are ${CLASSIFICATION_METRICS.join(", ")}`
            : `a regression loss's metrics are ${REGRESSION_METRICS.join(", ")}`
        }`,
        ["metrics", i],
      );
    }
    if (!out.includes(metric)) out.push(metric);
  });
  return out;
}
