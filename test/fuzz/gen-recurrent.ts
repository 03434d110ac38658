/** Fuzz generators: simpleRNN, lstm and gru layers with their options (docs/backprop.md §22). */
import { genInitializer } from "./gen-weight-options.js";
import { isObject, type Tree, type TreeObject } from "./json-text.js";
import type { Rand } from "./rand.js";

/** The recurrent kinds. */
export const RECURRENT_LAYERS = ["simpleRNN", "lstm", "gru"] as const;

/** The element-wise activations a recurrent cell takes (every one but softmax). */
const CELL_ACTIVATIONS = [
  "linear",
  "sigmoid",
  "tanh",
  "relu",
  "elu",
  "softsign",
  "relu6",
  "hardSigmoid",
  "swish",
] as const;

/** A parameter the test expects, as gen-model's `ParamShape`. */
interface Shaped {
  key: string;
  shape: number[];
}

const isOrthogonal = (init: Tree) => init === "orthogonal" || (isObject(init) && init.type === "orthogonal");

/**
 * One recurrent layer on `[timesteps, features]` (`shape`), options at random, with its weights'
 * keys and shapes. `last`: the layer feeding a dense head returns its last state unless a flatten
 * follows (the caller decides from the returned shape).
 * @returns the layer and its output shape: `[timesteps, units]` with returnSequences, else `[units]`.
 */
export function genRecurrent(
  r: Rand,
  shape: readonly number[],
  nameFor: (type: string, layer: TreeObject) => string,
  params: Shaped[],
  returnSequences: boolean,
): { layer: TreeObject; shape: number[] } {
  const [steps, features] = shape as [number, number];
  const type = r.pick(RECURRENT_LAYERS);
  const units = r.int(1, 3);
  const layer: TreeObject = { type, units };
  if (returnSequences || r.bool(0.2)) layer.returnSequences = returnSequences;
  if (r.bool(0.3)) layer.activation = r.pick(CELL_ACTIVATIONS);
  if (type !== "simpleRNN" && r.bool(0.3)) layer.recurrentActivation = r.pick(CELL_ACTIVATIONS);
  if (r.bool(0.3)) layer.goBackwards = r.bool(0.5);
  if (r.bool(0.1)) layer.returnState = false;
  // dropout and recurrentDropout from 0 to nearly 1 (docs/backprop.md §22.7).
  if (r.bool(0.25)) layer.dropout = r.pick([0, 0.1, 0.5, 0.9, 0.999999]);
  if (r.bool(0.25)) layer.recurrentDropout = r.pick([0, 0.1, 0.5, 0.9, 0.999999]);
  const useBias = r.bool(0.85);
  if (!useBias || r.bool(0.2)) layer.useBias = useBias;
  if (type === "lstm" && r.bool(0.3)) layer.unitForgetBias = r.bool(0.5);
  const resetAfter = type === "gru" && r.bool(0.4);
  if (type === "gru" && (resetAfter || r.bool(0.2))) layer.resetAfter = resetAfter;
  if (r.bool(0.15)) layer.kernelInitializer = genInitializer(r);
  if (r.bool(0.15)) layer.recurrentInitializer = genInitializer(r);
  if (r.bool(0.1)) {
    const init = genInitializer(r);
    // orthogonal needs a matrix: a vector bias is refused with a 422.
    if (!isOrthogonal(init) || resetAfter) layer.biasInitializer = init;
  }
  const name = nameFor(type, layer);
  const width = { simpleRNN: 1, lstm: 4, gru: 3 }[type] * units;
  params.push({ key: `${name}/kernel`, shape: [features, width] });
  params.push({ key: `${name}/recurrent_kernel`, shape: [units, width] });
  if (useBias) params.push({ key: `${name}/bias`, shape: resetAfter ? [2, width] : [width] });
  return { layer, shape: returnSequences ? [steps, units] : [units] };
}
