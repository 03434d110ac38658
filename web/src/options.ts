/**
 * The choices the form offers, as runtime lists: the activations, losses and optimisers of the
 * service's schemas (src/schemas/model.ts, optimizer.ts). Typed against the schemas' own types,
 * so a name the service does not take is a compile error and a name it adds but these lists
 * lack fails the compile-time checks below (and test/browser/options.test.ts compares them with
 * the schemas' enums at run time). Plain data: no DOM, so the test imports this file as is.
 */
import type { Activation, LossName, OptimizerType } from "./types.js";

/** A compile-time check: `Missing` must be `never`. */
type Complete<Missing> = [Missing] extends [never] ? true : { missing: Missing };
type Assert<T extends true> = T;

/** Every activation the schema's `Activation` enum takes, in the menu's order. */
export const ACTIVATIONS = [
  "tanh",
  "relu",
  "sigmoid",
  "linear",
  "elu",
  "selu",
  "softplus",
  "softsign",
  "relu6",
  "hardSigmoid",
  "swish",
  "mish",
  "gelu",
  "softmax",
] as const satisfies readonly Activation[];
export type _AllActivations = Assert<Complete<Exclude<Activation, (typeof ACTIVATIONS)[number]>>>;

/**
 * Advanced-activation layers offered in the activation menu: the row becomes a linear dense
 * layer followed by this layer (`prelu` has a trainable `<layer>/alpha`, shaped as its input).
 */
export const ACTIVATION_LAYERS = ["prelu", "leakyReLU"] as const;
export type ActivationLayer = (typeof ACTIVATION_LAYERS)[number];

/** Which data a loss fits: class labels, numeric targets, or both. */
export type LossFit = "classification" | "regression" | "both";

/**
 * The output layer a loss calls for with k classes (undefined: a numeric target, one unit).
 * A target is then the label when the layer has one unit or the loss takes labels, else one-hot.
 */
export interface OutputLayer {
  units: number;
  activation: Activation;
}

/** Probabilities: one sigmoid unit for two classes, else softmax over the classes. */
const probabilities = (k: number): OutputLayer =>
  k === 2 ? { units: 1, activation: "sigmoid" } : { units: k, activation: "softmax" };
const softmax = (k: number): OutputLayer => ({ units: k, activation: "softmax" });
/** Scores for the hinges: one linear unit for two classes (0/1 read as ±1), else one per class. */
const scores = (k: number): OutputLayer =>
  k === 2 ? { units: 1, activation: "linear" } : { units: k, activation: "linear" };

/**
 * Every loss of the schema's enum with the data it fits and, for classes, its output layer.
 * Regression (no classes) always gets one linear unit, but poisson, whose prediction must be
 * positive (`y − t log y`), gets a softplus one.
 */
export const LOSSES: Record<
  LossName,
  { label: string; fit: LossFit; classes?: (k: number) => OutputLayer; regression?: OutputLayer }
> = {
  sparseCategoricalCrossentropy: {
    label: "sparse categorical cross-entropy",
    fit: "classification",
    classes: softmax,
  },
  categoricalCrossentropy: { label: "categorical cross-entropy", fit: "classification", classes: softmax },
  // one sigmoid unit whatever the classes, as the form always had (more than 2 classes: the service's 422)
  binaryCrossentropy: {
    label: "binary cross-entropy",
    fit: "classification",
    classes: () => ({ units: 1, activation: "sigmoid" }),
  },
  meanSquaredError: { label: "mean squared error", fit: "both", classes: probabilities },
  meanAbsoluteError: { label: "mean absolute error", fit: "both", classes: probabilities },
  huber: { label: "huber", fit: "both", classes: probabilities },
  logcosh: { label: "log-cosh", fit: "both", classes: probabilities },
  hinge: { label: "hinge", fit: "classification", classes: scores },
  squaredHinge: { label: "squared hinge", fit: "classification", classes: scores },
  categoricalHinge: {
    label: "categorical hinge",
    fit: "classification",
    classes: (k) => ({ units: k, activation: "linear" }),
  },
  kullbackLeiblerDivergence: {
    label: "Kullback–Leibler divergence",
    fit: "classification",
    classes: softmax,
  },
  cosineProximity: { label: "cosine proximity", fit: "classification", classes: softmax },
  meanAbsolutePercentageError: { label: "mean absolute percentage error", fit: "regression" },
  meanSquaredLogarithmicError: { label: "mean squared logarithmic error", fit: "regression" },
  poisson: { label: "poisson", fit: "regression", regression: { units: 1, activation: "softplus" } },
};

/** The loss selected when the data changes kind and the chosen one does not fit. */
export const DEFAULT_LOSS = {
  classification: "sparseCategoricalCrossentropy",
  regression: "meanSquaredError",
} as const satisfies Record<"classification" | "regression", LossName>;

/** The losses that fit a data set with (`classes` given) or without class labels, in LOSSES' order. */
export function lossesFor(classes: boolean): LossName[] {
  const kind = classes ? "classification" : "regression";
  return (Object.keys(LOSSES) as LossName[]).filter(
    (n) => LOSSES[n].fit === kind || LOSSES[n].fit === "both",
  );
}

/**
 * The optimisers the form offers: every one of the schema's but `normalEquation`, the closed-form
 * least squares, which takes a single linear dense layer and no epochs (a job of it has no loss
 * curve or regions to draw).
 */
export const OPTIMIZERS = [
  "adam",
  "sgd",
  "rmsprop",
  "adagrad",
  "adadelta",
  "adamax",
  "nadam",
  "adamw",
] as const satisfies readonly OptimizerType[];
export const OPTIMIZERS_LEFT_OUT = ["normalEquation"] as const satisfies readonly OptimizerType[];
export type _AllOptimizers = Assert<
  Complete<Exclude<OptimizerType, (typeof OPTIMIZERS)[number] | (typeof OPTIMIZERS_LEFT_OUT)[number]>>
>;
export type FormOptimizer = (typeof OPTIMIZERS)[number];
