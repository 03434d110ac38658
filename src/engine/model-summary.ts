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
