/**
 * Request generators for the fuzz suite: valid (small) models with fitting data and weights for
 * every engine route, and mutations that break one or several fields or the whole envelope.
 * Everything draws from fast-check's `gen()`, so a failing case is replayed from the seed and
 * shrunk (integers shrink towards their minimum: fewer layers, smaller shapes, earlier choices).
 */
import fc from "fast-check";
import {
  cloneTree,
  getOwn,
  isObject,
  Raw,
  setOwn,
  type Tree,
  type TreeObject,
  toJsonText,
} from "./json-text.js";

/** A thin, typed face over `fc.gen()`. */
export interface Rand {
  int(min: number, max: number): number;
  /** True with probability `p`. */
  bool(p?: number): boolean;
  pick<T>(xs: readonly T[]): T;
  num(min: number, max: number): number;
}

export function rand(g: fc.GeneratorValue): Rand {
  return {
    int: (min, max) => g(fc.integer, { min, max }),
    bool: (p = 0.5) => g(fc.integer, { min: 0, max: 999 }) < p * 1000,
    pick: <T>(xs: readonly T[]) => xs[g(fc.integer, { min: 0, max: xs.length - 1 })] as T,
    num: (min, max) => g(fc.double, { min, max, noNaN: true, noDefaultInfinity: true }),
  };
}

export const ACTIVATIONS = [
  "linear",
  "sigmoid",
  "tanh",
  "relu",
  "softmax",
  "elu",
  "selu",
  "softplus",
  "softsign",
  "relu6",
  "hardSigmoid",
  "swish",
  "mish",
  "gelu",
] as const;
/** The activation layers with options of their own. */
export const ACTIVATION_LAYERS = ["leakyReLU", "prelu", "elu", "softmax"] as const;
/** The normalisation layers (docs/backprop.md §19). */
export const NORMALIZATION_LAYERS = ["batchNormalization", "layerNormalization"] as const;
/** The shape layers (no parameters): global pooling, reshape, zero padding. */
export const SHAPE_LAYERS = [
  "globalAveragePooling2d",
  "globalMaxPooling2d",
  "reshape",
  "zeroPadding2d",
] as const;
export const LOSSES = [
  "meanSquaredError",
  "categoricalCrossentropy",
  "sparseCategoricalCrossentropy",
  "binaryCrossentropy",
  "meanAbsoluteError",
  "meanAbsolutePercentageError",
  "meanSquaredLogarithmicError",
  "huber",
  "logcosh",
  "hinge",
  "squaredHinge",
  "categoricalHinge",
  "kullbackLeiblerDivergence",
  "poisson",
  "cosineProximity",
] as const;
export type Loss = (typeof LOSSES)[number];

const CROSSENTROPIES: readonly Loss[] = [
  "categoricalCrossentropy",
  "sparseCategoricalCrossentropy",
  "binaryCrossentropy",
];
/** The classifiers' losses: classWeight and the classification metrics apply to them. */
const CLASSIFIER_LOSSES: readonly Loss[] = [...CROSSENTROPIES, "hinge", "squaredHinge", "categoricalHinge"];
/** `metrics` for a classifier's loss and for the others (docs/backprop.md §20.3). */
const CLASSIFICATION_METRICS = ["accuracy", "precision", "recall", "auc"] as const;
const REGRESSION_METRICS = ["meanAbsoluteError", "meanSquaredError", "rootMeanSquaredError", "r2"] as const;

/** Losses that read a sample's output as one vector (the model must end on a vector). */
const VECTOR_LOSSES: readonly Loss[] = [
  "categoricalCrossentropy",
  "sparseCategoricalCrossentropy",
  "categoricalHinge",
  "kullbackLeiblerDivergence",
  "cosineProximity",
];

/**
 * The loss as the request writes it: its name, or the object form with options, sometimes at
 * their extremes (labelSmoothing 0 or 1, a delta of 1e-300 or 1e300).
 */
function genLoss(r: Rand, loss: Loss): { tree: Tree; fromLogits: boolean } {
  if (r.bool(0.5)) return { tree: loss, fromLogits: false };
  const o: TreeObject = { type: loss };
  let fromLogits = false;
  if (CROSSENTROPIES.includes(loss)) {
    if (r.bool(0.5)) {
      fromLogits = r.bool(0.6);
      o.fromLogits = fromLogits;
    }
    if (r.bool(0.5)) o.labelSmoothing = r.bool(0.2) ? r.pick([0, 1]) : r.num(0, 1);
  }
  if (loss === "huber" && r.bool(0.7)) o.delta = r.bool(0.2) ? r.pick([1e-300, 1e300]) : r.num(0.01, 5);
  return { tree: o, fromLogits };
}

export interface ParamShape {
  key: string;
  shape: number[];
  /** A non-trainable weight (batch normalisation's moving statistics): in `weights`, not in `gradients`. */
  state?: boolean;
}

/** A valid model and what the test knows about it. */
export interface ModelPlan {
  model: TreeObject;
  loss: Loss;
  inputShape: number[];
  outputShape: number[];
  /** Every weight key with its shape, as the service names them. */
  params: ParamShape[];
  /** One dense layer, linear, meanSquaredError: normalEquation applies. */
  linearRegression: boolean;
  /**
   * The batchNormalization layers with one value per channel in a sample (a dense layer's
   * features, a 1×1 image): /gradients in training mode warns about each.
   */
  oneValueBatchNorm: string[];
}

const sizeOf = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

/** Output extent of a window along one axis (Keras). */
function windowOut(extent: number, window: number, stride: number, padding: "valid" | "same"): number {
  return padding === "same" ? Math.ceil(extent / stride) : Math.floor((extent - window) / stride) + 1;
}

/** An integer or, sometimes, the [h, w] pair form of it. */
function sizeForm(r: Rand, h: number, w: number): Tree {
  return h === w && r.bool(0.7) ? h : [h, w];
}

/** A regulariser `{l1?, l2?}`, now and then with an extreme coefficient, or by name (`"l2"`). */
function genRegularizer(r: Rand): Tree {
  if (r.bool(0.15)) return r.pick(["l1", "l2", "l1l2"]);
  const reg: TreeObject = {};
  const coef = () => (r.bool(0.1) ? r.pick([0, 1e-300, 5e-324]) : r.num(0, 0.5));
  if (r.bool(0.6)) reg.l1 = coef();
  if (r.bool(0.6)) reg.l2 = coef();
  return reg;
}

/** An initialiser, by name or with arguments (tiny ones included; huge ones are `extremeRequest`'s). */
function genInitializer(r: Rand): Tree {
  const names = [
    "glorotUniform",
    "glorotNormal",
    "heNormal",
    "heUniform",
    "leCunNormal",
    "leCunUniform",
    "zeros",
    "ones",
    "randomNormal",
    "randomUniform",
    "truncatedNormal",
    "orthogonal",
    "varianceScaling",
  ];
  if (r.bool(0.5)) return r.pick(names);
  const big = () => (r.bool(0.15) ? r.pick([5e-324, -1e-300, 1e-300]) : r.num(-2, 2));
  switch (r.int(0, 6)) {
    case 0:
      return { type: "constant", value: big() };
    case 1:
      return { type: r.pick(["randomNormal", "truncatedNormal"]), mean: big(), stddev: Math.abs(big()) };
    case 2: {
      const a = big();
      const b = big();
      return { type: "randomUniform", minval: Math.min(a, b), maxval: Math.max(a, b) };
    }
    case 3:
      return { type: "orthogonal", gain: big() };
    case 4:
      return {
        type: "varianceScaling",
        scale: Math.abs(big()),
        mode: r.pick(["fanIn", "fanOut", "fanAvg"]),
        distribution: r.pick(["normal", "uniform", "truncatedNormal"]),
      };
    default:
      return { type: r.pick(names.slice(0, 8)) };
  }
}

/**
 * Now and then, initialisers, regularisers and a kernel constraint on a dense (rank 2 kernel) or
 * conv2d (rank 4) layer. @returns whether a penalty or constraint was added (no longer plain least squares).
 */
function genWeightOptions(r: Rand, layer: TreeObject, rank: number): boolean {
  if (r.bool(0.2)) layer.kernelInitializer = genInitializer(r);
  if (r.bool(0.1)) {
    // orthogonal needs a matrix: a bias (rank 1) is refused with a 422.
    const init = genInitializer(r);
    if (init !== "orthogonal" && !(isObject(init) && init.type === "orthogonal"))
      layer.biasInitializer = init;
  }
  let changed = false;
  for (const field of ["kernelRegularizer", "biasRegularizer", "activityRegularizer"])
    if (r.bool(0.12)) {
      layer[field] = genRegularizer(r);
      changed = true;
    }
  if (r.bool(0.12)) {
    const axis = (): Tree => (rank === 4 && r.bool(0.5) ? [0, 1, 2] : r.int(-rank, rank - 1));
    layer.kernelConstraint = r.pick<Tree>([
      "maxNorm",
      "nonNeg",
      "unitNorm",
      { type: "maxNorm", maxValue: r.num(0, 3), axis: axis() },
      { type: "unitNorm", axis: axis() },
      { type: "nonNeg" },
    ]);
    changed = true;
  }
  return changed;
}

/**
 * A small valid model: an MLP or a CNN (conv2d, pooling, zero padding, reshape; flatten, global
 * pooling or reshape to a vector), hidden activations of every kind, and an output that fits the loss (a cross-entropy ends in softmax or sigmoid).
 */
export function genModel(
  r: Rand,
  fixed: { inputShape?: number[]; outputUnits?: number; loss?: Loss } = {},
): ModelPlan {
  const loss = fixed.loss ?? r.pick(LOSSES);
  const { tree: lossTree, fromLogits } = genLoss(r, loss);
  const units =
    fixed.outputUnits ??
    (loss === "sparseCategoricalCrossentropy" || loss === "categoricalCrossentropy"
      ? r.int(2, 3)
      : r.int(1, 3));
  const cnn = fixed.inputShape ? fixed.inputShape.length === 3 : r.bool(0.35);
  const inputShape = fixed.inputShape ?? (cnn ? [r.int(2, 5), r.int(2, 5), r.int(1, 2)] : [r.int(1, 4)]);
  const layers: TreeObject[] = [];
  const params: ParamShape[] = [];
  let shape = [...inputShape];
  const names = new Set<string>();
  const oneValueBatchNorm: string[] = [];
  let penalised = false;
  const nameFor = (type: string, layer: TreeObject): string => {
    const index = layers.length;
    let name = `${type}_${index}`;
    if (r.bool(0.15)) {
      const custom = r.pick(["hidden", "out", "conv.a", "L-1", "x_y"]);
      if (!names.has(custom) && !/^[a-zA-Z]+_\d+$/.test(custom)) {
        name = custom;
        layer.name = custom;
      }
    }
    names.add(name);
    return name;
  };
  const optional = <T extends Tree>(layer: TreeObject, key: string, value: T, p = 0.5) => {
    if (r.bool(p)) layer[key] = value;
  };
  const dense = (n: number, activation?: string) => {
    const layer: TreeObject = { type: "dense", units: n };
    if (activation !== undefined) layer.activation = activation;
    const useBias = r.bool(0.85);
    if (!useBias || r.bool(0.2)) layer.useBias = useBias;
    if (genWeightOptions(r, layer, 2)) penalised = true;
    const name = nameFor("dense", layer);
    params.push({ key: `${name}/kernel`, shape: [shape[0]!, n] });
    if (useBias) params.push({ key: `${name}/bias`, shape: [n] });
    layers.push(layer);
    shape = [n];
  };
  const activationLayer = (activation: string) => {
    const layer: TreeObject = { type: "activation", activation };
    nameFor("activation", layer);
    layers.push(layer);
  };
  // leakyReLU, prelu (its alpha shaped as the input, 1 along sharedAxes), elu or softmax.
  const activationKindLayer = () => {
    const type = r.pick(ACTIVATION_LAYERS);
    const layer: TreeObject = { type };
    if (type === "leakyReLU" || type === "elu")
      optional(layer, "alpha", r.pick([0.3, 0.01, 1, 2.5, -0.5, 0]));
    if (type === "softmax") optional(layer, "axis", r.pick([-1, shape.length]));
    let alphaShape = [...shape];
    if (type === "prelu" && r.bool(0.5)) {
      const axes = shape.map((_, k) => k + 1).filter(() => r.bool(0.5));
      layer.sharedAxes = axes.length === 1 && r.bool(0.5) ? axes[0]! : axes;
      alphaShape = shape.map((d, k) => (axes.includes(k + 1) ? 1 : d));
    }
    const name = nameFor(type, layer);
    if (type === "prelu") params.push({ key: `${name}/alpha`, shape: alphaShape });
    layers.push(layer);
  };
  // batchNormalization or layerNormalization on the current shape, options at their edges
  // (momentum 0 and 1, center and scale off, axes written positive or negative, lists out of order).
  const normalizationLayer = () => {
    const type = r.pick(NORMALIZATION_LAYERS);
    const layer: TreeObject = { type };
    const rank = shape.length;
    // An axis of [batch, ...shape] (1 … rank), written as is or counted from the end.
    const written = (a: number) => (r.bool(0.4) ? a - rank - 1 : a);
    let axes = [rank];
    if (r.bool(0.5)) {
      if (type === "layerNormalization" && rank > 1 && r.bool(0.5)) {
        axes = [...new Set(Array.from({ length: r.int(1, rank) }, () => r.int(1, rank)))];
        layer.axis = axes.map(written);
      } else {
        axes = [r.int(1, rank)];
        layer.axis = written(axes[0]!);
      }
    }
    if (type === "batchNormalization") {
      optional(layer, "momentum", r.bool(0.4) ? r.pick([0, 1, 0.99]) : r.num(0, 1));
      for (const field of [
        "gammaInitializer",
        "betaInitializer",
        "movingMeanInitializer",
        "movingVarianceInitializer",
      ])
        if (r.bool(0.1)) {
          const init = genInitializer(r);
          // orthogonal needs a matrix: a vector is refused with a 422.
          if (init !== "orthogonal" && !(isObject(init) && init.type === "orthogonal")) layer[field] = init;
        }
    }
    optional(layer, "epsilon", r.bool(0.3) ? r.pick([1e-3, 0.5, 1e-2]) : r.num(1e-3, 1), 0.3);
    const center = r.bool(0.8);
    const scale = r.bool(0.8);
    if (!center || r.bool(0.2)) layer.center = center;
    if (!scale || r.bool(0.2)) layer.scale = scale;
    const name = nameFor(type, layer);
    const paramShape = axes.map((a) => shape[a - 1]!);
    if (scale) params.push({ key: `${name}/gamma`, shape: paramShape });
    if (center) params.push({ key: `${name}/beta`, shape: paramShape });
    if (type === "batchNormalization") {
      for (const stat of ["moving_mean", "moving_variance"])
        params.push({ key: `${name}/${stat}`, shape: paramShape, state: true });
      if (sizeOf(shape) === paramShape[0]) oneValueBatchNorm.push(name);
    }
    layers.push(layer);
  };
  // A shape layer of no parameters, with its options in every form tfjs takes.
  const shapeLayer = (layer: TreeObject, outShape: number[]) => {
    if (layer.type !== "reshape" && r.bool(0.15)) layer.dataFormat = "channelsLast";
    nameFor(layer.type as string, layer);
    layers.push(layer);
    shape = outShape;
  };
  // zeroPadding2d on [h, w, c]: n, [ph, pw] or [[top, bottom], [left, right]] (or the default 1).
  const zeroPadding = () => {
    const [h, w, c] = shape as [number, number, number];
    const layer: TreeObject = { type: "zeroPadding2d" };
    let pad = [
      [1, 1],
      [1, 1],
    ];
    const count = () => r.int(0, 2);
    switch (r.int(0, 3)) {
      case 0:
        break;
      case 1: {
        const n = count();
        layer.padding = n;
        pad = [
          [n, n],
          [n, n],
        ];
        break;
      }
      case 2: {
        const [ph, pw] = [count(), count()];
        layer.padding = [ph, pw];
        pad = [
          [ph, ph],
          [pw, pw],
        ];
        break;
      }
      default:
        pad = [
          [count(), count()],
          [count(), count()],
        ];
        layer.padding = pad;
    }
    shapeLayer(layer, [h + pad[0]![0]! + pad[0]![1]!, w + pad[1]![0]! + pad[1]![1]!, c]);
  };
  // dropout: rate from 0 to nearly 1, a noiseShape per sample or with Keras' batch axis, a seed.
  const dropoutLayer = () => {
    const layer: TreeObject = { type: "dropout", rate: r.pick([0, 0.1, 0.5, 0.9, 0.999999]) };
    if (r.bool(0.4)) {
      const perSample: Tree[] = shape.map((d) => r.pick<Tree>([1, d, null, -1]));
      layer.noiseShape = r.bool(0.5) ? perSample : [r.pick<Tree>([null, -1, 1]), ...perSample];
    }
    optional(layer, "seed", r.pick([0, 7, 2 ** 32 - 1]), 0.3);
    nameFor("dropout", layer);
    layers.push(layer);
  };
  // reshape to `target`, one entry (sometimes) written -1.
  const reshape = (target: number[]) => {
    const unknown = r.bool(0.4) ? r.int(0, target.length - 1) : -1;
    const written = target.map((d, k) => (k === unknown ? -1 : d));
    shapeLayer({ type: "reshape", targetShape: written }, target);
  };

  if (cnn) {
    const blocks = r.int(1, 2);
    for (let b = 0; b < blocks; b++) {
      const [h, w, c] = shape as [number, number, number];
      if (r.bool(0.7) || b === 0) {
        const padding = r.pick(["valid", "same"] as const);
        const maxKh = padding === "valid" ? Math.min(h, 3) : 3;
        const maxKw = padding === "valid" ? Math.min(w, 3) : 3;
        const kh = r.int(1, maxKh);
        const kw = r.bool(0.8) && kh <= maxKw ? kh : r.int(1, maxKw);
        const sh = r.int(1, 2);
        const sw = r.bool(0.8) ? sh : r.int(1, 2);
        const filters = r.int(1, 2);
        const layer: TreeObject = { type: "conv2d", filters, kernelSize: sizeForm(r, kh, kw) };
        if (padding === "same" || r.bool(0.3)) layer.padding = padding;
        const pad = (layer.padding as "valid" | "same" | undefined) ?? "valid";
        if (sh !== 1 || sw !== 1 || r.bool(0.2)) layer.strides = sizeForm(r, sh, sw);
        optional(layer, "activation", r.pick(ACTIVATIONS));
        const useBias = r.bool(0.85);
        if (!useBias || r.bool(0.2)) layer.useBias = useBias;
        genWeightOptions(r, layer, 4);
        const name = nameFor("conv2d", layer);
        params.push({ key: `${name}/kernel`, shape: [kh, kw, c, filters] });
        if (useBias) params.push({ key: `${name}/bias`, shape: [filters] });
        layers.push(layer);
        shape = [windowOut(h, kh, sh, pad), windowOut(w, kw, sw, pad), filters];
        if (r.bool(0.2)) activationKindLayer();
        if (r.bool(0.2)) normalizationLayer();
        if (r.bool(0.15)) zeroPadding();
        if (r.bool(0.15)) dropoutLayer();
        // An image of other proportions, the same values: [w, h, c].
        if (r.bool(0.1)) reshape([shape[1]!, shape[0]!, shape[2]!]);
      } else {
        const padding = r.pick(["valid", "same"] as const);
        const maxPh = padding === "valid" ? Math.min(h, 2) : 2;
        const maxPw = padding === "valid" ? Math.min(w, 2) : 2;
        const ph = r.int(1, maxPh);
        const pw = r.bool(0.8) && ph <= maxPw ? ph : r.int(1, maxPw);
        const type = r.pick(["maxPooling2d", "averagePooling2d"]);
        const layer: TreeObject = { type, poolSize: sizeForm(r, ph, pw) };
        if (padding === "same" || r.bool(0.3)) layer.padding = padding;
        let sh = ph;
        let sw = pw;
        if (r.bool(0.3)) {
          sh = r.int(1, 2);
          sw = sh;
          layer.strides = sh;
        }
        nameFor(type, layer);
        layers.push(layer);
        shape = [windowOut(h, ph, sh, padding), windowOut(w, pw, sw, padding), c];
      }
    }
    // meanSquaredError (or another element-wise loss) may end on the image itself (targets of
    // shape [h, w, filters]).
    const elementwise = !CROSSENTROPIES.includes(loss) && !VECTOR_LOSSES.includes(loss) && loss !== "poisson";
    if (elementwise && r.bool(0.2)) {
      return {
        model: { inputShape, layers, loss: lossTree },
        loss,
        inputShape,
        outputShape: shape,
        params,
        linearRegression: false,
        oneValueBatchNorm,
      };
    }
    // To a vector: flatten, a global pooling ([c]) or a reshape.
    const toVector = r.int(0, 9);
    if (toVector < 3) shapeLayer({ type: r.pick(SHAPE_LAYERS.slice(0, 2)) }, [shape[2]!]);
    else if (toVector < 5) reshape([sizeOf(shape)]);
    else {
      const flatten: TreeObject = { type: "flatten" };
      nameFor("flatten", flatten);
      layers.push(flatten);
      shape = [sizeOf(shape)];
    }
  } else {
    const hidden = r.int(0, 2);
    for (let i = 0; i < hidden; i++) {
      dense(r.int(1, 4), r.bool(0.8) ? r.pick(ACTIVATIONS) : undefined);
      if (r.bool(0.15)) activationLayer(r.pick(ACTIVATIONS));
      if (r.bool(0.2)) activationKindLayer();
      if (r.bool(0.2)) normalizationLayer();
      if (r.bool(0.1)) reshape([...shape]);
      if (r.bool(0.2)) dropoutLayer();
    }
  }

  // Output: a cross-entropy needs probabilities (softmax, or sigmoid), fused or as its own layer,
  // unless it takes logits; poisson a non-negative output.
  const probability =
    loss === "binaryCrossentropy" && !fromLogits
      ? r.pick(["sigmoid", "sigmoid", "softmax"])
      : CROSSENTROPIES.includes(loss) && !fromLogits
        ? r.pick(["softmax", "softmax", "sigmoid"])
        : loss === "poisson"
          ? r.pick(["softmax", "sigmoid", "relu"])
          : undefined;
  let linearRegression = false;
  if (probability) {
    if (r.bool(0.7)) dense(units, probability);
    else {
      dense(units, r.bool(0.5) ? "linear" : undefined);
      if (probability === "softmax" && r.bool(0.3)) {
        const layer: TreeObject = { type: "softmax" };
        optional(layer, "axis", r.pick([-1, 1]));
        nameFor("softmax", layer);
        layers.push(layer);
      } else activationLayer(probability);
    }
  } else {
    const act = r.bool(0.5) ? r.pick(ACTIVATIONS) : undefined;
    linearRegression = layers.length === 0 && (act === undefined || act === "linear");
    dense(units, act);
    if (penalised) linearRegression = false;
  }
  return {
    model: { inputShape, layers, loss: lossTree },
    loss,
    inputShape,
    outputShape: shape,
    params,
    linearRegression: linearRegression && loss === "meanSquaredError",
    oneValueBatchNorm,
  };
}

/** Nested arrays of `shape` filled by `value`. */
function nested(shape: readonly number[], value: () => Tree): Tree {
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
  return sample(r, plan.inputShape, () => r.num(-2, 2));
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

function genRate(r: Rand, max: number): Tree {
  if (r.bool(0.75)) return r.num(1e-4, max);
  switch (r.pick(["exponentialDecay", "piecewiseConstantDecay", "cosineDecay"])) {
    case "exponentialDecay": {
      const s: TreeObject = {
        type: "exponentialDecay",
        initialLearningRate: r.num(1e-4, max),
        decaySteps: r.int(1, 100),
        decayRate: r.num(0.1, 1),
      };
      if (r.bool(0.3)) s.staircase = r.bool();
      return s;
    }
    case "piecewiseConstantDecay": {
      const n = r.int(1, 3);
      let at = 0;
      const boundaries = Array.from({ length: n }, () => (at += r.int(1, 5)));
      return {
        type: "piecewiseConstantDecay",
        boundaries,
        values: Array.from({ length: n + 1 }, () => r.num(1e-4, max)),
      };
    }
    default: {
      const s: TreeObject = {
        type: "cosineDecay",
        initialLearningRate: r.num(1e-4, max),
        decaySteps: r.int(1, 100),
      };
      if (r.bool(0.3)) s.alpha = r.num(0, 1);
      if (r.bool(0.3)) {
        s.warmupTarget = r.num(1e-4, max);
        s.warmupSteps = r.int(0, 10);
      }
      return s;
    }
  }
}

export interface Generated {
  route: string;
  body: TreeObject;
  plan: ModelPlan;
}

/** A valid POST /train body: tiny model, ≤ 6 inline samples (or xor/iris), ≤ 5 epochs. */
export function genTrain(r: Rand): Generated {
  const named = r.bool(0.15) ? r.pick(["xor", "iris"] as const) : undefined;
  const plan = named
    ? genModel(r, {
        inputShape: named === "xor" ? [2] : [4],
        outputUnits: named === "xor" ? 2 : 3,
        loss: r.pick(LOSSES),
      })
    : genModel(r);
  const n = named === "iris" ? 150 : named === "xor" ? 4 : r.int(1, 6);
  const body: TreeObject = {
    model: plan.model,
    dataset: named
      ? { name: named }
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
  return { route: "/train", body, plan };
}

/**
 * Keras' fit arguments on a valid body of `n` samples: `metrics` that apply to the loss (now and
 * then repeated), `sampleWeight` (not with normalEquation; sometimes all 0, all 1 or tiny or huge
 * weights) and, for a classifier, `classWeight` over its classes.
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
  if (classifier && r.bool(0.15)) {
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
        ? { method: r.pick(["central", "forward"]) }
        : { method: r.pick(["central", "forward"]), epsilon: r.num(1e-7, 0.01) };
  }
  if (r.bool(0.3)) body.training = r.bool();
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
  return { route: "/predict", body, plan };
}

export const genFor = { "/train": genTrain, "/gradients": genGradients, "/predict": genPredict } as const;

// ---------------------------------------------------------------------------------------------
// Breakage

/** What a request looks like on the wire. */
export interface WireRequest {
  method: string;
  url: string;
  /** `undefined`: no content-type header at all. */
  contentType: string | undefined;
  text: string;
  /** Kinds of breakage applied (empty for a valid request). */
  kinds: string[];
  /** Other request headers. */
  headers?: Record<string, string>;
}

const deep = (depth: number, open: string, close: string, leaf = "0") =>
  new Raw(open.repeat(depth) + leaf + close.repeat(depth));

/** Values that do not belong, by kind. */
const REPLACEMENTS: { kind: string; values: (() => Tree)[] }[] = [
  {
    kind: "wrong-type",
    values: [
      () => "abc",
      () => "",
      () => true,
      () => false,
      () => null,
      () => ({}),
      () => [],
      () => ({ a: 1 }),
      () => [1, "2", null],
      () => "\u0000\u{1F600}",
      () => "x".repeat(5000),
    ],
  },
  {
    kind: "string-number",
    values: [() => "3", () => "0.5", () => "1e999", () => "NaN", () => "-0", () => "[1]"],
  },
  {
    kind: "nan-infinity",
    values: [
      () => new Raw("1e999"),
      () => new Raw("-1e999"),
      () => new Raw("1E400"),
      () => new Raw("NaN"),
      () => new Raw("Infinity"),
      () => new Raw("-Infinity"),
      () => [new Raw("1e999"), 1],
    ],
  },
  {
    kind: "negative-zero",
    values: [() => new Raw("-0"), () => new Raw("-0.0"), () => 0, () => new Raw("0e999")],
  },
  { kind: "negative", values: [() => -1, () => -0.5, () => -1e9, () => -(2 ** 31), () => new Raw("-1e308")] },
  {
    kind: "huge-number",
    values: [
      () => 1e308,
      () => 2 ** 53 + 2,
      () => 2 ** 32,
      () => 1e21,
      () => 5e-324,
      () => 2.5,
      () => 4096,
      () => 4097,
      () => 1024,
      () => 1025,
      () => 32,
      () => 33,
      () => 10_000,
      () => 10_001,
      () => 65_537,
      () => 1e6,
      () => 1_000_001,
      () => new Raw("123456789012345678901234567890"),
    ],
  },
  {
    kind: "deep-nesting",
    values: [
      () => deep(3, "[", "]"),
      () => deep(8, "[", "]"),
      () => deep(31, "[", "]"),
      () => deep(33, "[", "]"),
      () => deep(200, "[", "]"),
      () => deep(5000, "[", "]"),
      () => deep(40, '{"a":', "}"),
      () => deep(3000, '{"a":[', "]}"),
    ],
  },
  {
    kind: "ragged-array",
    values: [
      () => [[1, 2], [3]],
      () => [1, [2, 3]],
      () => [[1, 2], 3],
      () => [[[1]], [1]],
      () => [[], [1]],
      () => [[1, 2], [3, 4, 5], []],
    ],
  },
];

const UNKNOWN_KEYS = [
  "extra",
  "colour",
  "",
  " ",
  "Units",
  "units",
  "type",
  "prototype",
  "toString",
  "valueOf",
];
const PROTO_KEYS = ["__proto__", "constructor", "hasOwnProperty", "__defineGetter__", "__lookupSetter__"];

/** Every path to a node under `tree` (objects and arrays, not into `Raw`), capped for huge arrays. */
function paths(tree: Tree): (string | number)[][] {
  const out: (string | number)[][] = [];
  const walk = (v: Tree, p: (string | number)[]) => {
    out.push(p);
    if (v === null || typeof v !== "object" || v instanceof Raw) return;
    if (Array.isArray(v)) {
      const n = Math.min(v.length, 8);
      for (let i = 0; i < n; i++) walk(v[i]!, [...p, i]);
    } else for (const k of Object.keys(v)) walk(getOwn(v, k) as Tree, [...p, k]);
  };
  walk(tree, []);
  return out;
}

function at(tree: Tree, path: readonly (string | number)[]): Tree {
  let v = tree;
  for (const seg of path)
    v = (Array.isArray(v) ? v[seg as number] : getOwn(v as TreeObject, String(seg))) as Tree;
  return v;
}

function put(tree: Tree, path: readonly (string | number)[], value: Tree): Tree {
  if (path.length === 0) return value;
  const parent = at(tree, path.slice(0, -1));
  const last = path[path.length - 1]!;
  if (Array.isArray(parent)) parent[last as number] = value;
  else setOwn(parent as TreeObject, String(last), value);
  return tree;
}

/** A path, chosen top-level field first so that big data arrays do not swamp the choice. */
function pickPath(r: Rand, tree: Tree, filter: (v: Tree, p: (string | number)[]) => boolean) {
  const all = paths(tree).filter((p) => filter(at(tree, p), p));
  if (all.length === 0) return undefined;
  const tops = [...new Set(all.map((p) => String(p[0] ?? "")))];
  const top = r.pick(tops);
  const within = all.filter((p) => String(p[0] ?? "") === top);
  return r.pick(within);
}

const LIMIT_FOR: Record<string, number> = {
  units: 4096,
  filters: 1024,
  kernelSize: 32,
  poolSize: 32,
  strides: 32,
  epochs: 1_000_000,
  batchSize: 65_536,
};

/** Sets every size in the model to its largest allowed value (or one beyond). */
function maximize(r: Rand, body: TreeObject): void {
  const model = getOwn(body, "model");
  if (!isObject(model)) return;
  const beyond = r.bool(0.3) ? 1 : 0;
  if (Array.isArray(model.inputShape))
    model.inputShape = model.inputShape.map((d) => (typeof d === "number" ? 4096 + beyond : d));
  if (Array.isArray(model.layers))
    for (const layer of model.layers) {
      if (!isObject(layer)) continue;
      for (const key of Object.keys(layer))
        if (LIMIT_FOR[key] !== undefined && r.bool(0.8)) layer[key] = LIMIT_FOR[key] + beyond;
    }
}

/** Replaces, deletes or adds one field somewhere in `body`; returns the kind of breakage. */
function mutateField(r: Rand, body: TreeObject): string {
  const choice = r.int(0, 99);
  if (choice < 45) {
    const group = r.pick(REPLACEMENTS);
    const path = pickPath(r, body, (_v, p) => p.length > 0);
    if (!path) return "none";
    put(body, path, r.pick(group.values)());
    return group.kind;
  }
  if (choice < 57) {
    const path = pickPath(r, body, (_v, p) => p.length > 0 && typeof p[p.length - 1] === "string");
    if (!path) return "none";
    const parent = at(body, path.slice(0, -1)) as TreeObject;
    delete parent[String(path[path.length - 1])];
    return "delete-key";
  }
  if (choice < 72) {
    const path = pickPath(r, body, (v) => isObject(v));
    if (!path) return "none";
    const target = at(body, path) as TreeObject;
    const proto = r.bool(0.5);
    const key = r.pick(proto ? PROTO_KEYS : UNKNOWN_KEYS);
    const value: Tree =
      key === "constructor" && r.bool(0.6)
        ? { prototype: { polluted: true } }
        : r.pick([1, "x", null, { polluted: true }, [0]]);
    setOwn(target, key, value);
    return proto ? "proto-key" : "unknown-key";
  }
  if (choice < 84) {
    // Huge sizes: a layer stack at or beyond 64, or arrays grown far beyond their shape.
    const model = getOwn(body, "model");
    if (r.bool(0.5) && isObject(model) && Array.isArray(model.layers) && model.layers.length > 0) {
      const count = r.pick([63, 64, 65, 200]);
      const layers = model.layers;
      const hidden = layers.slice(0, -1);
      const filler: Tree = hidden.find((l) => isObject(l) && l.type === "activation") ?? {
        type: "activation",
        activation: r.pick(ACTIVATIONS.filter((a) => a !== "softmax")),
      };
      const grown = Array.from({ length: count - layers.length + 1 }, () => cloneTree(filler));
      model.layers = [...grown, ...layers];
      return "huge-size";
    }
    const path = pickPath(r, body, (v, p) => Array.isArray(v) && v.length > 0 && p.length > 0);
    if (!path) return "none";
    const arr = at(body, path) as Tree[];
    const factor = r.pick([2, 16, 300]);
    put(
      body,
      path,
      Array.from({ length: arr.length * factor }, (_, i) => cloneTree(arr[i % arr.length]!)),
    );
    return "huge-size";
  }
  if (choice < 92) {
    maximize(r, body);
    return "huge-size";
  }
  // Zero and negative sizes across the model.
  const model = getOwn(body, "model");
  if (!isObject(model) || !Array.isArray(model.layers)) return "none";
  const dropouts = model.layers.filter((l) => isObject(l) && l.type === "dropout") as TreeObject[];
  if (dropouts.length > 0 && r.bool(0.5)) {
    // Dropout past its limits: rate 1 or outside [0, 1), a seed outside uint32.
    const layer = r.pick(dropouts);
    if (r.bool(0.6)) layer.rate = r.pick([1, -0.1, 1.0000001, 1e300, new Raw("-0.5")]);
    else layer.seed = r.pick([2 ** 32, -1, 1.5, 1e300]);
    return "dropout-limit";
  }
  const v = r.pick([0, -1, new Raw("-0"), 0.5]);
  for (const layer of model.layers)
    if (isObject(layer))
      for (const key of ["units", "filters", "kernelSize", "poolSize", "strides"])
        if (key in layer && r.bool(0.6)) layer[key] = v;
  if (Array.isArray(model.inputShape) && r.bool(0.4)) model.inputShape = [v];
  return "zero-size";
}

const WRONG_CONTENT_TYPES = [
  "text/plain",
  "application/x-www-form-urlencoded",
  "multipart/form-data; boundary=x",
  "application/xml",
  "application/problem+json",
  "application/octet-stream",
  "",
  "json",
  "application/json-patch+json",
];
const OK_CONTENT_TYPES = [
  "application/json",
  "application/json; charset=utf-8",
  "Application/JSON",
  "application/json;charset=UTF-8",
];

/** Breaks the envelope instead of a field: body text, content type, top-level value. */
function mutateEnvelope(r: Rand, req: WireRequest): void {
  switch (r.int(0, 7)) {
    case 0:
      req.text = "";
      req.kinds.push("empty-body");
      if (r.bool(0.5)) req.contentType = undefined;
      return;
    case 1:
      req.contentType = undefined;
      req.kinds.push("no-content-type");
      return;
    case 2:
      req.contentType = r.pick(WRONG_CONTENT_TYPES);
      req.kinds.push("wrong-content-type");
      return;
    case 3:
      req.text = req.text.slice(0, r.int(0, Math.max(0, req.text.length - 1)));
      req.kinds.push("truncated-json");
      return;
    case 4:
      req.text = req.text + r.pick(["}", "]", ",", " x", "\u0000", '{"a":1}']);
      req.kinds.push("trailing-garbage");
      return;
    case 5:
      req.text = r.pick(["null", "[]", "0", "-0", '"text"', "true", "[{}]", "1e999", "{}"]);
      req.kinds.push("not-an-object");
      return;
    case 6:
      req.text = `\uFEFF${req.text}`;
      req.kinds.push("bom");
      return;
    default:
      req.text = `{${'"a":1,'.repeat(r.int(1, 3))}${req.text.slice(1)}`;
      req.kinds.push("unknown-key");
      return;
  }
}

/** The wire form of a valid body. */
export function wire(route: string, body: Tree, r?: Rand): WireRequest {
  return {
    method: "POST",
    url: route,
    contentType: r ? r.pick(OK_CONTENT_TYPES) : "application/json",
    text: toJsonText(body),
    kinds: [],
  };
}

/** A broken request: 1–3 field mutations, and/or an envelope mutation. */
export function breakRequest(r: Rand, valid: Generated): WireRequest {
  const body = cloneTree(valid.body) as TreeObject;
  const kinds: string[] = [];
  const envelopeOnly = r.bool(0.15);
  if (!envelopeOnly) {
    const n = r.pick([1, 1, 1, 2, 2, 3]);
    for (let i = 0; i < n; i++) {
      const kind = mutateField(r, body);
      if (kind !== "none") kinds.push(kind);
    }
  }
  const req = wire(valid.route, body, r);
  req.kinds = kinds;
  if (envelopeOnly || r.bool(0.05)) mutateEnvelope(r, req);
  if (req.kinds.length === 0) req.kinds.push("none");
  return req;
}

// ---------------------------------------------------------------------------------------------
// Valid but extreme: values the schema accepts that overflow or make training diverge

const EXTREMES: (() => Tree)[] = [
  () => 1e308,
  () => -1e308,
  () => 1e300,
  () => -1e300,
  () => 1e154,
  () => 5e-324,
  () => -5e-324,
  () => 1e-300,
  () => 2 ** 53,
  () => new Raw("-0"),
];

/** Paths to the numbers under `root` (a data set, weights). */
function numberPaths(body: TreeObject, root: (string | number)[]): (string | number)[][] {
  const base = at(body, root);
  if (base === undefined) return [];
  return paths(base)
    .filter((p) => typeof at(base, p) === "number")
    .map((p) => [...root, ...p]);
}

/**
 * A schema-valid request pushed to extremes: ±1e308 or subnormal samples, weights of 1e300,
 * learning rates of 1e9, optimiser constants at their limits. The answer must be 200 (a
 * diverging run still answers 200 with finite weights) or 422 — never 400 or 500.
 */
export function extremeRequest(r: Rand, gen: Generated): WireRequest {
  const body = cloneTree(gen.body) as TreeObject;
  const kinds: string[] = [];
  const inline = isObject(body.dataset) && "x" in body.dataset;
  for (let i = r.int(1, 2); i > 0; i--) {
    switch (r.int(0, 3)) {
      case 0: {
        const roots: (string | number)[][] =
          gen.route === "/train"
            ? inline
              ? [
                  ["dataset", "x"],
                  ["dataset", "y"],
                ]
              : []
            : [["x"], ["y"]];
        const candidates = roots.flatMap((root) =>
          root[root.length - 1] === "y" &&
          (CROSSENTROPIES.includes(gen.plan.loss) || gen.plan.loss === "categoricalHinge")
            ? []
            : numberPaths(body, root),
        );
        if (candidates.length === 0) break;
        const extreme = r.pick(EXTREMES);
        for (let k = r.pick([1, 1, 3]); k > 0; k--) put(body, r.pick(candidates), extreme());
        kinds.push("extreme-data");
        break;
      }
      case 1: {
        const key = gen.route === "/train" ? "initialWeights" : "weights";
        const candidates = numberPaths(body, [key]);
        if (candidates.length === 0) break;
        const extreme = r.pick([1e300, -1e300, 1e154, 5e-324]);
        for (let k = r.pick([1, 3, 100]); k > 0; k--) put(body, r.pick(candidates), extreme);
        kinds.push("extreme-weights");
        break;
      }
      case 2: {
        const opt = body.optimizer;
        if (!isObject(opt) || opt.type === "normalEquation") break;
        if (typeof opt.learningRate === "number" || r.bool(0.5))
          opt.learningRate = r.pick([1e9, 1e6, 5e-324]);
        else if (isObject(opt.learningRate) && "initialLearningRate" in opt.learningRate)
          opt.learningRate.initialLearningRate = 1e9;
        kinds.push("extreme-rate");
        break;
      }
      default: {
        const opt = body.optimizer;
        if (!isObject(opt)) break;
        if (opt.type === "sgd") opt.momentum = r.pick([0.999999999, 0]);
        if (opt.type === "adam") {
          opt.beta1 = r.pick([0, 0.999999999]);
          opt.beta2 = r.pick([0, 0.999999999]);
          opt.epsilon = r.pick([1, 5e-324]);
        }
        extremeOptimizerFields(r, opt);
        if (gen.route === "/train") {
          if (r.bool(0.5)) body.batchSize = 65_536;
          if (r.bool(0.3)) body.validationSplit = r.pick([0.999999, 0.5]);
          // Weights so large that the weighted loss overflows: a divergence report (or a 422 for normalEquation).
          if (Array.isArray(body.sampleWeight) && r.bool(0.5))
            body.sampleWeight = body.sampleWeight.map(() => r.pick([1.7e308, 1e300, 1e154, 0]));
          if (isObject(body.classWeight) && r.bool(0.5))
            for (const key of Object.keys(body.classWeight)) body.classWeight[key] = r.pick([1.7e308, 1e300]);
        }
        kinds.push("extreme-constants");
      }
    }
  }
  if (r.bool(0.3)) {
    // A penalty or initial weights so large that the loss overflows: a divergence report or a 422.
    const layers = isObject(body.model) && Array.isArray(body.model.layers) ? body.model.layers : [];
    const weighted = layers.filter((l) => isObject(l) && (l.type === "dense" || l.type === "conv2d"));
    if (weighted.length > 0) {
      const layer = r.pick(weighted) as TreeObject;
      const huge = r.pick([1e300, 1e154, 1.7e308]);
      const field = r.pick([
        "kernelRegularizer",
        "biasRegularizer",
        "activityRegularizer",
        "kernelInitializer",
      ]);
      layer[field] =
        field === "kernelInitializer"
          ? r.pick<Tree>([
              { type: "constant", value: huge },
              { type: "randomNormal", stddev: huge / 10 },
              { type: "randomUniform", minval: -huge, maxval: huge },
              { type: "orthogonal", gain: huge },
              { type: "varianceScaling", scale: huge },
            ])
          : { [r.pick(["l1", "l2"])]: huge };
      kinds.push("extreme-weight-options");
    }
  }
  if (r.bool(0.3)) {
    // Normalisation at its edges: epsilon tiny (1/√ε overflows a later layer: a divergence or a
    // 422), or an axis that is the batch or beyond the input (a 422 at model.layers[i].axis).
    const layers = isObject(body.model) && Array.isArray(body.model.layers) ? body.model.layers : [];
    const norms = layers.filter(
      (l) => isObject(l) && (NORMALIZATION_LAYERS as readonly unknown[]).includes(l.type),
    ) as TreeObject[];
    if (norms.length > 0) {
      const layer = r.pick(norms);
      if (r.bool(0.5)) {
        layer.epsilon = r.pick([5e-324, 1e-300, 1e-12]);
        kinds.push("extreme-epsilon");
      } else {
        layer.axis = r.pick([0, 5, -6, 99]);
        kinds.push("extreme-axis");
      }
    }
  }
  if (r.bool(0.3)) {
    // Zero padding of the largest count the schema takes: an activation too large, a 422.
    const layers = isObject(body.model) && Array.isArray(body.model.layers) ? body.model.layers : [];
    const padded = layers.filter((l) => isObject(l) && l.type === "zeroPadding2d");
    if (padded.length > 0) {
      (r.pick(padded) as TreeObject).padding = 4096;
      kinds.push("extreme-padding");
    }
  }
  if (r.bool(0.3)) {
    // Dropout at its limits, still schema-valid: a rate just below 1, a noiseShape that does not
    // broadcast to the input (a 422), the seed's end values.
    const layers = isObject(body.model) && Array.isArray(body.model.layers) ? body.model.layers : [];
    const dropouts = layers.filter((l) => isObject(l) && l.type === "dropout") as TreeObject[];
    const layer = dropouts.length > 0 ? r.pick(dropouts) : undefined;
    if (layer) {
      switch (r.int(0, 3)) {
        case 0:
          layer.rate = r.pick([0.999999, 0.999999999999, 0]);
          break;
        case 1:
          layer.noiseShape = r.pick<Tree>([[2], [7, 7, 7], [null, 3, 5], [1, 1, 1, 1], [5, null], [null, 9]]);
          break;
        default:
          layer.seed = r.pick([0, 2 ** 32 - 1]);
      }
      kinds.push("extreme-dropout");
    }
  }
  const req = wire(gen.route, body, r);
  req.kinds = kinds.length > 0 ? kinds : ["none"];
  return req;
}

// ---------------------------------------------------------------------------------------------
// Stored data sets (POST /datasets): JSON and CSV

/** A valid JSON body for POST /datasets: samples of one shape, labels or target vectors. */
export function genStoredDatasetJson(r: Rand): TreeObject {
  const shape = r.bool(0.7) ? [r.int(1, 4)] : [r.int(1, 3), r.int(1, 3), r.int(1, 2)];
  const n = r.int(1, 6);
  const flat = r.bool(0.2);
  const body: TreeObject = {
    x: Array.from({ length: n }, () =>
      flat ? Array.from({ length: sizeOf(shape) }, () => r.num(-2, 2)) : nested(shape, () => r.num(-2, 2)),
    ),
  };
  const classes = r.bool(0.5) ? r.int(2, 3) : 0;
  const k = r.int(1, 3);
  body.y = Array.from({ length: n }, () =>
    classes ? r.int(0, classes - 1) : k === 1 ? r.num(-2, 2) : Array.from({ length: k }, () => r.num(-2, 2)),
  );
  if (flat || r.bool(0.2)) body.inputShape = shape;
  if (classes && r.bool(0.5)) body.classes = Array.from({ length: classes }, (_, i) => `class ${i}`);
  if (r.bool(0.3)) body.name = r.pick(["xor", "my data", "ü"]);
  return body;
}

const CSV_NAMES = ["a", "b", "sepal length", "petal_width", "species", "x1", "y"];

/** A valid CSV body: a header row, 1–5 numeric rows, the label last (numbers or class names). */
export function genCsv(r: Rand): { text: string; query: string } {
  const cols = r.int(2, 4);
  const header = CSV_NAMES.slice(0, cols);
  const named = r.bool(0.4);
  const rows = Array.from({ length: r.int(1, 5) }, () => [
    ...Array.from({ length: cols - 1 }, () => String(Math.round(r.num(-5, 5) * 100) / 100)),
    named ? r.pick(["setosa", "versicolor", "virginica"]) : String(r.int(0, 2)),
  ]);
  const eol = r.pick(["\n", "\r\n"]);
  const text = [header, ...rows].map((row) => row.join(",")).join(eol) + (r.bool(0.7) ? eol : "");
  const query = r.bool(0.3)
    ? `?label=${encodeURIComponent(header[cols - 1]!)}`
    : r.bool(0.2)
      ? "?name=csv"
      : "";
  return { text, query };
}

/** CSV broken in one or two ways: ragged rows, bad cells, duplicate or odd headers, bad quotes. */
export function breakCsv(
  r: Rand,
  csv: { text: string; query: string },
): { text: string; query: string; kinds: string[] } {
  let { text, query } = csv;
  const kinds: string[] = [];
  const lines = text.split(/\r?\n/);
  for (let i = r.int(1, 2); i > 0 && lines.length > 0; i--) {
    const row = r.int(0, lines.length - 1);
    switch (r.int(0, 8)) {
      case 0:
        lines[row] = (lines[row] ?? "").split(",").slice(0, -1).join(",");
        kinds.push("ragged-array");
        break;
      case 1:
        lines[row] = `${lines[row]},${r.pick(["1", "", "extra"])}`;
        kinds.push("ragged-array");
        break;
      case 2:
        lines[Math.max(1, row)] = (lines[Math.max(1, row)] ?? "").replace(
          /^[^,]*/,
          r.pick(["abc", "1e999", "NaN", "-0", "Infinity", "0x10", " ", "1,5"]),
        );
        kinds.push(r.pick(["wrong-type", "nan-infinity"]));
        break;
      case 3:
        lines[0] = (lines[0] ?? "").replace(/^[^,]*,[^,]*/, (m) => `${m.split(",")[0]},${m.split(",")[0]}`);
        kinds.push("duplicate-header");
        break;
      case 4:
        lines[0] = (lines[0] ?? "").replace(/^[^,]*/, r.pick(["__proto__", "constructor", "", "toString"]));
        kinds.push("proto-key");
        break;
      case 5:
        lines[row] = `"${lines[row]}`;
        kinds.push("truncated-json");
        break;
      case 6:
        text = "";
        lines.length = 0;
        kinds.push("empty-body");
        break;
      case 7:
        query = r.pick([
          "?label=nope",
          "?label=",
          "?label=__proto__",
          "?name=",
          "?zzz=1",
          `?label=${"x".repeat(300)}`,
        ]);
        kinds.push("unknown-key");
        break;
      default:
        lines.push(Array.from({ length: r.pick([2, 50, 2000]) }, () => "1").join(","));
        kinds.push("huge-size");
    }
  }
  return { text: lines.length ? lines.join("\n") : text, query, kinds };
}

/**
 * The fields of the optimisers after sgd and adam (Nesterov, rmsprop, adagrad, adadelta, adamax,
 * nadam, adamw), and at most one gradient clipping (two are a 400, as in Keras), drawn into `opt`.
 */
function genOptimizerFields(r: Rand, opt: TreeObject): void {
  const type = opt.type;
  if (type === "sgd" && opt.momentum !== undefined && r.bool(0.5)) opt.nesterov = r.bool();
  if (type === "rmsprop") {
    if (r.bool(0.3)) opt.rho = r.num(0, 0.99);
    if (r.bool(0.3)) opt.momentum = r.num(0, 0.95);
    if (r.bool(0.3)) opt.epsilon = r.num(1e-8, 1e-3);
    if (r.bool(0.3)) opt.centered = r.bool();
  }
  if (type === "adagrad" && r.bool(0.4)) opt.initialAccumulatorValue = r.num(0, 1);
  if (type === "adadelta") {
    if (r.bool(0.3)) delete opt.learningRate;
    if (r.bool(0.3)) opt.rho = r.num(0, 0.99);
    if (r.bool(0.3)) opt.epsilon = r.num(1e-8, 1e-3);
  }
  if (type === "adamax" || type === "nadam" || type === "adamw") {
    if (r.bool(0.2)) opt.beta1 = r.num(0, 0.99);
    if (r.bool(0.2)) opt.beta2 = r.num(0, 0.9999);
    if (r.bool(0.2)) opt.epsilon = r.num(1e-8, 1e-3);
  }
  if (type === "adamw" && r.bool(0.4)) opt.weightDecay = r.num(0, 0.5);
  if (r.bool(0.25)) opt[r.pick(CLIPS)] = r.num(1e-3, 10);
}

const CLIPS = ["clipnorm", "clipvalue", "globalClipnorm"] as const;

/** Extreme but valid values of those fields: the answer is a 200 with finite weights, or a 422. */
function extremeOptimizerFields(r: Rand, opt: TreeObject): void {
  const type = opt.type;
  if (type === "rmsprop" || type === "adadelta") {
    opt.rho = r.pick([0, 0.999999999]);
    opt.epsilon = r.pick([1, 5e-324]);
    if (type === "rmsprop") opt.centered = r.bool();
  }
  if (type === "adagrad") opt.initialAccumulatorValue = r.pick([0, 1e300]);
  if (type === "adamax" || type === "nadam" || type === "adamw") {
    opt.beta1 = r.pick([0, 0.999999999]);
    opt.beta2 = r.pick([0, 0.999999999]);
    opt.epsilon = r.pick([1, 5e-324]);
  }
  if (type === "adamw") opt.weightDecay = r.pick([0, 1e6]);
  if (type !== "normalEquation" && r.bool(0.5)) {
    for (const clip of CLIPS) delete opt[clip];
    opt[r.pick(CLIPS)] = r.pick([5e-324, 1e300]);
  }
}
