/** Fuzz generators: bidirectional around a recurrent layer and timeDistributed around a dense one (docs/backprop.md §23). */

import { genRecurrent } from "./gen-recurrent.js";
import type { TreeObject } from "./json-text.js";
import type { Rand } from "./rand.js";

/** A parameter the test expects, as gen-model's `ParamShape`. */
interface Shaped {
  key: string;
  shape: number[];
}

/**
 * A bidirectional layer around a random recurrent layer on `[timesteps, features]`, its merge mode
 * at random, with both copies' weights (`<name>/forward_<inner>/…` then `<name>/backward_<inner>/…`).
 * @returns the layer and its output shape (the last axis doubled by `concat`).
 */
export function genBidirectional(
  r: Rand,
  shape: readonly number[],
  nameFor: (type: string, layer: TreeObject) => string,
  params: Shaped[],
  returnSequences: boolean,
): { layer: TreeObject; shape: number[] } {
  const inner: Shaped[] = [];
  const innerName = r.bool(0.3) ? r.pick(["enc", "rnn_a", "L-1"]) : undefined;
  const g = genRecurrent(
    r,
    shape,
    (type, l) => {
      if (innerName) l.name = innerName;
      return innerName ?? type;
    },
    inner,
    returnSequences,
  );
  const layer: TreeObject = { type: "bidirectional", layer: g.layer };
  const mergeMode = r.pick(["concat", "sum", "mul", "ave", undefined]);
  if (mergeMode) layer.mergeMode = mergeMode;
  const name = nameFor("bidirectional", layer);
  for (const dir of ["forward", "backward"])
    for (const p of inner) params.push({ key: `${name}/${dir}_${p.key}`, shape: p.shape });
  const out = [...g.shape];
  if ((mergeMode ?? "concat") === "concat") out[out.length - 1]! *= 2;
  return { layer, shape: out };
}

/** A timeDistributed dense on `[timesteps, features]`; its weights `<name>/kernel`, `<name>/bias`. */
export function genTimeDistributed(
  r: Rand,
  shape: readonly number[],
  nameFor: (type: string, layer: TreeObject) => string,
  params: Shaped[],
): { layer: TreeObject; shape: number[] } {
  const [steps, features] = shape as [number, number];
  const units = r.int(1, 3);
  const dense: TreeObject = { type: "dense", units };
  if (r.bool(0.4)) dense.activation = r.pick(["tanh", "relu", "sigmoid", "softmax", "linear"]);
  const useBias = r.bool(0.85);
  if (!useBias || r.bool(0.2)) dense.useBias = useBias;
  const layer: TreeObject = { type: "timeDistributed", layer: dense };
  const name = nameFor("timeDistributed", layer);
  params.push({ key: `${name}/kernel`, shape: [features, units] });
  if (useBias) params.push({ key: `${name}/bias`, shape: [units] });
  return { layer, shape: [steps, units] };
}
