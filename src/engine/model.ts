import { EngineError } from "./errors.js";
import { initializeParams } from "./initializers.js";
import { duplicateName, layerName } from "./layer-names.js";
import { Embedding } from "./layers/embedding.js";
import { buildLayer, paramsOf } from "./layers/factory.js";
import { INFERENCE, type Layer, type LayerMode, type Param } from "./layers/layer.js";
import { maskedLossAndGrad, perStepLossAndGrad } from "./losses/masked.js";
import { weightedLossAndGrad } from "./losses/weighted.js";
import { type LossKind, lossAndGrad, lossKindOf } from "./losses.js";
import { type ModelSummary, summarize } from "./model-summary.js";
import { checkNamedTensors } from "./named-tensors.js";
import { outputActivation, trailingLayer } from "./output-activation.js";
import { Regularization } from "./regularization.js";
import { Rng } from "./rng.js";
import type { ModelSpec } from "./spec.js";
import {
  buildingIn,
  type Dtype,
  dtypeOf,
  type Floats,
  floats,
  formatShape,
  type NamedTensors,
  sizeOf,
} from "./tensor.js";

export type { ModelSummary } from "./model-summary.js";

/** Options of `Model` / `describeModel`. */
export interface ModelOptions {
  /** Largest number of trainable parameters accepted (checked before allocating them). */
  maxParams?: number;
  /** What raises `maxParams`, named in the error (a configuration variable, say). */
  maxParamsName?: string;
  /**
   * The dtype every array the model holds has (weights, gradients, activations, buffers);
   * default float64. docs/precision.md.
   */
  dtype?: Dtype;
}

/** Default parameter cap: 2^27 doubles are 1 GiB of weights and as much of gradients. */
export const MAX_PARAMS = 2 ** 27;

/** Upper bound on any tensor a model may allocate per sample (elements), a sanity limit. */
const MAX_ACTIVATION_SIZE = 1 << 26;

/**
 * A sequential model built from a `ModelSpec` (convnetjs' `makeLayers`): each layer's input
 * shape is the previous one's output shape. A layer with an `activation` becomes the layer
 * followed by an `Activation` layer. The output activation and the loss are fused when they
 * are softmax + (sparse) categorical cross-entropy or sigmoid + binary cross-entropy
 * (docs/backprop.md §6.4, §6.5).
 */
export class Model {
  readonly layers: Layer[] = [];
  /** For each spec layer, the index in `layers` of its last internal layer. */
  readonly specLayerEnds: number[] = [];
  readonly specLayerNames: string[] = [];
  readonly inputShape: number[];
  readonly outputShape: number[];
  readonly inputSize: number;
  readonly outputSize: number;
  readonly lossKind: LossKind;
  /** The vocabulary of a leading embedding (its `inputDim`): inputs are ids in `[0, tokenIds)`. */
  readonly tokenIds: number | undefined;
  private readonly paramList: Param[];
  /** Every weight: each layer's parameters, then its non-trainable state (Keras' weight order). */
  private readonly weightList: Param[];
  /** The dtype of every array the model holds (`ModelOptions.dtype`, docs/precision.md). */
  readonly dtype: Dtype;
  private lossGradBuffer: Floats;
  /** `inDtype`'s buffers. */
  private readonly staging: { input: Floats; targets: Floats };
  private readonly outputs: Floats[] = [];
  private lastInput: Floats = new Float64Array(0);
  /** The time-step mask `[batch, T]` leaving the last layer in the last `forward` (docs/backprop.md §21.1), or null. */
  outMask: Floats | null = null;
  /** Set by `evaluate`: the real steps per sample a masked loss divides by (`maskedLossAndGrad`), else the batch's own. */
  realStepsPerSample: number | undefined;
  /** Index of the first layer with parameters (`layers.length` when none has any). */
  private readonly firstTrainable: number;
  /** Weight and activity penalties and kernel constraints, when the spec has any (docs/backprop.md §16). */
  readonly regularization: Regularization | undefined;
  /** The layers that run differently in training and inference (those with `setMode`). */
  private readonly modal: Layer[];
  private modeNow: LayerMode = INFERENCE;

  /**
   * @throws EngineError naming the layer (`["layers", i, field]`) when shapes do not fit, or the
   *   name sent that collides with another layer's (`duplicateName`).
   * @param options.maxParams refuse (before allocating anything) a model with more trainable
   *   parameters than this; default `MAX_PARAMS`.
   */
  constructor(
    readonly spec: ModelSpec,
    options: ModelOptions = {},
  ) {
    const maxParams = options.maxParams ?? MAX_PARAMS;
    this.dtype = options.dtype ?? "float64";
    this.lossGradBuffer = floats(this.dtype, 0);
    this.staging = { input: floats(this.dtype, 0), targets: floats(this.dtype, 0) };
    let params = 0;
    this.inputShape = [...spec.inputShape];
    let shape = this.inputShape;
    if (shape.length === 0 || shape.some((d) => !Number.isInteger(d) || d < 1))
      throw new EngineError(`inputShape must be positive integers, got ${formatShape(shape)}`, [
        "inputShape",
      ]);
    const seen = new Map<string, number>();
    spec.layers.forEach((ls, i) => {
      const name = layerName(ls, i);
      const first = seen.get(name);
      if (first !== undefined) throw duplicateName(name, spec.layers, first, i);
      seen.set(name, i);
      // Count first: building a layer allocates its parameters.
      params += paramsOf(ls, shape);
      if (params > maxParams)
        throw new EngineError(
          `the model has ${params} trainable parameters up to layer ${name}; the limit is ${maxParams}` +
            (options.maxParamsName ? ` (${options.maxParamsName})` : ""),
          ["layers", i],
        );
      const built = buildingIn(this.dtype, () => buildLayer(ls, name, shape, i));
      for (const layer of built) {
        if (layer.outputShape.some((d) => d < 1) || sizeOf(layer.outputShape) > MAX_ACTIVATION_SIZE)
          throw new EngineError(
            `layer ${name} (${ls.type}) maps input ${formatShape(shape)} to output ${formatShape(layer.outputShape)}, which is empty or too large`,
            ["layers", i],
          );
        this.layers.push(layer);
        shape = layer.outputShape;
      }
      this.specLayerEnds.push(this.layers.length - 1);
      this.specLayerNames.push(name);
    });
    if (this.layers.length === 0) throw new EngineError("a model needs at least one layer", ["layers"]);
    this.outputShape = shape;
    this.tokenIds = this.layers[0] instanceof Embedding ? this.layers[0].inputDim : undefined;
    this.inputSize = sizeOf(this.inputShape);
    this.outputSize = sizeOf(this.outputShape);
    const out = outputActivation(this.layers);
    this.lossKind = lossKindOf(
      spec.loss,
      out?.activation ?? "linear",
      this.outputShape,
      out ? undefined : trailingLayer(spec, this.layers),
      out?.last ?? true,
    );
    this.paramList = this.layers.flatMap((l) => l.params());
    this.weightList = this.layers.flatMap((l) => [...l.params(), ...(l.state?.() ?? [])]);
    const first = this.layers.findIndex((l) => l.params().length > 0);
    this.firstTrainable = first < 0 ? this.layers.length : first;
    this.regularization = Regularization.of(this);
    this.modal = this.layers.filter((l) => l.setMode !== undefined);
    for (const l of this.modal) l.setMode!(INFERENCE);
  }

  /**
   * How the next forward passes run (`TRAINING_STEP`, `INFERENCE`, …); a model starts in
   * inference. Costs nothing for a model without dropout or batch normalisation.
   */
  setMode(mode: LayerMode): void {
    if (mode === this.modeNow) return;
    this.modeNow = mode;
    for (const l of this.modal) l.setMode!(mode);
  }

  /** The mode set last (`setMode`). */
  get mode(): LayerMode {
    return this.modeNow;
  }

  /** Every trainable parameter, in layer order (kernel before bias). */
  params(): Param[] {
    return this.paramList;
  }

  /**
   * Every weight, trainable or not, in layer order: what `getWeights` returns and `setWeights`
   * loads. Equal to `params()` for a model without non-trainable state.
   */
  weights(): Param[] {
    return this.weightList;
  }

  /** A summary of shapes and parameters. */
  summary(): ModelSummary {
    return summarize(this, this.sampleValues());
  }

  /**
   * `ModelSummary.sampleValues`, mirroring what `forward` and `loss` allocate: the loss gradient
   * and the targets (counted at the output's size, an upper bound for labels) and the `∂L/∂X` of
   * the layers `loss` back-propagates through with `needInputGrad` (those after the first with
   * parameters; a fused output activation is not run backward).
   */
  private sampleValues(): { forward: number; training: number } {
    const forward = this.inputSize + this.layers.reduce((s, l) => s + l.sampleValues.forward, 0);
    const last = this.lossKind.fused !== false ? this.layers.length - 2 : this.layers.length - 1;
    let backward = 2 * this.outputSize;
    for (let i = this.firstTrainable + 1; i <= last; i++) backward += this.layers[i]!.sampleValues.backward;
    return { forward, training: forward + backward };
  }

  /**
   * Runs the batch through every layer.
   * @param x `[batch, ...inputShape]` @returns the output `[batch, ...outputShape]`, valid until the next call.
   * @param onLayer called with each spec layer's index and output (for inspection).
   */
  forward(x: Floats, batch: number, onLayer?: (specIndex: number, out: Floats) => void): Floats {
    let a = this.inDtype(x, "input");
    let s = 0;
    this.lastInput = a;
    // The time-step mask, carried as `Layer.masking` says (docs/backprop.md §21.1).
    let mask: Floats | null = null;
    for (let i = 0; i < this.layers.length; i++) {
      const layer = this.layers[i]!;
      if (layer.masking === "consume") layer.setMask!(mask);
      a = layer.forward(a, batch);
      if (layer.outputMask) mask = layer.outputMask();
      else if (layer.masking !== "pass") mask = null;
      this.outputs[i] = a;
      if (onLayer && i === this.specLayerEnds[s]) onLayer(s++, a);
    }
    this.outMask = mask;
    return a;
  }

  /**
   * Sum of the per-sample losses of the batch after a `forward` of it; with `backward`, also
   * back-propagates `gradScale · ∂(sum)/∂output` layer by layer, ADDING into every `Param.grad`.
   * @param t targets `[batch, ...outputShape]` or labels `[batch]`.
   * @param sampleWeight `[batch]`: each sample's loss (and gradient) times its weight,
   *   `weightedLossAndGrad` (docs/backprop.md §20.1); penalties are not weighted (Keras).
   */
  loss(t: Floats, batch: number, backward: boolean, gradScale: number, sampleWeight?: Floats): number {
    const k = this.outputSize;
    const last = this.layers.length - 1;
    // The final activation is skipped when the loss fuses it (not with fromLogits: the output is the logits).
    const fused = this.lossKind.fused !== false && !this.lossKind.fromLogits;
    const pred = this.outputOf(fused ? last - 1 : last);
    const reg = this.regularization;
    const penalty = reg?.penalized ? reg.penalty(batch) : 0;
    const sw = sampleWeight;
    const ts = this.inDtype(t, "targets");
    if (!backward) return this.batchLoss(pred, ts, batch, null, 0, sw) + penalty;
    if (this.lossGradBuffer.length < batch * k) this.lossGradBuffer = floats(this.dtype, batch * k);
    const g = this.lossGradBuffer.subarray(0, batch * k);
    const total = this.batchLoss(pred, ts, batch, g, gradScale, sw);
    let d: Floats = g;
    // Layers before the first one with parameters have no gradient to give, and that one need
    // not compute ∂L/∂X: the input's gradient is never used.
    const first = this.firstTrainable;
    if (reg?.penalized && fused) reg.addFusedActivityGrad(last, g, batch, gradScale);
    for (let i = fused ? last - 1 : last; i >= first; i--) {
      if (reg?.penalized) reg.addActivityGrad(i, d, batch, gradScale);
      const layer = this.layers[i]!;
      // Through the layer before too, in one pass, where the layer can (max pooling after relu)
      // and no activity penalty needs the gradient in between.
      if (layer.backwardThrough && i - 1 > first && !reg?.hasActivity(i - 1)) {
        const through = layer.backwardThrough(this.layers[i - 1]!, d, batch);
        if (through) {
          d = through;
          i--;
          continue;
        }
      }
      d = layer.backward(d, batch, i > first);
    }
    if (reg?.penalized) reg.addWeightGrads(batch, gradScale);
    return total + penalty;
  }

  /** The loss function `loss` calls: weighted, and over the real steps when a mask reaches the output (docs/backprop.md §21.1). */
  private batchLoss(
    pred: Floats,
    t: Floats,
    batch: number,
    g: Floats | null,
    scale: number,
    sw?: Floats,
  ): number {
    const [kind, k, mask] = [this.lossKind, this.outputSize, this.outMask];
    if (mask) return maskedLossAndGrad(kind, pred, t, batch, k, g, scale, mask, sw, this.realStepsPerSample);
    if (kind.steps) return perStepLossAndGrad(kind, pred, t, batch, k, g, scale, sw);
    if (sw) return weightedLossAndGrad(kind, pred, t, batch, k, g, scale, sw);
    return lossAndGrad(kind, pred, t, batch, k, g, scale);
  }

  /**
   * `a` itself when it has the model's dtype, else its values rounded into a staging buffer (one
   * per `slot`, reused): a float32 model fed float64 data, outside the training loop's batches
   * (docs/precision.md §1).
   */
  private inDtype(a: Floats, slot: "input" | "targets"): Floats {
    if (dtypeOf(a) === this.dtype) return a;
    let buf = this.staging[slot];
    if (buf.length < a.length) buf = this.staging[slot] = floats(this.dtype, a.length);
    const view = buf.length === a.length ? buf : buf.subarray(0, a.length);
    view.set(a);
    return view;
  }

  /**
   * Sets every parameter gradient to zero: short arrays in a loop, which costs less than a call of
   * `fill` (about 30 ns each, measured: the seed network's four were about a tenth of its step).
   */
  zeroGrads(): void {
    for (const p of this.paramList) {
      const g = p.grad;
      if (g.length > 64) g.fill(0);
      else for (let i = 0; i < g.length; i++) g[i] = 0;
    }
  }

  /**
   * Every parameter from one generator seeded with `seed`, in order: its layer's initialiser, by
   * default Glorot-uniform kernels (limit `√(6 / (fanIn + fanOut))`, Glorot & Bengio 2010) and
   * zero biases, as Keras (docs/backprop.md §11.4, §16.1).
   * @throws EngineError at `["layers", i, "kernelInitializer"]` for invalid arguments.
   */
  initialise(seed: number): void {
    initializeParams(this.weightList, new Rng(seed));
  }

  /**
   * A copy of every weight's values (trainable and non-trainable, `weights()`), keyed
   * `"<layer>/kernel"`, in the model's dtype.
   */
  getWeights(): NamedTensors {
    return Object.fromEntries(
      this.weightList.map((p) => [p.key, { shape: [...p.shape], data: p.value.slice() }]),
    );
  }

  /** A copy of the parameter gradients, keyed as the weights, in the model's dtype. */
  getGrads(): NamedTensors {
    return Object.fromEntries(
      this.paramList.map((p) => [p.key, { shape: [...p.shape], data: p.grad.slice() }]),
    );
  }

  /**
   * Loads weights (trainable and non-trainable, `weights()`), which must have exactly the model's
   * keys and shapes and finite values; in a float32 model each value is rounded to float32.
   * @throws EngineError at `[field, key]` naming what was expected.
   */
  setWeights(weights: NamedTensors, field = "weights"): void {
    checkNamedTensors(this.weightList, weights, [field], "weight");
    for (const p of this.weightList) {
      p.value.set(weights[p.key]!.data);
      // A finite double beyond float32's range rounds to ±Infinity (docs/precision.md §1).
      if (this.dtype === "float32" && !p.value.every(Number.isFinite))
        throw new EngineError(
          `weight "${p.key}" has a value beyond the float32 range (±3.4028235e38), and the run is float32`,
          [field, p.key],
        );
    }
  }

  /**
   * Output of internal layer `i` (an index into `layers`) from the last `forward`,
   * `[batch, ...layers[i].outputShape]`; valid until the next `forward`.
   */
  layerOutput(i: number): Floats {
    return this.outputs[i]!;
  }

  /** Index into `spec.layers` of the spec layer that internal layer `i` belongs to. */
  specIndexOf(i: number): number {
    let s = 0;
    while (this.specLayerEnds[s]! < i) s++;
    return s;
  }

  /** Output of internal layer `i` from the last forward (`-1`: the input). */
  private outputOf(i: number): Floats {
    return i < 0 ? this.lastInput : this.outputs[i]!;
  }
}
