import type { EarlyStopping } from "../early-stopping.js";
import type { Param } from "../layers/layer.js";
import { type Floats, floatsLike } from "../tensor.js";
import type { OptimizerState } from "../types.js";

/**
 * Early stopping in a gradient-descent run: feeds each epoch's monitored value to Keras'
 * `EarlyStopping` rule and, with `restoreBestWeights`, keeps a copy of the best epoch's weights
 * (and, when the run returns one, its optimiser state) to put back at the end. The weights are all
 * of them, `Model.weights()`: batch normalisation's moving statistics come back with the epoch's
 * gamma and beta.
 */
export class EarlyStop {
  private best: { weights: Floats[]; state?: OptimizerState } | undefined;

  /**
   * @param params every weight, trainable or not (`Model.weights()`).
   * @param withState whether a snapshot also keeps the optimiser state (`returnOptimizerState`).
   */
  constructor(
    readonly rule: EarlyStopping,
    private readonly params: Param[],
    private readonly withState: boolean,
  ) {}

  /**
   * After epoch `epoch` with its training loss and (when the run holds out samples) validation loss.
   * @param stateNow the optimiser state to continue from after this epoch, made only when kept.
   * @returns true when training should stop after this epoch.
   */
  update(epoch: number, loss: number, valLoss: number | undefined, stateNow: () => OptimizerState): boolean {
    const { rule, params } = this;
    const { snapshot, stop } = rule.update(epoch, rule.monitor === "loss" ? loss : valLoss!);
    if (snapshot && rule.restoreBestWeights) {
      this.best ??= { weights: params.map((p) => floatsLike(p.value)) };
      for (let k = 0; k < params.length; k++) this.best.weights[k]!.set(params[k]!.value);
      if (this.withState) this.best.state = stateNow();
    }
    return stop;
  }

  /**
   * At the end of the run: puts the best weights back when a snapshot was kept.
   * @returns the optimiser state to report: the best epoch's when weights were restored, else `current`.
   */
  restore(current: OptimizerState | undefined): OptimizerState | undefined {
    const { best, params } = this;
    if (!best) return current;
    for (let k = 0; k < params.length; k++) params[k]!.value.set(best.weights[k]!);
    return best.state;
  }
}
