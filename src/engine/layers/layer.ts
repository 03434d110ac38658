import type { InitializerSpec } from "../initializers.js";
import type { ConstraintSpec, RegularizerName, RegularizerSpec } from "../regularizers.js";
import { buildingDtype, type Dtype, type Floats, floats, sizeOf } from "../tensor.js";
import { currentScope, takeStore } from "./buffer-pool.js";

/**
 * A trainable parameter: its value and the gradient accumulated into it, two arrays of the
 * same length (convnetjs' `{value, grad}` pair). `key` is the public name
 * `"<layerName>/<kernel|bias|alpha>"`.
 */
export interface Param {
  key: string;
  shape: number[];
  value: Floats;
  grad: Floats;
  /** Fan-in and fan-out, for Glorot initialisation; absent for biases and prelu's alpha (zeros). */
  fans?: { fanIn: number; fanOut: number };
  /** How it starts (default: Glorot-uniform with `fans`, zeros without); see `initializeParams`. */
  initializer?: InitializerSpec;
  /** Run on the value after `initializer` has filled it (lstm's `unitForgetBias` sets the forget gate's bias to 1). */
  afterInit?: (value: Floats) => void;
  /** Where `initializer` was given in the request, for errors (`["layers", 0, "kernelInitializer"]`). */
  initializerPath?: (string | number)[];
  /** A penalty `l1·Σ|w| + l2·Σw²` added to the loss (docs/backprop.md §16.2). */
  regularizer?: RegularizerSpec | RegularizerName;
  /** Applied to the value after every optimiser step (docs/backprop.md §16.3). */
  constraint?: ConstraintSpec;
}

/**
 * The layer contract (convnetjs): `forward` caches what `backward` needs; `backward` ADDS
 * its parameters' gradients into `Param.grad` and returns `∂L/∂X`. Buffers are owned by the
 * layer and reused: a returned array is valid until the next call of the same method.
 * All arrays are `[batch, ...shape]` row-major.
 */
export interface Layer {
  readonly name: string;
  readonly type: string;
  /** Per-sample input shape. */
  readonly inputShape: number[];
  /** Per-sample output shape. */
  readonly outputShape: number[];
  /**
   * Work of one sample's forward pass, in multiply-adds (comparisons for max pooling, element
   * operations for activations): what limits and budgets are computed from. Backward costs about twice this.
   */
  readonly forwardCost: number;
  /**
   * Doubles per sample the layer's own buffers hold, from its shapes alone: what memory limits
   * are computed from before anything is allocated (`ModelSummary.sampleValues`). `forward`: what
   * `forward` allocates (its output, conv2d's im2col columns, max pooling's argmax); `backward`:
   * what `backward` allocates when it computes `∂L/∂X` (that gradient, conv2d's column gradient).
   * A layer that returns its input, or a view of it, reports 0; a layer with parameters must
   * allocate nothing in `backward(…, needInputGrad = false)`. Every new layer reports both.
   */
  readonly sampleValues: SampleValues;
  params(): Param[];
  /** @param x `[batch, ...inputShape]` @returns `[batch, ...outputShape]` */
  forward(x: Floats, batch: number): Floats;
  /**
   * @param dy `∂L/∂Y`, `[batch, ...outputShape]` @returns `∂L/∂X`, `[batch, ...inputShape]`
   * @param needInputGrad default true; false when nothing reads `∂L/∂X` (the model's first layer
   *   with parameters: the input has no gradient), so the layer only accumulates its parameters'
   *   gradients and returns `NO_INPUT_GRAD`. For the first dense or conv layer that skips a
   *   product as large as the one giving `∂L/∂W` (and conv's col2im).
   */
  backward(dy: Floats, batch: number, needInputGrad?: boolean): Floats;
  /**
   * Only for layers that can back-propagate through the layer before them in the same pass (max
   * pooling through relu: docs/performance.md, "Convolution"): `prev.backward(this.backward(dy))`,
   * the same bits, without `prev`'s own pass; `∂L/∂X` of `prev`'s input, or undefined (nothing
   * computed) when `prev` is not one it can fuse. `Model.loss` calls it when nothing else needs the
   * gradient in between (no activity regulariser on `prev`).
   */
  backwardThrough?(prev: Layer, dy: Floats, batch: number): Floats | undefined;
  /**
   * Only for layers that behave differently in training and inference (dropout, batch
   * normalisation): how the next `forward` calls run. `Model.setMode` calls it; a layer without
   * it runs the same in every mode.
   */
  setMode?(mode: LayerMode): void;
  /**
   * Only for layers with non-trainable state (batch normalisation's `moving_mean` and
   * `moving_variance`): weights that are initialised, returned with the weights and loaded with them,
   * but get no gradient, no optimiser slot and no regulariser. Their `grad` is never read.
   */
  state?(): Param[];
  /**
   * How the layer treats a time-step mask (docs/backprop.md §21.1): `[batch, timesteps]`, 1 for a
   * real step and 0 for a masked one (Keras' `compute_mask` protocol). `Model.forward` carries it
   * from layer to layer:
   * - absent: the layer drops it (Keras' layers without `supports_masking`): the layers after it see none;
   * - `"pass"`: the output keeps the input's time steps one for one and the mask goes on unchanged
   *   (activations, dropout, the normalisations);
   * - `"make"`: the layer makes a new one, read with `outputMask()` after each `forward` (embedding with
   *   `maskZero`), whatever it received;
   * - `"consume"`: the layer reads it: `setMask` is called before each `forward` with the mask of its
   *   input (null for none); afterwards the mask is `outputMask()` when the layer has it, else dropped
   *   (globalAveragePooling1d averages over the real steps only and drops it).
   */
  readonly masking?: "pass" | "make" | "consume";
  /** Only with `masking` "make" (or "consume" that hands one on): the output's mask of the last `forward`, or null. */
  outputMask?(): Floats | null;
  /** Only with `masking` "consume": the mask of the next `forward`'s input, `[batch, timesteps]`, or null. */
  setMask?(mask: Floats | null): void;
}

/**
 * How the layers that behave differently in training and inference run a forward pass
 * (Keras' `training` argument).
 */
export interface LayerMode {
  /**
   * Training: dropout drops units and batch normalisation normalises with the batch's own
   * statistics. Inference: dropout is the identity and batch normalisation uses its moving statistics.
   */
  readonly training: boolean;
  /**
   * Batch normalisation folds the batch's statistics into its moving ones (a training step); false
   * where a forward pass only inspects (`/gradients`).
   */
  readonly updateStats: boolean;
  /**
   * Dropout reuses the mask it drew last instead of drawing a new one: a numerical gradient check
   * re-runs the same training pass many times.
   */
  readonly reuseMasks: boolean;
}

/** A training step's mode: what `fit` runs each batch in. */
export const TRAINING_STEP: LayerMode = { training: true, updateStats: true, reuseMasks: false };

/** Inference: predictions, validation and the final metrics (every model's default mode). */
export const INFERENCE: LayerMode = { training: false, updateStats: false, reuseMasks: false };

/** A layer's buffer sizes per sample, in doubles (see `Layer.sampleValues`). */
export interface SampleValues {
  readonly forward: number;
  readonly backward: number;
}

/** What `backward(…, needInputGrad = false)` returns: an empty array, never written. */
export const NO_INPUT_GRAD = new Float64Array(0);

/**
 * A reusable buffer of `batch · size` values: grows when a larger batch arrives, and hands
 * out a view of exactly the needed length otherwise, so the training loop does not allocate.
 * Its memory comes from `takeStore`: reused from an earlier `train()` call when built inside
 * `withRecycledBuffers`.
 */
export class Buffer {
  private store: Floats;
  /** The last view handed out, reused while the batch size stays the same (no allocation per step). */
  private view: Floats;
  /** The `withRecycledBuffers` call this buffer was built in, if any: where its memory comes from. */
  private readonly scope = currentScope();
  /**
   * @param dtype of the values held: by default that of the model being built (`layerFloats`,
   *   docs/precision.md); float64 for what must stay exact whatever the run's dtype (indices).
   */
  constructor(
    private readonly size: number,
    private readonly dtype: Dtype = buildingDtype(),
  ) {
    this.store = floats(dtype, 0);
    this.view = this.store;
  }
  get(batch: number): Floats {
    const n = batch * this.size;
    if (this.view.length === n) return this.view;
    if (this.store.length < n)
      this.store =
        this.dtype === "float32"
          ? new Float32Array(takeStore(n * 4, this.scope), 0, n)
          : new Float64Array(takeStore(n * 8, this.scope), 0, n);
    this.view = this.store.length === n ? this.store : this.store.subarray(0, n);
    return this.view;
  }
}

/**
 * `Buffer` for indices: `batch · size` Int32Arrays (4 bytes a value whatever the model's dtype),
 * from the same store. For indices below 2³¹ (`MaxPooling2d`'s argmax into its input).
 */
export class IndexBuffer {
  private store = new Int32Array(0);
  private view = this.store;
  private readonly scope = currentScope();
  constructor(private readonly size: number) {}
  get(batch: number): Int32Array {
    const n = batch * this.size;
    if (this.view.length === n) return this.view;
    if (this.store.length < n) this.store = new Int32Array(takeStore(n * 4, this.scope), 0, n);
    this.view = this.store.length === n ? this.store : this.store.subarray(0, n);
    return this.view;
  }
}

/**
 * What every layer that maps each input value to one output value (the activation layers) keeps:
 * the output shaped as the input, `costPerValue` element operations per value as its
 * `forwardCost`, a buffer for the output and one for `∂L/∂X`, and no parameters unless a subclass
 * overrides `params`.
 */
export abstract class ShapePreservingLayer implements Layer {
  abstract readonly type: string;
  readonly outputShape: number[];
  readonly forwardCost: number;
  readonly sampleValues: SampleValues;
  /** `forward`'s output. */
  protected readonly out: Buffer;
  /** `backward`'s `∂L/∂X`. */
  protected readonly dx: Buffer;

  constructor(
    readonly name: string,
    readonly inputShape: number[],
    costPerValue = 1,
  ) {
    this.outputShape = [...inputShape];
    const size = sizeOf(inputShape);
    this.forwardCost = costPerValue * size;
    this.sampleValues = { forward: size, backward: size };
    this.out = new Buffer(size);
    this.dx = new Buffer(size);
  }

  /** Element by element: a time-step mask goes on unchanged (Keras' activations support masking). */
  readonly masking: "pass" = "pass";

  params(): Param[] {
    return [];
  }

  abstract forward(x: Floats, batch: number): Floats;
  abstract backward(dy: Floats, batch: number, needInputGrad?: boolean): Floats;
}
