/**
 * Fuzz generators: valid bodies for every engine route, with samples, targets and weights that fit
 * the model, and the training options of POST /train.
 */
import { ANSWER_PARTS } from "../../src/schemas/answer-parts.js";
import {
  CLASSIFICATION_METRICS,
  CLASSIFIER_LOSSES,
  LOSSES,
  REGRESSION_METRICS,
  VECTOR_LOSSES,
} from "./gen-losses.js";
import { genModel, type ModelPlan, sizeOf } from "./gen-model.js";
import { genOptimizerFields, genRate } from "./gen-optimizers.js";
import { isObject, type Tree, type TreeObject } from "./json-text.js";
import type { Rand } from "./rand.js";

/** Nested arrays of `shape` filled by `value`. */
export function nested(shape: readonly number[], value: () => Tree): Tree {
  if (shape.length === 0) return value();
  const [n, ...rest] = shape;
  return Array.from({ length: n! }, () => nested(rest, value));
}

/** One sample of `shape`: nested, or flat of the same size (both accepted). */
function sample(r: Rand, shape: readonly number[], value: () => number): Tree {
  if (shape.length === 1 || r.bool(0.5)) return nested(shape, value);
  return Array.from({ length: sizeOf(shape) }, value);
}

export function genX(r: Rand, plan: ModelPlan): Tree {
  const ids = plan.tokenIds;
  return sample(r, plan.inputShape, ids === undefined ? () => r.num(-2, 2) : () => r.int(0, ids - 1));
}

/** A target fitting the loss: a label, a one-hot or probability vector, values in [0, 1], any. */
export function genY(r: Rand, plan: ModelPlan): Tree {
  const k = sizeOf(plan.outputShape);
  switch (plan.loss) {
    case "sparseCategoricalCrossentropy": {
      const label = r.int(0, k - 1);
      return r.bool(0.1) ? [label] : label;
    }
    case "categoricalCrossentropy": {
      if (r.bool(0.7)) {
        const hot = r.int(0, k - 1);
        return Array.from({ length: k }, (_, i) => (i === hot ? 1 : 0));
      }
      const raw = Array.from({ length: k }, () => r.num(0.01, 1));
      const total = raw.reduce((a, b) => a + b, 0);
      return raw.map((v) => Math.min(1, v / total));
    }
    case "binaryCrossentropy":
      if (k === 1 && r.bool(0.5)) return r.pick([0, 1]);
      return sample(r, plan.outputShape, () => (r.bool(0.5) ? r.pick([0, 1]) : r.num(0, 1)));
    case "categoricalHinge": {
      const hot = r.int(0, k - 1);
      return Array.from({ length: k }, (_, i) => (i === hot ? 1 : 0));
    }
    case "kullbackLeiblerDivergence": {
      const raw = Array.from({ length: k }, () => r.num(0, 1));
      const total = raw.reduce((a, b) => a + b, 0) || 1;
      return raw.map((v) => v / total);
    }
    case "hinge":
    case "squaredHinge": {
      const labels = r.pick([
        [-1, 1],
        [0, 1],
        [-1, 0, 1],
      ]);
      if (k === 1 && r.bool(0.5)) return r.pick(labels);
      return sample(r, plan.outputShape, () => r.pick(labels));
    }
    case "poisson":
      return sample(r, plan.outputShape, () => (r.bool(0.5) ? r.int(0, 5) : r.num(0, 5)));
    default:
      // meanSquaredError and the other regression losses: any target (0 included, for MAPE).
      if (k === 1 && r.bool(0.6)) return r.bool(0.1) ? 0 : r.num(-2, 2);
      return sample(r, plan.outputShape, () => (r.bool(0.1) ? 0 : r.num(-2, 2)));
  }
}

export function genWeights(r: Rand, plan: ModelPlan): TreeObject {
  const out: TreeObject = {};
  // A moving variance is a variance: ≥ 0.
  for (const p of plan.params)
    out[p.key] = nested(p.shape, () => (p.key.endsWith("/moving_variance") ? r.num(0, 2) : r.num(-1, 1)));
  return out;
}

export interface Generated {
  route: string;
  body: TreeObject;
  plan: ModelPlan;
}

/** A valid POST /train body: tiny model, ≤ 6 inline samples (or xor/iris), ≤ 5 epochs. */
export function genTrain(r: Rand): Generated {
  const named = r.bool(0.15) ? r.pick(["xor", "iris"] as const) : undefined;
  // A generated sequence set, small: its timesteps, samples and seed, a sequence model of 1 unit.
  const sequence =
    !named && r.bool(0.08)
      ? {
          name: r.pick(["addingProblem", "sineWave"] as const),
          timesteps: r.int(2, 6),
          samples: r.int(2, 12),
        }
      : undefined;
  const plan = named
    ? genModel(r, {
        inputShape: named === "xor" ? [2] : [4],
        outputUnits: named === "xor" ? 2 : 3,
        loss: r.pick(LOSSES),
      })
    : sequence
      ? genModel(r, {
          inputShape: [sequence.timesteps, sequence.name === "addingProblem" ? 2 : 1],
          outputUnits: 1,
          loss: "meanSquaredError",
        })
      : genModel(r);
  const n = named === "iris" ? 150 : named === "xor" ? 4 : sequence ? sequence.samples : r.int(1, 6);
  const body: TreeObject = {
    model: plan.model,
    dataset: named
      ? { name: named }
      : sequence
        ? { ...sequence, ...(r.bool(0.5) ? { seed: r.int(0, 2 ** 32 - 1) } : {}) }
        : {
            x: Array.from({ length: n }, () => genX(r, plan)),
            y: Array.from({ length: n }, () => genY(r, plan)),
          },
  };
  if (plan.linearRegression && r.bool(0.4)) {
    body.optimizer = { type: "normalEquation" };
    if (r.bool(0.5)) body.epochs = r.int(1, 5);
  } else {
    const type = r.pick(["sgd", "adam", "rmsprop", "adagrad", "adadelta", "adamax", "nadam", "adamw"]);
    const opt: TreeObject =
      type === "sgd" ? { type, learningRate: genRate(r, 0.5) } : { type, learningRate: genRate(r, 0.05) };
    if (type === "sgd" && r.bool(0.3)) opt.momentum = r.num(0, 0.95);
    if (type === "adam") {
      if (r.bool(0.2)) opt.beta1 = r.num(0, 0.99);
      if (r.bool(0.2)) opt.beta2 = r.num(0, 0.9999);
      if (r.bool(0.2)) opt.epsilon = r.num(1e-8, 1e-3);
    }
    genOptimizerFields(r, opt);
    body.optimizer = opt;
    body.epochs = r.int(1, 5);
  }
  if (r.bool(0.3)) body.batchSize = r.int(1, 8);
  if (r.bool(0.2)) body.shuffle = r.bool();
  if (r.bool(0.7)) body.seed = r.int(0, 2 ** 32 - 1);
  if (r.bool(0.3)) body.dtype = r.pick(["float64", "float32"]);
  const split = n >= 2 && r.bool(0.2) ? r.num(0.01, 0.4) : undefined;
  if (split !== undefined) body.validationSplit = split;
  if (r.bool(0.15)) body.initialWeights = genWeights(r, plan);
  if (r.bool(0.15)) body.telemetry = r.bool();
  if (r.bool(0.15) && body.optimizer && (body.optimizer as TreeObject).type !== "normalEquation") {
    const es: TreeObject = { monitor: split !== undefined && r.bool() ? "valLoss" : "loss" };
    if (r.bool(0.5)) es.patience = r.int(0, 3);
    if (r.bool(0.3)) es.minDelta = r.num(0, 0.01);
    if (r.bool(0.3)) es.restoreBestWeights = r.bool();
    body.earlyStopping = es;
  }
  if (r.bool(0.1)) body.returnOptimizerState = r.bool();
  genFitArguments(r, body, plan, n);
  genAnswerOptions(r, body);
  return { route: "/train", body, plan };
}

/**
 * The registry and the answer's parts: `saveModel` (true, false) and `return`, a few of the parts
 * (none, repeated, or all of them) in any order.
 */
function genAnswerOptions(r: Rand, body: TreeObject): void {
  if (r.bool(0.1)) body.saveModel = r.bool(0.7);
  if (r.bool(0.15)) body.return = Array.from({ length: r.int(0, 5) }, () => r.pick(ANSWER_PARTS));
}

/**
 * Keras' fit arguments on a valid body of `n` samples: `metrics` that apply to the loss (now and
 * then repeated), `sampleWeight` (not with normalEquation; sometimes all 0, all 1 or tiny or huge
 * weights) and, for a classifier with a vector output, `classWeight` over its classes.
 */
function genFitArguments(r: Rand, body: TreeObject, plan: ModelPlan, n: number): void {
  const classifier = CLASSIFIER_LOSSES.includes(plan.loss);
  if (r.bool(0.2)) {
    const names = classifier ? CLASSIFICATION_METRICS : REGRESSION_METRICS;
    body.metrics = Array.from({ length: r.int(0, 5) }, () => r.pick(names));
  }
  const closedForm = isObject(body.optimizer) && body.optimizer.type === "normalEquation";
  if (!closedForm && r.bool(0.15)) {
    const kind = r.pick(["random", "random", "zeros", "ones", "extreme"] as const);
    body.sampleWeight = Array.from({ length: n }, () =>
      kind === "zeros"
        ? 0
        : kind === "ones"
          ? 1
          : kind === "extreme"
            ? r.pick([5e-324, 1e-300, 1e6, 0])
            : r.num(0, 3),
    );
  }
  // classWeight needs one class per sample: a vector output (on [T, u] or an image it is a 422).
  if (classifier && plan.outputShape.length === 1 && r.bool(0.15)) {
    const k = sizeOf(plan.outputShape);
    const classes = k === 1 && !VECTOR_LOSSES.includes(plan.loss) ? 2 : k;
    const cw: TreeObject = {};
    for (let i = r.int(0, Math.min(classes, 4)); i > 0; i--)
      cw[String(r.int(0, classes - 1))] = r.bool(0.1) ? r.pick([0, 1e-300, 1e6]) : r.num(0, 5);
    body.classWeight = cw;
  }
}

/** A valid POST /gradients body: one sample and its target, given or seeded weights. */
export function genGradients(r: Rand): Generated {
  const plan = genModel(r);
  const body: TreeObject = { model: plan.model, x: genX(r, plan), y: genY(r, plan) };
  if (r.bool(0.4)) body.weights = genWeights(r, plan);
  if (r.bool(0.5)) body.seed = r.int(0, 2 ** 32 - 1);
  if (r.bool(0.3)) {
    body.numericalCheck = r.bool(0.5)
      ? r.bool(0.8)
      : r.bool(0.5)
        ? { method: r.pick(["central", "forward", "ridders"]) }
        : { method: r.pick(["central", "forward", "ridders"]), epsilon: r.num(1e-7, 0.01) };
  }
  if (r.bool(0.3)) body.training = r.bool();
  if (r.bool(0.3)) body.dtype = r.pick(["float64", "float32"]);
  return { route: "/gradients", body, plan };
}

/** A valid POST /predict body: the model, its full weights, 1–4 samples. */
export function genPredict(r: Rand): Generated {
  const plan = genModel(r);
  const n = r.int(1, 4);
  const body: TreeObject = {
    model: plan.model,
    weights: genWeights(r, plan),
    x: Array.from({ length: n }, () => genX(r, plan)),
  };
  if (r.bool(0.3)) body.dtype = r.pick(["float64", "float32"]);
  return { route: "/predict", body, plan };
}

export const genFor = { "/train": genTrain, "/gradients": genGradients, "/predict": genPredict } as const;
