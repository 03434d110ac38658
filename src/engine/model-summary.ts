import { Bidirectional } from "./layers/bidirectional.js";
import { dropoutStreams } from "./layers/dropout-streams.js";
import { Recurrent } from "./layers/recurrent.js";
import { isClassifier } from "./losses.js";
import type { Model } from "./model.js";

/** What a model looks like once built: shapes per layer and its parameters. */
export interface ModelSummary {
  inputShape: number[];
  outputShape: number[];
  inputSize: number;
  outputSize: number;
  layers: {
    name: string;
    type: string;
    outputShape: number[];
    /** Trainable parameters. */
    params: { key: string; shape: number[] }[];
    /** Non-trainable weights (batch normalisation's moving statistics); absent when none. */
    state?: { key: string; shape: number[] }[];
  }[];
  /** Total number of trainable scalars. */
  paramCount: number;
  /**
   * Work of one sample's forward pass (multiply-adds, comparisons, element operations), summed
   * over the layers; a training step costs about 3× this, a numerical check 2 passes per parameter.
   */
  forwardCost: number;
  /**
   * Doubles one sample keeps while it runs, from the layers' own accounting
   * (`Layer.sampleValues`): `forward`, a forward pass (the batch's copy of the input, every
   * layer's output and working buffers); `training`, a training step (that, plus the targets,
   * the loss gradient and every `∂L/∂X` back-propagation allocates). A batch of `b` samples takes
   * about `b × 8 ×` these bytes (`b × 4 ×` in float32) on top of the parameters; the limit on it (MAX_BATCH_BYTES) is
   * checked from these before anything is allocated.
   */
  sampleValues: { forward: number; training: number };
  /**
   * Numbers one epoch of telemetry's `stateGradientNorm` holds: the timesteps of every recurrent
   * layer, a bidirectional layer's two copies each (docs/backprop.md §22.5); 0 without any.
   */
  stateSteps: number;
  /**
   * The names under which `OptimizerState.dropoutRng` carries the model's dropout streams: its
   * dropout layers and its recurrent layers with `dropout`/`recurrentDropout` above 0 (a
   * bidirectional layer's two copies each), in layer order (docs/backprop.md §18.3, §22.7).
   */
  dropoutStreams: string[];
  /** True for the cross-entropy losses (accuracy is reported). */
  classification: boolean;
  /**
   * The first layer's `inputDim` when the model starts with an embedding: every input value must
   * then be an integer token id in `[0, tokenIds)` (`checkTokenIds`); absent otherwise.
   */
  tokenIds?: number;
}

/**
 * The summary of a built model: its shapes, each spec layer's output shape and weights, and the
 * totals.
 * @param sampleValues the model's own accounting (`ModelSummary.sampleValues`).
 */
export function summarize(model: Model, sampleValues: ModelSummary["sampleValues"]): ModelSummary {
  const { layers, specLayerEnds } = model;
  return {
    inputShape: [...model.inputShape],
    outputShape: [...model.outputShape],
    inputSize: model.inputSize,
    outputSize: model.outputSize,
    layers: model.specLayerNames.map((name, i) => {
      const start = i === 0 ? 0 : specLayerEnds[i - 1]! + 1;
      const own = layers.slice(start, specLayerEnds[i]! + 1);
      const state = own.flatMap((l) => l.state?.() ?? []);
      return {
        name,
        type: model.spec.layers[i]!.type,
        outputShape: [...own[own.length - 1]!.outputShape],
        params: own.flatMap((l) => l.params()).map((p) => ({ key: p.key, shape: [...p.shape] })),
        ...(state.length > 0 ? { state: state.map((p) => ({ key: p.key, shape: [...p.shape] })) } : {}),
      };
    }),
    paramCount: model.params().reduce((s, p) => s + p.value.length, 0),
    forwardCost: layers.reduce((s, l) => s + l.forwardCost, 0),
    sampleValues,
    stateSteps: layers.reduce(
      (s, l) => s + (l instanceof Recurrent ? l.steps : l instanceof Bidirectional ? 2 * l.fwd.steps : 0),
      0,
    ),
    dropoutStreams: dropoutStreams(layers).map((d) => d.name),
    classification: isClassifier(model.spec.loss),
    ...(model.tokenIds !== undefined ? { tokenIds: model.tokenIds } : {}),
  };
}
