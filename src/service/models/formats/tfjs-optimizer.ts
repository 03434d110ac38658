/**
 * The `optimizer_config` of a `model.json`'s `trainingConfig` (docs/models.md): tfjs reads a
 * `trainingConfig` only with an optimiser it can build, so one is always written.
 */
import type { KerasObject } from "./keras-names.js";

/** Keras' `compile()` default, RMSprop(0.001), as tfjs spells it. */
const KERAS_DEFAULT: KerasObject = {
  class_name: "RMSProp",
  config: { learning_rate: 0.001, decay: 0.9, momentum: 0, epsilon: 1e-7, centered: false },
};

/**
 * The optimiser a model was trained with (an `OptimizerSpec` as the request gave it) as tfjs'
 * serialised optimiser: `SGD`, `Momentum`, `Adam`, `RMSProp`, `Adagrad`, `Adadelta`, `Adamax`
 * with their arguments (engine defaults filled in). One tfjs has no class for (nadam, adamw, the
 * normal equation), a learning-rate schedule, gradient clipping, or none at all gives Keras'
 * `compile()` default, RMSprop(0.001): tfjs would refuse the file without an optimiser. An
 * optimiser already in tfjs' form (`{ class_name, config }`: an import's `optimizer_config`) is
 * written as it came, so an imported model exports as it was imported.
 */
export function kerasOptimizer(optimizer: unknown): KerasObject {
  if (typeof optimizer !== "object" || optimizer === null) return KERAS_DEFAULT;
  const o = optimizer as Record<string, unknown>;
  if (typeof o.class_name === "string" && typeof o.config === "object" && o.config !== null)
    return o as unknown as KerasObject;
  const lr = o.learningRate;
  if (
    typeof lr !== "number" ||
    o.clipnorm !== undefined ||
    o.clipvalue !== undefined ||
    o.globalClipnorm !== undefined
  )
    return KERAS_DEFAULT;
  const num = (key: string, dflt: number): number => (typeof o[key] === "number" ? (o[key] as number) : dflt);
  switch (o.type) {
    case "sgd": {
      const momentum = num("momentum", 0);
      if (momentum === 0 && o.nesterov !== true) return { class_name: "SGD", config: { learning_rate: lr } };
      return {
        class_name: "Momentum",
        config: { learning_rate: lr, momentum, use_nesterov: o.nesterov === true },
      };
    }
    case "adam":
      return {
        class_name: "Adam",
        config: {
          learning_rate: lr,
          beta1: num("beta1", 0.9),
          beta2: num("beta2", 0.999),
          epsilon: num("epsilon", 1e-7),
        },
      };
    case "rmsprop":
      return {
        class_name: "RMSProp",
        config: {
          learning_rate: lr,
          decay: num("rho", 0.9),
          momentum: num("momentum", 0),
          epsilon: num("epsilon", 1e-7),
          centered: o.centered === true,
        },
      };
    case "adagrad":
      return {
        class_name: "Adagrad",
        config: { learning_rate: lr, initial_accumulator_value: num("initialAccumulatorValue", 0.1) },
      };
    case "adadelta":
      return {
        class_name: "Adadelta",
        config: { learning_rate: lr, rho: num("rho", 0.95), epsilon: num("epsilon", 1e-7) },
      };
    case "adamax":
      return {
        class_name: "Adamax",
        config: {
          learning_rate: lr,
          beta1: num("beta1", 0.9),
          beta2: num("beta2", 0.999),
          epsilon: num("epsilon", 1e-7),
          decay: 0,
        },
      };
  }
  return KERAS_DEFAULT;
}
