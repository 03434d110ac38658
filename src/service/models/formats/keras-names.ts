/**
 * The Keras vocabulary both ways (docs/models.md): activation, initialiser, regulariser,
 * constraint and loss names of the engine's language as tfjs-layers 4.22 serialises them into a
 * `model.json` (snake_case, `{ class_name, config }` objects), and what is read back.
 */
import type {
  ActivationName,
  ConstraintSpec,
  InitializerSpec,
  LossName,
  LossSpec,
  RegularizerName,
  RegularizerSpec,
} from "../../../engine/index.js";
import { ELEMENTWISE_NAMES, NAMED_VARIANCE_SCALING } from "../../../engine/index.js";
import { LOSS_NAMES as SCHEMA_LOSS_NAMES } from "../../../schemas/model.js";

/** A Keras serialised object. */
export interface KerasObject {
  class_name: string;
  config: Record<string, unknown>;
}

/** `hardSigmoid` → `hard_sigmoid` (tfjs' `toSnakeCase` for the names used here). */
export function snake(name: string): string {
  return name.replace(/([a-z0-9])([A-Z])/g, "$1_$2").toLowerCase();
}

/** `hard_sigmoid` → `hardSigmoid` (tfjs' `toCamelCase`). */
export function camel(name: string): string {
  return name.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}

/** The engine's activations, every one of which tfjs-layers has under the same definition. */
export const ACTIVATION_NAMES: readonly ActivationName[] = [
  "linear",
  "sigmoid",
  "tanh",
  "relu",
  "softmax",
  ...ELEMENTWISE_NAMES,
];

/** An activation as Keras names it: `hardSigmoid` → `"hard_sigmoid"`. */
export function kerasActivation(name: ActivationName | undefined): string {
  return snake(name ?? "linear");
}

/** Keras' activation name (or tfjs' camelCase, or Keras 3's `silu`) as the engine's, or undefined. */
export function activationFromKeras(name: unknown): ActivationName | undefined {
  if (name === null) return "linear";
  if (typeof name !== "string") return undefined;
  const c = name === "silu" ? "swish" : camel(name);
  return (ACTIVATION_NAMES as readonly string[]).includes(c) ? (c as ActivationName) : undefined;
}

/** The variance-scaling triples the named initialisers stand for (the engine's own table). */
const SCALED = NAMED_VARIANCE_SCALING;

/**
 * An initialiser as tfjs writes it: the Glorot, He and LeCun ones as `VarianceScaling` with their
 * triple (tfjs serialises them so), the others under their Keras class names with every argument.
 */
export function kerasInitializer(spec: InitializerSpec): KerasObject {
  const s = (typeof spec === "string" ? { type: spec } : spec) as Record<string, unknown> & { type: string };
  const scaled = SCALED[s.type];
  if (scaled)
    return {
      class_name: "VarianceScaling",
      config: {
        scale: scaled.scale,
        mode: snake(scaled.mode),
        distribution: scaled.distribution,
        seed: null,
      },
    };
  switch (s.type) {
    case "zeros":
      return { class_name: "Zeros", config: {} };
    case "ones":
      return { class_name: "Ones", config: {} };
    case "constant":
      return { class_name: "Constant", config: { value: s.value } };
    case "randomNormal":
    case "truncatedNormal":
      return {
        class_name: s.type === "randomNormal" ? "RandomNormal" : "TruncatedNormal",
        config: { mean: s.mean ?? 0, stddev: s.stddev ?? 0.05, seed: null },
      };
    case "randomUniform":
      return {
        class_name: "RandomUniform",
        config: { minval: s.minval ?? -0.05, maxval: s.maxval ?? 0.05, seed: null },
      };
    case "orthogonal":
      return { class_name: "Orthogonal", config: { gain: s.gain ?? 1, seed: null } };
    default:
      return {
        class_name: "VarianceScaling",
        config: {
          scale: s.scale ?? 1,
          mode: snake((s.mode as string | undefined) ?? "fanIn"),
          distribution: snake((s.distribution as string | undefined) ?? "normal"),
          seed: null,
        },
      };
  }
}

/** A problem with a Keras object: the message, and the key below it at fault (if any). */
export class KerasValueError extends Error {
  constructor(
    message: string,
    readonly key: (string | number)[] = [],
  ) {
    super(message);
  }
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);

/** `{ class_name, config }` of a Keras object (config `{}` when absent). */
function kerasObject(v: unknown, what: string): { cls: string; cfg: Record<string, unknown> } {
  if (!isObject(v) || typeof v.class_name !== "string")
    throw new KerasValueError(`expected a Keras ${what} ({ class_name, config }), got ${JSON.stringify(v)}`);
  return { cls: v.class_name, cfg: isObject(v.config) ? v.config : {} };
}

const numberAt = (cfg: Record<string, unknown>, key: string, dflt: number): number => {
  const v = cfg[key] ?? dflt;
  if (typeof v !== "number")
    throw new KerasValueError(`expected a number, got ${JSON.stringify(v)}`, ["config", key]);
  return v;
};

/** Keras' initialiser class names (tfjs' spellings too) that this service reads. */
export const INITIALIZER_CLASSES = [
  "Zeros",
  "Ones",
  "Constant",
  "RandomNormal",
  "RandomUniform",
  "TruncatedNormal",
  "Orthogonal",
  "VarianceScaling",
  "GlorotUniform",
  "GlorotNormal",
  "HeNormal",
  "HeUniform",
  "LecunNormal",
  "LecunUniform",
];

/**
 * A Keras initialiser (a `{ class_name, config }` or a snake_case name) as the engine's. A
 * `VarianceScaling` triple of a named initialiser becomes its name. Seeds are not kept: the
 * engine draws every initialiser from the request's seed.
 * @throws KerasValueError for a class or argument the engine does not have.
 */
export function initializerFromKeras(v: unknown): InitializerSpec {
  const { cls, cfg } = typeof v === "string" ? { cls: v, cfg: {} } : kerasObject(v, "initializer");
  const name = camel(cls.charAt(0).toLowerCase() + cls.slice(1)).replace(/^lecun/, "leCun");
  if (name in SCALED || name === "zeros" || name === "ones") return name as InitializerSpec;
  switch (name) {
    case "constant":
      return { type: "constant", value: numberAt(cfg, "value", 0) };
    case "randomNormal":
    case "truncatedNormal":
      return { type: name, mean: numberAt(cfg, "mean", 0), stddev: numberAt(cfg, "stddev", 0.05) };
    case "randomUniform":
      return { type: name, minval: numberAt(cfg, "minval", -0.05), maxval: numberAt(cfg, "maxval", 0.05) };
    case "orthogonal":
      return { type: name, gain: numberAt(cfg, "gain", 1) };
    case "varianceScaling": {
      const scale = numberAt(cfg, "scale", 1);
      const mode = camel(String(cfg.mode ?? "fan_in"));
      // Keras 2 spells tfjs' truncated "normal" as "truncated_normal"; "untruncated_normal" has no match.
      const distribution = camel(String(cfg.distribution ?? "truncated_normal"));
      if (!["fanIn", "fanOut", "fanAvg"].includes(mode))
        throw new KerasValueError(`expected mode "fan_in", "fan_out" or "fan_avg"`, ["config", "mode"]);
      if (!["normal", "uniform", "truncatedNormal"].includes(distribution))
        throw new KerasValueError(`expected distribution "normal", "uniform" or "truncated_normal"`, [
          "config",
          "distribution",
        ]);
      const named = Object.entries(SCALED).find(
        ([, t]) => t.scale === scale && t.mode === mode && t.distribution === distribution,
      );
      if (named) return named[0] as InitializerSpec;
      return { type: "varianceScaling", scale, mode, distribution } as InitializerSpec;
    }
  }
  throw new KerasValueError(
    `unsupported initializer ${JSON.stringify(cls)}; supported: ${INITIALIZER_CLASSES.join(", ")}`,
    ["class_name"],
  );
}

/** Named regularisers' coefficients (Keras' `L1`/`L2` default 0.01, tfjs' `l1l2`). */
const REGULARIZER_VALUES: Record<RegularizerName, { l1: number; l2: number }> = {
  l1: { l1: 0.01, l2: 0 },
  l2: { l1: 0, l2: 0.01 },
  l1l2: { l1: 0.01, l2: 0.01 },
};

/** A regulariser as tfjs writes it: `L1L2` with both coefficients; null for none. */
export function kerasRegularizer(spec: RegularizerSpec | RegularizerName | undefined): KerasObject | null {
  if (spec === undefined) return null;
  const r = typeof spec === "string" ? REGULARIZER_VALUES[spec] : spec;
  return { class_name: "L1L2", config: { l1: r.l1 ?? 0, l2: r.l2 ?? 0 } };
}

/**
 * A Keras regulariser (`L1L2`, `L1`, `L2`, or the names "l1", "l2", "l1_l2") as `{ l1, l2 }`;
 * undefined for null.
 * @throws KerasValueError for another class.
 */
export function regularizerFromKeras(v: unknown): RegularizerSpec | undefined {
  if (v === null || v === undefined) return undefined;
  if (typeof v === "string") {
    const r = REGULARIZER_VALUES[camel(v).replace("l1L2", "l1l2") as RegularizerName];
    if (r) return { ...r };
    throw new KerasValueError(`unsupported regularizer ${JSON.stringify(v)}; supported: "l1", "l2", "l1_l2"`);
  }
  const { cls, cfg } = kerasObject(v, "regularizer");
  if (cls === "L1L2") return { l1: numberAt(cfg, "l1", 0), l2: numberAt(cfg, "l2", 0) };
  if (cls === "L1") return { l1: numberAt(cfg, "l1", 0.01), l2: 0 };
  if (cls === "L2") return { l1: 0, l2: numberAt(cfg, "l2", 0.01) };
  throw new KerasValueError(`unsupported regularizer ${JSON.stringify(cls)}; supported: L1L2, L1, L2`, [
    "class_name",
  ]);
}

/** A kernel constraint as tfjs writes it (`MaxNorm`, `NonNeg`, `UnitNorm`); null for none. */
export function kerasConstraint(spec: ConstraintSpec | undefined): KerasObject | null {
  if (spec === undefined) return null;
  const c = (typeof spec === "string" ? { type: spec } : spec) as {
    type: string;
    maxValue?: number;
    axis?: unknown;
  };
  if (c.type === "nonNeg") return { class_name: "NonNeg", config: {} };
  if (c.type === "unitNorm") return { class_name: "UnitNorm", config: { axis: c.axis ?? 0 } };
  return { class_name: "MaxNorm", config: { max_value: c.maxValue ?? 2, axis: c.axis ?? 0 } };
}

/**
 * A Keras kernel constraint as the engine's; undefined for null.
 * @throws KerasValueError for another class (`MinMaxNorm`, …).
 */
export function constraintFromKeras(v: unknown): ConstraintSpec | undefined {
  if (v === null || v === undefined) return undefined;
  const { cls, cfg } = kerasObject(v, "constraint");
  const axis = (cfg.axis ?? 0) as number | number[];
  if (cls === "NonNeg") return { type: "nonNeg" };
  if (cls === "UnitNorm") return { type: "unitNorm", axis };
  if (cls === "MaxNorm") return { type: "maxNorm", maxValue: numberAt(cfg, "max_value", 2), axis };
  throw new KerasValueError(
    `unsupported constraint ${JSON.stringify(cls)}; supported: MaxNorm, NonNeg, UnitNorm`,
    ["class_name"],
  );
}

/** The losses tfjs' `compile` knows by name (tfjs-layers' `lossesMap`). */
export const TFJS_LOSSES = new Set([
  "meanSquaredError",
  "meanAbsoluteError",
  "meanAbsolutePercentageError",
  "meanSquaredLogarithmicError",
  "squaredHinge",
  "hinge",
  "categoricalHinge",
  "logcosh",
  "categoricalCrossentropy",
  "sparseCategoricalCrossentropy",
  "binaryCrossentropy",
  "kullbackLeiblerDivergence",
  "poisson",
  "cosineProximity",
]);

/**
 * The loss as Keras writes it in `training_config.loss`: the snake_case name without options
 * (`"sparse_categorical_crossentropy"`), else `{ class_name, config }` with the options in Keras'
 * keys (`from_logits`, `label_smoothing`, `delta`).
 */
export function kerasLoss(loss: LossSpec): string | KerasObject {
  if (typeof loss === "string") return snake(loss);
  const { type, ...options } = loss as { type: string } & Record<string, unknown>;
  if (Object.keys(options).length === 0) return snake(type);
  const config = Object.fromEntries(
    Object.keys(options)
      .sort()
      .map((k) => [snake(k), options[k]]),
  );
  return { class_name: type.charAt(0).toUpperCase() + type.slice(1), config };
}

/** Keras' other spellings of the engine's losses. */
const LOSS_ALIASES: Record<string, string> = {
  mse: "meanSquaredError",
  mae: "meanAbsoluteError",
  mape: "meanAbsolutePercentageError",
  msle: "meanSquaredLogarithmicError",
  huberLoss: "huber",
  logCosh: "logcosh",
  klDivergence: "kullbackLeiblerDivergence",
  kld: "kullbackLeiblerDivergence",
  cosineSimilarity: "cosineProximity",
};

/** The engine's losses (the schema's list; the check below fails to compile when one is missing). */
const LOSS_NAMES = SCHEMA_LOSS_NAMES satisfies readonly LossName[];
type MissingLoss = Exclude<LossName, (typeof LOSS_NAMES)[number]>;
const everyLoss: MissingLoss extends never ? true : MissingLoss = true;
void everyLoss;

/** The Keras loss names read, for messages: each loss's snake_case name, with its aliases. */
export const KERAS_LOSS_NAMES = LOSS_NAMES.map((n) => {
  const aliases = Object.keys(LOSS_ALIASES)
    .filter((a) => LOSS_ALIASES[a] === n)
    .map(snake);
  return aliases.length > 0 ? `${snake(n)} (${aliases.join(", ")})` : snake(n);
}).join(", ");

/** The engine's loss for a Keras name (snake_case, camelCase or an alias). @throws KerasValueError. */
function lossName(name: string, key: (string | number)[]): LossName {
  const c = camel(name.charAt(0).toLowerCase() + name.slice(1));
  const type = LOSS_ALIASES[c] ?? c;
  if ((LOSS_NAMES as readonly string[]).includes(type)) return type as LossName;
  throw new KerasValueError(`unsupported loss ${JSON.stringify(name)}; supported: ${KERAS_LOSS_NAMES}`, key);
}

/**
 * A Keras/tfjs loss (a snake_case or camelCase name, or `{ class_name, config }`) as a `LossSpec`
 * candidate (checked by `LossSchema` afterwards): options `from_logits`, `label_smoothing`, `delta`
 * kept (camelCase); Keras' `reduction`, `name`, `axis` (at its default) and null options dropped.
 * An option the loss does not have stays, for `LossSchema` to refuse (the caller names it by
 * its Keras key, `snake`).
 * @throws KerasValueError for a name or class that is not one of the engine's losses (listing
 *   `KERAS_LOSS_NAMES`), or something that is not a loss.
 */
export function lossFromKeras(v: unknown): unknown {
  if (typeof v === "string") return lossName(v, []);
  const { cls, cfg } = kerasObject(v, "loss");
  const type = lossName(cls, ["class_name"]);
  const out: Record<string, unknown> = { type };
  for (const [key, value] of Object.entries(cfg)) {
    if (key === "name" || key === "reduction" || key === "dtype" || value === null) continue;
    if (key === "axis" && (value === -1 || value === null)) continue;
    out[camel(key)] = value;
  }
  return Object.keys(out).length === 1 ? type : out;
}
