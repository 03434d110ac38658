/**
 * The optimiser fields of the training panel: the menu of every optimiser the form offers
 * (web/src/options.ts), the learning rate, and each one's main option: momentum and Nesterov
 * for sgd, the decoupled weight decay for adamw. The others take their Keras defaults.
 */
import { $, input, select } from "../dom.js";
import { fieldNumber } from "../fields.js";
import { type FormOptimizer, OPTIMIZERS } from "../options.js";
import type { OptimizerSpec } from "../types.js";

/** Fills the optimiser menu (adam first, the form's default). */
export function fillOptimizers(): void {
  const sel = select("optimizer");
  sel.replaceChildren(...OPTIMIZERS.map((o) => new Option(o, o, o === "adam", o === "adam")));
  showOptimizerOptions();
}

/** Shows the chosen optimiser's own fields only. */
export function showOptimizerOptions(): void {
  const type = select("optimizer").value;
  $("momentum-label").hidden = type !== "sgd";
  $("nesterov-label").hidden = type !== "sgd";
  $("weight-decay-label").hidden = type !== "adamw";
}

/**
 * The optimiser in the form. Options at their default are left out (momentum 0, no Nesterov),
 * so a body without them is the one the form always sent.
 * @throws Error naming the field when a number is empty or out of range.
 */
export function buildOptimizer(): OptimizerSpec {
  const type = select("optimizer").value as FormOptimizer;
  const learningRate = fieldNumber(input("learning-rate"), "learning rate", { min: 0 });
  switch (type) {
    case "sgd": {
      const momentum = fieldNumber(input("momentum"), "momentum", { min: 0, below: 1 });
      const optimizer: OptimizerSpec = { type, learningRate };
      if (momentum > 0) optimizer.momentum = momentum;
      if (input("nesterov").checked) optimizer.nesterov = true;
      return optimizer;
    }
    case "adamw":
      return {
        type,
        learningRate,
        weightDecay: fieldNumber(input("weight-decay"), "weight decay", { min: 0, max: 1e6 }),
      };
    default:
      return { type, learningRate };
  }
}
