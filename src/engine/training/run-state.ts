import type { DropoutStream } from "../layers/dropout-streams.js";
import type { Param } from "../layers/layer.js";
import { checkOptimizerState, type Optimizer } from "../optimizers.js";
import { Rng } from "../rng.js";
import type { GradientOptimizerSpec } from "../spec.js";
import { checkDropoutState, checkShuffleState } from "../train-check.js";
import type { OptimizerState } from "../types.js";

/** Shuffling draws from its own stream so it is the same with or without `initialWeights`. */
const SHUFFLE_STREAM = 0x5f3759df;

/**
 * What a gradient-descent run carries from epoch to epoch besides the weights: the shuffling
 * generator and the sample order it last produced (each epoch shuffles the previous order in
 * place), the dropout streams' generators (each layer holds its own), and the number of epochs
 * before this call (`initialEpoch`, > 0 when continuing a run).
 */
export class RunState {
  rng: Rng;
  readonly order: Uint32Array;
  initialEpoch = 0;

  /**
   * A fresh run: the generator seeded from `seed`, the order 0 … nTrain − 1.
   * @param dropouts the model's dropout streams (dropout and recurrent layers), already seeded
   *   (`seedDropoutStreams`).
   */
  constructor(
    seed: number,
    nTrain: number,
    private readonly dropouts: readonly DropoutStream[] = [],
  ) {
    this.rng = new Rng((seed ^ SHUFFLE_STREAM) >>> 0);
    this.order = new Uint32Array(nTrain);
    for (let i = 0; i < nTrain; i++) this.order[i] = i;
  }

  /**
   * Continues a run from `state` (`TrainOptions.optimizerState`): checks it against this run's
   * optimiser, parameters, training samples and dropout layers, then loads the optimiser's slots
   * and iteration count, the generators, the order and the epoch count.
   * @throws EngineError at `["optimizerState", …]` for a state that does not fit.
   */
  resume(state: OptimizerState, spec: GradientOptimizerSpec, params: Param[], optimizer: Optimizer): void {
    checkOptimizerState(state, spec, params);
    checkShuffleState(state, this.order.length);
    checkDropoutState(
      state,
      this.dropouts.map((d) => d.name),
    );
    optimizer.loadSlots(state);
    optimizer.iterations = state.iterations;
    this.rng = Rng.fromState(state.shuffleRng);
    this.order.set(state.shuffleOrder);
    for (const d of this.dropouts) d.holder.rng = Rng.fromState(state.dropoutRng![d.name]!);
    this.initialEpoch = state.epochsCompleted;
  }

  /** Shuffles the sample order in place for the next epoch. */
  shuffle(): void {
    this.rng.shuffle(this.order);
  }

  /** The state to continue from after `epochsCompleted` epochs (`TrainResult.optimizerState`). */
  snapshot(optimizer: Optimizer, epochsCompleted: number): OptimizerState {
    return {
      type: optimizer.type,
      iterations: optimizer.iterations,
      epochsCompleted,
      ...optimizer.slots(),
      shuffleRng: this.rng.getState(),
      shuffleOrder: Array.from(this.order),
      ...(this.dropouts.length > 0
        ? { dropoutRng: Object.fromEntries(this.dropouts.map((d) => [d.name, d.holder.rng.getState()])) }
        : {}),
    };
  }
}
