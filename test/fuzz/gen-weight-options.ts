/** Fuzz generators: the initialisers, regularisers and kernel constraint of a layer with a kernel. */
import { isObject, type Tree, type TreeObject } from "./json-text.js";
import type { Rand } from "./rand.js";

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
export function genInitializer(r: Rand): Tree {
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
export function genWeightOptions(r: Rand, layer: TreeObject, rank: number): boolean {
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
