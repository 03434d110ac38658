/**
 * The worked values of docs/backprop.md, computed by the engine. docs.test.ts compares them with
 * the `values …` blocks of the document; print them with
 * `npx tsx -e 'import("./test/engine/worked-values.ts").then((m) => console.log(m.formatBlocks()))'`.
 */
import { computeGradients, type ModelSpec, type NamedTensors } from "../../src/engine/index.js";
import { Dense } from "../../src/engine/layers/dense.js";
import { lossAndGrad } from "../../src/engine/losses.js";

/** Named lists of numbers, in the order the document lists them. */
export type Values = Record<string, number[]>;

/** The seed network (docs/backprop.md §1.2): 2 → dense(3, sigmoid) → dense(3, sigmoid) → softmax. */
export const SEED_NETWORK: ModelSpec = {
  inputShape: [2],
  layers: [
    { type: "dense", units: 3, activation: "sigmoid" },
    { type: "dense", units: 3, activation: "sigmoid" },
    { type: "activation", activation: "softmax" },
  ],
  loss: "categoricalCrossentropy",
};
export const SEED_X = [0.5, -1.2];
export const SEED_T = [0, 1, 0];
export const SEED = 7;

/**
 * The seed network's forward pass, deltas and gradients on its one sample, with seeded weights
 * (docs/backprop.md §12): every value from the engine itself.
 */
export function seedNetworkValues(): Values {
  const data = { n: 1, x: Float64Array.from(SEED_X), y: Float64Array.from(SEED_T) };
  const r = computeGradients({ model: SEED_NETWORK, seed: SEED, data });
  const w = r.weights;
  // The same network with every activation as a layer of its own, to see the pre-activations.
  const split: ModelSpec = {
    inputShape: [2],
    layers: [
      { type: "dense", units: 3 },
      { type: "activation", activation: "sigmoid" },
      { type: "dense", units: 3 },
      { type: "activation", activation: "sigmoid" },
      { type: "activation", activation: "softmax" },
    ],
    loss: "categoricalCrossentropy",
  };
  const splitWeights: NamedTensors = {
    "dense_0/kernel": w["dense_0/kernel"]!,
    "dense_0/bias": w["dense_0/bias"]!,
    "dense_2/kernel": w["dense_1/kernel"]!,
    "dense_2/bias": w["dense_1/bias"]!,
  };
  const s2 = computeGradients({ model: split, seed: SEED, weights: splitWeights, data });
  const act = (i: number) => Array.from(s2.activations[i]!.output.data);
  const h = Float64Array.from(act(3));
  // ∂L/∂h: the fused softmax + cross-entropy gradient at the softmax's input.
  const dh = new Float64Array(3);
  lossAndGrad({ loss: "categoricalCrossentropy", fused: "softmax" }, h, data.y, 1, 3, dh, 1);
  // ∂L/∂s = δ2·W2ᵀ, through the dense layer's own backward.
  const d2 = new Dense("d", [3], 3, true);
  d2.kernel.value.set(w["dense_1/kernel"]!.data);
  d2.bias!.value.set(w["dense_1/bias"]!.data);
  d2.forward(Float64Array.from(act(1)), 1);
  const ds = d2.backward(Float64Array.from(r.gradients["dense_1/bias"]!.data), 1);
  return {
    x: SEED_X,
    t: SEED_T,
    W1: Array.from(w["dense_0/kernel"]!.data),
    b1: Array.from(w["dense_0/bias"]!.data),
    W2: Array.from(w["dense_1/kernel"]!.data),
    b2: Array.from(w["dense_1/bias"]!.data),
    a: act(0),
    s: act(1),
    z: act(2),
    h: act(3),
    y: Array.from(r.output.data),
    L: [r.loss],
    "dL/dh": Array.from(dh),
    delta2: Array.from(r.gradients["dense_1/bias"]!.data),
    "dL/dW2": Array.from(r.gradients["dense_1/kernel"]!.data),
    "dL/db2": Array.from(r.gradients["dense_1/bias"]!.data),
    "dL/ds": Array.from(ds),
    delta1: Array.from(r.gradients["dense_0/bias"]!.data),
    "dL/dW1": Array.from(r.gradients["dense_0/kernel"]!.data),
    "dL/db1": Array.from(r.gradients["dense_0/bias"]!.data),
  };
}

/** The affine layer's worked example (docs/backprop.md §4.3), through the engine's dense layer. */
export function affineValues(): Values {
  const W = [1, 0, -1, 2, 1, 0];
  const b = [0.5, -0.5, 1];
  const X = [1, 2, 3, 4];
  const dY = [1, 0, 2, -1, 1, 0];
  const d = new Dense("d", [2], 3, true);
  d.kernel.value.set(W);
  d.bias!.value.set(b);
  const Y = Array.from(d.forward(Float64Array.from(X), 2));
  const dX = Array.from(d.backward(Float64Array.from(dY), 2));
  return {
    W,
    b,
    X,
    Y,
    dY,
    "dL/dW": Array.from(d.kernel.grad),
    "dL/db": Array.from(d.bias!.grad),
    "dL/dX": dX,
  };
}

/** Every block of worked values, by the name it has in the document (```values <name>). */
export function workedValues(): Record<string, Values> {
  return { "seed-network": seedNetworkValues(), affine: affineValues() };
}

/** The blocks as the document writes them: `name = [v, …]`, shortest round-trip decimals. */
export function formatBlocks(): string {
  return Object.entries(workedValues())
    .map(
      ([name, values]) =>
        `\`\`\`values ${name}\n${Object.entries(values)
          .map(([k, v]) => `${k} = [${v.join(", ")}]`)
          .join("\n")}\n\`\`\``,
    )
    .join("\n\n");
}
