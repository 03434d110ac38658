import { accuracyOf, type Tally } from "../metrics/accuracy.js";
import type { MetricSeries } from "../metrics/names.js";
import type { EpochLogs, History } from "../types.js";

/**
 * The per-epoch record of a gradient-descent run: `history` (one entry per epoch run in each of
 * its series) and the `EpochLogs` handed to `onEpochEnd`. Which series exist is fixed at the start.
 */
export class EpochLog {
  readonly history: History = { loss: [] };

  /**
   * @param classification accuracy series too: a classifier's loss (`isClassifier`, losses/options.ts).
   * @param withOptimum a `distanceToOptimum` series (docs/backprop.md §9.4).
   * @param withValidation `valLoss` (and, for classification, `valAccuracy`) series.
   * @param withRegularization a `regularizationLoss` series (docs/backprop.md §16.2).
   */
  constructor(
    private readonly classification: boolean,
    withOptimum: boolean,
    withValidation: boolean,
    withRegularization = false,
  ) {
    const { history } = this;
    if (withRegularization) history.regularizationLoss = [];
    if (classification) history.accuracy = [];
    if (withOptimum) history.distanceToOptimum = [];
    if (withValidation) {
      history.valLoss = [];
      if (classification) history.valAccuracy = [];
    }
  }

  /**
   * Records an epoch and returns its logs.
   * @param total the epoch's summed training loss over `nTrain` samples, @param accuracy its
   *   accuracy decisions (`accuracyOf`); @param penalty the summed regularisation penalty (part of `total`).
   * @param extra the epoch's values of `TrainOptions.metrics` (training and `val…`), keyed as in
   *   `History`; each key's series is made at its first value (every epoch has the same keys).
   */
  record(
    epoch: number,
    total: number,
    accuracy: Tally,
    nTrain: number,
    distance: number | undefined,
    val: { valLoss?: number; valAccuracy?: number },
    penalty = 0,
    extra: MetricSeries<number> = {},
  ): EpochLogs {
    const { history, classification } = this;
    const logs: EpochLogs = {
      epoch,
      loss: total / nTrain,
      ...(classification ? { accuracy: accuracyOf(accuracy) } : {}),
      ...(distance !== undefined ? { distanceToOptimum: distance } : {}),
      ...val,
      ...extra,
    };
    history.loss.push(logs.loss);
    history.regularizationLoss?.push(penalty / nTrain);
    if (classification) history.accuracy!.push(logs.accuracy!);
    if (distance !== undefined) history.distanceToOptimum!.push(distance);
    if (val.valLoss !== undefined) history.valLoss!.push(val.valLoss);
    if (val.valAccuracy !== undefined) history.valAccuracy!.push(val.valAccuracy);
    for (const [key, v] of Object.entries(extra) as [keyof MetricSeries<number>, number][]) {
      const series = history[key] ?? [];
      series.push(v);
      history[key] = series;
    }
    return logs;
  }
}
