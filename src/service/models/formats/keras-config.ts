/**
 * Reading one Keras layer config (docs/models.md, "Importing Keras/tfjs models"): `ConfigReader`
 * remembers the keys read and refuses the rest, `LayerOptionError` names the key, and the helpers
 * several layers share.
 */
import {
  activationFromKeras,
  constraintFromKeras,
  initializerFromKeras,
  KerasValueError,
  regularizerFromKeras,
} from "./keras-names.js";

/** The keys every layer may carry that say nothing about its computation. */
const NEUTRAL = new Set([
  "name",
  "batch_input_shape",
  "batch_shape",
  "input_shape",
  "dtype",
  "trainable",
  "batch_size",
]);

/** A problem at a key of the layer's config (`[..., "config", key]`). */
export class LayerOptionError extends Error {
  constructor(
    message: string,
    readonly key: (string | number)[],
  ) {
    super(message);
  }
}

/** Reads a layer's config, remembering which keys were read; `rest` checks the others. */
export class ConfigReader {
  private readonly read = new Set<string>(NEUTRAL);
  constructor(
    readonly cls: string,
    readonly cfg: Record<string, unknown>,
  ) {}

  /** The raw value (undefined when absent). */
  get(key: string): unknown {
    this.read.add(key);
    return this.cfg[key];
  }

  /** The value, or `dflt` when absent or null. */
  or<T>(key: string, dflt: T): T | unknown {
    const v = this.get(key);
    return v === undefined || v === null ? dflt : v;
  }

  /** A key that must hold Keras' default (or be absent/null) because the engine has no other. */
  fixed(key: string, allowed: unknown[], why: string): void {
    const v = this.get(key);
    if (v === undefined || v === null) return;
    if (!allowed.some((a) => JSON.stringify(a) === JSON.stringify(v)))
      throw new LayerOptionError(`${this.cls}: ${key} ${JSON.stringify(v)} is not supported (${why})`, [key]);
  }

  /** Runs a Keras-object conversion, naming this key (and the object's own key) on failure. */
  convert<T>(key: string, f: (v: unknown) => T): T {
    try {
      return f(this.get(key));
    } catch (e) {
      if (e instanceof KerasValueError)
        throw new LayerOptionError(`${this.cls}: ${key}: ${e.message}`, [key, ...e.key]);
      throw e;
    }
  }

  /** An activation name. */
  activation(key: string, hardSigmoidDiffers: boolean) {
    const v = this.get(key);
    const a = activationFromKeras(v ?? "linear");
    if (a === undefined || (hardSigmoidDiffers && a === "hardSigmoid"))
      throw new LayerOptionError(
        hardSigmoidDiffers && a === "hardSigmoid"
          ? `${this.cls}: Keras 3's hard_sigmoid is relu6(x + 3)/6, not the engine's (and tfjs') clip(0.2·x + 0.5, 0, 1)`
          : `${this.cls}: unsupported activation ${JSON.stringify(v)}; supported: linear, sigmoid, tanh, relu, softmax, elu, selu, softplus, softsign, relu6, hard_sigmoid, swish (silu), mish, gelu`,
        [key],
      );
    return a;
  }

  /**
   * One axis, which Keras writes as an integer or (Keras 2's BatchNormalization, tf.keras'
   * Softmax) a list of one: `[3]` is 3; `dflt` when absent or null.
   * @throws LayerOptionError for a list of several axes (the engine's layer takes one).
   */
  axis(key: string, dflt: number): unknown {
    const v = this.or(key, dflt);
    if (!Array.isArray(v)) return v;
    if (v.length === 1) return v[0];
    throw new LayerOptionError(
      `${this.cls}: ${key} ${JSON.stringify(v)} is not supported (one axis only, an integer or a list of one)`,
      [key],
    );
  }

  /** Refuses every key not read whose value is not null (an option the engine would ignore). */
  rest(): void {
    for (const [key, v] of Object.entries(this.cfg))
      if (!this.read.has(key) && v !== null && v !== undefined)
        throw new LayerOptionError(`${this.cls}: option ${key} = ${JSON.stringify(v)} is not supported`, [
          key,
        ]);
  }
}

/** Drops undefined fields (absent options stay absent). */
export function compact<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}

/** Dense's and Conv2D's weight options. */
export function weightOptions(r: ConfigReader) {
  r.fixed("bias_constraint", [], "the engine constrains only the kernel");
  return compact({
    kernelInitializer: r.convert("kernel_initializer", (v) =>
      v == null ? undefined : initializerFromKeras(v),
    ),
    biasInitializer: r.convert("bias_initializer", (v) => (v == null ? undefined : initializerFromKeras(v))),
    kernelRegularizer: r.convert("kernel_regularizer", regularizerFromKeras),
    biasRegularizer: r.convert("bias_regularizer", regularizerFromKeras),
    activityRegularizer: r.convert("activity_regularizer", regularizerFromKeras),
    kernelConstraint: r.convert("kernel_constraint", constraintFromKeras),
  });
}

export const size2d = (v: unknown): unknown =>
  Array.isArray(v) && v.length === 2 && v[0] === v[1] ? v[0] : v;

/** `data_format` must be channels_last (the engine's only layout). */
export const channelsLast = (r: ConfigReader) =>
  r.fixed("data_format", ["channels_last"], "the engine's images are channels_last");
