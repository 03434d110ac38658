import { maskConsumers, maskFlow } from "./mask-flow.js";
import { Model, type ModelOptions, type ModelSummary } from "./model.js";
import type { ModelSpec } from "./spec.js";
import type { NamedTensors } from "./tensor.js";

/**
 * Builds the model to check it and returns its summary.
 * @throws EngineError naming the layer and both shapes when the stack does not fit.
 */
export function describeModel(spec: ModelSpec, options: ModelOptions = {}): ModelSummary {
  return new Model(spec, options).summary();
}

/** The spec layers that read a time-step mask (docs/backprop.md §21.1), by index; [] for most models. */
export function maskedLayers(spec: ModelSpec): number[] {
  const model = new Model(spec);
  return maskConsumers(model.layers, (i) => model.specIndexOf(i));
}

/**
 * The spec layers whose input carries a time-step mask (docs/backprop.md §21.1), by index, in
 * order: the layers an exporter must know support masking; [] for most models.
 */
export function maskReceivers(spec: ModelSpec): number[] {
  const model = new Model(spec);
  const { receives } = maskFlow(model.layers);
  return [...new Set(model.layers.flatMap((_, i) => (receives[i] ? [model.specIndexOf(i)] : [])))];
}

/** Seeded Glorot-uniform weights for `spec` (zero biases), keyed as the weights. */
export function initWeights(spec: ModelSpec, seed: number): NamedTensors {
  const m = new Model(spec);
  m.initialise(seed);
  return m.getWeights();
}
