/** Fuzz generators: a small valid model with what the test knows about it (the kinds in gen-kinds.ts). */
import {
  ACTIVATION_LAYERS,
  ACTIVATIONS,
  type ModelPlan,
  NORMALIZATION_LAYERS,
  type ParamShape,
  SHAPE_LAYERS,
  sizeOf,
} from "./gen-kinds.js";
import { CROSSENTROPIES, genLoss, LOSSES, type Loss, VECTOR_LOSSES } from "./gen-losses.js";
import { genRecurrent } from "./gen-recurrent.js";
import { genSequence } from "./gen-sequence.js";
import { genInitializer, genWeightOptions } from "./gen-weight-options.js";
import { genBidirectional, genTimeDistributed } from "./gen-wrappers.js";
import { isObject, type Tree, type TreeObject } from "./json-text.js";
import type { Rand } from "./rand.js";

export {
  ACTIVATION_LAYERS,
  ACTIVATIONS,
  type ModelPlan,
  NORMALIZATION_LAYERS,
  type ParamShape,
  SHAPE_LAYERS,
  sizeOf,
} from "./gen-kinds.js";

/** Output extent of a window along one axis (Keras). */
function windowOut(extent: number, window: number, stride: number, padding: "valid" | "same"): number {
  return padding === "same" ? Math.ceil(extent / stride) : Math.floor((extent - window) / stride) + 1;
}

/** An integer or, sometimes, the [h, w] pair form of it. */
function sizeForm(r: Rand, h: number, w: number): Tree {
  return h === w && r.bool(0.7) ? h : [h, w];
}

/**
 * A small valid model: an MLP, a recurrent model on [timesteps, features], a CNN (conv2d, pooling, zero padding, reshape; flatten, global
 * pooling or reshape to a vector) or a sequence model (`genSequence`: embedding, conv1d, 1-D pooling), hidden activations of every kind, and an output that fits the loss (a cross-entropy ends in softmax or sigmoid).
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
  // Sequences [timesteps, features] for the recurrent layers.
  const recurrent = fixed.inputShape ? fixed.inputShape.length === 2 : !cnn && r.bool(0.2);
  const sequence = !fixed.inputShape && !cnn && !recurrent && r.bool(0.3);
  let inputShape =
    fixed.inputShape ??
    (cnn ? [r.int(2, 5), r.int(2, 5), r.int(1, 2)] : recurrent ? [r.int(1, 4), r.int(1, 3)] : [r.int(1, 4)]);
  let tokenIds: number | undefined;
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
    // Over the last axis of any input (docs/backprop.md §4.4): kernel [F, n], output [..., n].
    params.push({ key: `${name}/kernel`, shape: [shape.at(-1)!, n] });
    if (useBias) params.push({ key: `${name}/bias`, shape: [n] });
    layers.push(layer);
    shape = [...shape.slice(0, -1), n];
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
    // A dense layer on the image's pixels: [h, w, c] → [h, w, units].
    if (r.bool(0.15)) dense(r.int(1, 3), r.bool(0.5) ? r.pick(ACTIVATIONS) : undefined);
    // meanSquaredError (or another element-wise loss) may end on the image itself (targets of
    // shape [h, w, filters]) or dense's units.
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
  } else if (recurrent) {
    // One or two recurrent layers, maybe bidirectional (all but the last returning sequences), then
    // maybe a timeDistributed dense or a dense on the sequence, and a flatten.
    const count = r.int(1, 2);
    for (let i = 0; i < count; i++) {
      const sequences = i < count - 1 || r.bool(0.3);
      const g = (r.bool(0.3) ? genBidirectional : genRecurrent)(r, shape, nameFor, params, sequences);
      layers.push(g.layer);
      shape = g.shape;
    }
    if (shape.length === 2 && r.bool(0.4)) {
      const g = genTimeDistributed(r, shape, nameFor, params);
      layers.push(g.layer);
      shape = g.shape;
    } else if (shape.length === 2 && r.bool(0.3))
      dense(r.int(1, 3), r.bool(0.5) ? r.pick(ACTIVATIONS) : undefined);
    if (shape.length === 2) {
      const flatten: TreeObject = { type: "flatten" };
      nameFor("flatten", flatten);
      layers.push(flatten);
      shape = [sizeOf(shape)];
    }
  } else if (sequence) {
    const seq = genSequence(
      r,
      (layer) => {
        const name = nameFor(layer.type as string, layer);
        layers.push(layer);
        return name;
      },
      params,
      ACTIVATIONS,
    );
    inputShape = seq.inputShape;
    shape = seq.shape;
    tokenIds = seq.tokenIds;
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
    ...(tokenIds !== undefined ? { tokenIds } : {}),
  };
}
