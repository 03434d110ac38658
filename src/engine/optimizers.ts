import type { Param } from "./layers/layer.js";
import { Adam, Adamax, Nadam } from "./optimizers/adam.js";
import { Adadelta, Adagrad, Rmsprop } from "./optimizers/adaptive.js";
import type { Optimizer } from "./optimizers/base.js";
import { Sgd } from "./optimizers/sgd.js";
import { checkOptimizerSpec, learningRateOf } from "./optimizers/state.js";
import { makeSchedule } from "./schedules.js";
import type { GradientOptimizerSpec } from "./spec.js";

export {
  OPTIMIZER_SLOTS,
  type Optimizer,
  type OptimizerSlots,
  type SlotName,
  type StepFault,
} from "./optimizers/base.js";
export {
  checkOptimizerSpec,
  checkOptimizerState,
  describeOptimizer,
  learningRateOf,
  slotsOf,
} from "./optimizers/state.js";

/**
 * Builds the optimiser a spec describes over `params` (docs/backprop.md §11, §15); defaults as
 * tfjs (momentum 0; Adam 0.9, 0.999, 1e-7; see each spec type).
 * @throws EngineError at `["optimizer", …]` for a bad rate, schedule or field (`checkOptimizerSpec`).
 */
export function makeOptimizer(spec: GradientOptimizerSpec, params: Param[]): Optimizer {
  checkOptimizerSpec(spec);
  const rate = makeSchedule(learningRateOf(spec), ["optimizer", "learningRate"]);
  switch (spec.type) {
    case "sgd":
      return new Sgd(params, rate, spec);
    case "adam":
    case "adamw":
      return new Adam(params, rate, spec);
    case "rmsprop":
      return new Rmsprop(params, rate, spec);
    case "adagrad":
      return new Adagrad(params, rate, spec);
    case "adadelta":
      return new Adadelta(params, rate, spec);
    case "adamax":
      return new Adamax(params, rate, spec);
    case "nadam":
      return new Nadam(params, rate, spec);
  }
}
