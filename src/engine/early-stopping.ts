import { EngineError } from "./errors.js";
import type { EarlyStoppingOptions } from "./types.js";

/**
 * Keras 3's `EarlyStopping` callback in mode "min" without baseline or warm-up
 * (keras/src/callbacks/early_stopping.py): see `EarlyStoppingOptions` for the rule.
 */
export class EarlyStopping {
  readonly monitor: "valLoss" | "loss";
  readonly restoreBestWeights: boolean;
  private readonly patience: number;
  private readonly minDelta: number;
  private best = Number.POSITIVE_INFINITY;
  private wait = 0;
  private hasBest = false;
  bestEpoch: number | undefined;
  stoppedEpoch: number | undefined;

  /**
   * @param hasValidation whether the run holds out a validation split.
   * @throws EngineError at `["earlyStopping", field]`: an unknown `monitor`, `valLoss` without
   *   validation data, a `patience` that is not an integer ≥ 0, a `minDelta` that is not finite.
   */
  constructor(opts: EarlyStoppingOptions, hasValidation: boolean) {
    const path = (field: string) => ["earlyStopping", field];
    if (opts.monitor !== "valLoss" && opts.monitor !== "loss")
      throw new EngineError(
        `monitor must be "valLoss" or "loss", got ${JSON.stringify(opts.monitor)}`,
        path("monitor"),
      );
    if (opts.monitor === "valLoss" && !hasValidation)
      throw new EngineError(
        'monitor "valLoss" needs validation data: set validationSplit > 0 (with enough samples to hold one out), or monitor "loss"',
        path("monitor"),
      );
    const patience = opts.patience ?? 0;
    if (!Number.isSafeInteger(patience) || patience < 0)
      throw new EngineError(`patience must be an integer ≥ 0, got ${patience}`, path("patience"));
    const minDelta = opts.minDelta ?? 0;
    if (!Number.isFinite(minDelta))
      throw new EngineError(`minDelta must be a finite number, got ${minDelta}`, path("minDelta"));
    this.monitor = opts.monitor;
    this.patience = patience;
    this.minDelta = Math.abs(minDelta);
    this.restoreBestWeights = opts.restoreBestWeights ?? false;
  }

  /**
   * Keras' `on_epoch_end` with the epoch's monitored value.
   * @returns `snapshot`: the current weights are now the best ones to restore (Keras also takes the
   *   first epoch's as a fall-back); `stop`: training should end after this epoch.
   */
  update(epoch: number, value: number): { snapshot: boolean; stop: boolean } {
    let snapshot = false;
    if (!this.hasBest) {
      this.hasBest = true;
      this.bestEpoch = epoch;
      snapshot = true;
    }
    this.wait++;
    // Keras: monitor_op(current − min_delta, best) with min_delta negated for "min", i.e. current + |Δ| < best.
    if (value + this.minDelta < this.best) {
      this.best = value;
      this.bestEpoch = epoch;
      this.wait = 0;
      return { snapshot: true, stop: false };
    }
    if (this.wait >= this.patience && epoch > 0) {
      this.stoppedEpoch = epoch;
      return { snapshot, stop: true };
    }
    return { snapshot, stop: false };
  }
}
