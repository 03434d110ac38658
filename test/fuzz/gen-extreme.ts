/** Fuzz generators: valid but extreme, values the schema accepts that overflow or make training diverge. */
import type { Generated } from "./gen-bodies.js";
import { at, paths, put, type WireRequest, wire } from "./gen-broken.js";
import { CROSSENTROPIES } from "./gen-losses.js";
import { NORMALIZATION_LAYERS } from "./gen-model.js";
import { extremeOptimizerFields } from "./gen-optimizers.js";
import { cloneTree, isObject, Raw, type Tree, type TreeObject } from "./json-text.js";
import type { Rand } from "./rand.js";

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
    const weighted = layers.filter(
      (l) => isObject(l) && (l.type === "dense" || l.type === "conv2d" || l.type === "conv1d"),
    );
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
