/**
 * POST /tuning-jobs bodies for the fuzz suite: a valid /train body (`genTrain`) as `base`, a search
 * space over fields it has (the learning rate, batch size, epochs, the first layer's width), the
 * objective, algorithm and trial counts; and bodies whose search space is wrong in one way (a path
 * that is none, leads nowhere or lies around another, the seed, an empty or reversed range, a
 * logUniform through 0, a continuous range on a grid, a choice of values the field cannot take).
 * Trials stay tiny: at most 3 of ≤ 5 epochs.
 */
import { type Generated, genTrain } from "./gen-bodies.js";
import type { Tree, TreeObject } from "./json-text.js";
import type { Rand } from "./rand.js";

/** The paths of `base` a search can vary, with a valid range for each. */
function rangesFor(r: Rand, base: TreeObject): [string, Tree][] {
  const out: [string, Tree][] = [];
  const lr = r.num(1e-4, 0.05);
  out.push([
    "optimizer.learningRate",
    r.bool()
      ? { type: "logUniform", min: lr, max: lr * r.num(1.5, 10) }
      : { type: "choice", values: [lr, lr * 2] },
  ]);
  out.push(["batchSize", { type: "int", min: 1, max: r.int(1, 8), step: r.int(1, 3) }]);
  if (base.epochs !== undefined) out.push(["epochs", { type: "int", min: 1, max: r.int(1, 3) }]);
  const layers = (base.model as { layers?: TreeObject[] } | undefined)?.layers;
  if (layers?.[0]?.units !== undefined)
    out.push(["model.layers[0].units", { type: "int", min: 1, max: r.int(1, 6) }]);
  return out;
}

/** A broken search space entry: [path, range, kind]. */
function brokenEntry(r: Rand): [string, Tree, string] {
  return r.pick<[string, Tree, string]>([
    ["optimizer..learningRate", { type: "uniform", min: 0.01, max: 0.1 }, "tuning-path-syntax"],
    ["model.layers[99].units", { type: "int", min: 1, max: 4 }, "tuning-path-nowhere"],
    ["model.none.units", { type: "int", min: 1, max: 4 }, "tuning-path-nowhere"],
    ["seed", { type: "int", min: 1, max: 4 }, "tuning-path-seed"],
    ["__proto__.x", { type: "int", min: 1, max: 4 }, "tuning-path-proto"],
    // Around the learning rate every space varies: before or after it (`genBrokenTuning`).
    ["optimizer", { type: "choice", values: ["adam", "sgd"] }, "tuning-path-nested"],
    ["optimizer.learningRate", { type: "uniform", min: 0.1, max: 0.01 }, "tuning-range-reversed"],
    ["optimizer.learningRate", { type: "logUniform", min: 0, max: 0.01 }, "tuning-range-log-zero"],
    ["optimizer.learningRate", { type: "uniform", min: -1, max: 0.01 }, "tuning-range-corner"],
    ["batchSize", { type: "int", min: 0, max: 4 }, "tuning-range-corner"],
    ["batchSize", { type: "int", min: 4, max: 1 }, "tuning-range-reversed"],
    ["optimizer.learningRate", { type: "choice", values: [] }, "tuning-choice-empty"],
    ["optimizer.learningRate", { type: "choice", values: [0.01, "fast", 0.1] }, "tuning-choice-value"],
    ["optimizer.learningRate", { type: "choice", values: [0.01, 0.1, 0.01] }, "tuning-choice-duplicate"],
    ["epochs", { type: "normal", min: 1, max: 2 }, "tuning-range-kind"],
  ]);
}

/** A valid POST /tuning-jobs body (it may still be refused for its base's corners: a 422, never a 500). */
export function genTuning(r: Rand): Generated {
  const train = genTrain(r);
  // base may not carry a seed (each trial's comes from the tuning job's): genBrokenTuning sends one.
  const { seed: _seed, ...base } = train.body;
  const all = rangesFor(r, base);
  const n = r.int(1, all.length);
  const searchSpace = Object.fromEntries(all.slice(0, n));
  const algorithm = r.pick(["grid", "random", "bayesian"] as const);
  if (algorithm === "grid")
    for (const [k, v] of Object.entries(searchSpace))
      if ((v as { type: string }).type === "logUniform") delete searchSpace[k];
  if (Object.keys(searchSpace).length === 0) searchSpace.batchSize = { type: "int", min: 1, max: 2 };
  const body: TreeObject = {
    base,
    searchSpace,
    objective: r.bool(0.8)
      ? { metric: "loss", goal: "minimize" }
      : {
          metric: r.pick(["valLoss", "accuracy", "valAccuracy", "precision"]),
          goal: r.pick(["minimize", "maximize"]),
        },
    algorithm,
    maxTrials: r.int(1, 3),
    parallelTrials: r.int(1, 2),
  };
  if (r.bool()) body.seed = r.int(0, 2 ** 32 - 1);
  if (r.bool(0.3)) body.earlyStopping = "median";
  return { route: "/tuning-jobs", body, plan: train.plan };
}

/** A tuning body with one search-space entry broken; its kind names how. */
export function genBrokenTuning(r: Rand): { body: TreeObject; kind: string } {
  const valid = genTuning(r).body;
  if (r.bool(0.1))
    return {
      body: { ...valid, base: { ...(valid.base as TreeObject), seed: r.int(0, 2 ** 32 - 1) } },
      kind: "tuning-base-seed",
    };
  const [path, range, kind] = brokenEntry(r);
  const space = valid.searchSpace as TreeObject;
  // A nested path is refused in either order; the others replace a same-named entry, so go last.
  const searchSpace =
    kind === "tuning-path-nested" && r.bool() ? { [path]: range, ...space } : { ...space, [path]: range };
  return { body: { ...valid, searchSpace }, kind };
}
