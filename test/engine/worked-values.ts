/**
 * The worked values of docs/backprop.md, computed by the engine. docs.test.ts compares them with
 * the `values …` blocks of the document; print them with
 * `npx tsx -e 'import("./test/engine/worked-values.ts").then((m) => console.log(m.formatBlocks()))'`.
 */
import { computeGradients, type ModelSpec, type NamedTensors } from "../../src/engine/index.js";
import { activate, activateBackward } from "../../src/engine/layers/activation.js";
import { Conv2d } from "../../src/engine/layers/conv2d.js";
import { Dense } from "../../src/engine/layers/dense.js";
import { AveragePooling2d, MaxPooling2d } from "../../src/engine/layers/pooling.js";
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

/** The chain rule's example (docs/backprop.md §3.1): f(x) = (x + 1)² as dense 1 → 1 and MSE against 0. */
export function chainRuleValues(): Values {
  const r = computeGradients({
    model: { inputShape: [1], layers: [{ type: "dense", units: 1 }], loss: "meanSquaredError" },
    seed: 0,
    weights: {
      "dense_0/kernel": { shape: [1, 1], data: Float64Array.from([1]) },
      "dense_0/bias": { shape: [1], data: Float64Array.from([1]) },
    },
    data: { n: 1, x: Float64Array.from([2]), y: Float64Array.from([0]) },
  });
  return {
    x: [2],
    f: [r.loss],
    "df/db": Array.from(r.gradients["dense_0/bias"]!.data),
    "df/dw": Array.from(r.gradients["dense_0/kernel"]!.data),
  };
}

/** Sigmoid and softmax values and derivatives (docs/backprop.md §5.1, §5.5). */
export function activationValues(): Values {
  const xs = Float64Array.from([0, 2]);
  const s = new Float64Array(2);
  activate("sigmoid", xs, s, 2);
  const ds = new Float64Array(2);
  activateBackward("sigmoid", s, Float64Array.from([1, 1]), ds, 2);
  const z = Float64Array.from([1, 2, 3]);
  const p = new Float64Array(3);
  activate("softmax", z, p, 3);
  // The Jacobian row by row: dx for dy = e_j is row j, ∂P_j/∂x_u.
  const jacobian: number[] = [];
  for (let j = 0; j < 3; j++) {
    const dy = new Float64Array(3);
    dy[j] = 1;
    const dx = new Float64Array(3);
    activateBackward("softmax", p, dy, dx, 3);
    jacobian.push(...dx);
  }
  return {
    "sigmoid x": Array.from(xs),
    "sigmoid y": Array.from(s),
    "sigmoid dy/dx": Array.from(ds),
    "softmax x": Array.from(z),
    "softmax P": Array.from(p),
    "softmax dP/dx": jacobian,
  };
}

/** The convolution's worked example (docs/backprop.md §7.4), through the engine's conv2d layer. */
export function convValues(): Values {
  const X = [1, 2, 3, 4, 5, 6, 7, 8, 9];
  const K = [1, 2, 3, 4];
  const conv = new Conv2d("c", [3, 3, 1], 1, [2, 2], [1, 1], "valid", true);
  conv.kernel.value.set(K);
  conv.bias!.value.set([0.5]);
  const Y = Array.from(conv.forward(Float64Array.from(X), 1));
  const dY = [1, 1, 1, 1];
  const dX = Array.from(conv.backward(Float64Array.from(dY), 1));
  return {
    X,
    K,
    b: [0.5],
    Y,
    dY,
    "dL/dK": Array.from(conv.kernel.grad),
    "dL/db": Array.from(conv.bias!.grad),
    "dL/dX": dX,
  };
}

/** Max and average pooling's worked examples (docs/backprop.md §8.1, §8.2). */
export function poolingValues(): Values {
  const max = new MaxPooling2d("p", [2, 4, 1], [2, 2], [2, 2], "valid");
  const maxX = [3, 3, 5, 5, 3, 3, 2, 5];
  const maxY = Array.from(max.forward(Float64Array.from(maxX), 1));
  const maxDX = Array.from(max.backward(Float64Array.from([1, 2]), 1));
  const overlap = new MaxPooling2d("p", [1, 4, 1], [1, 2], [1, 1], "valid");
  const overlapY = Array.from(overlap.forward(Float64Array.from([0, 9, 1, 2]), 1));
  const overlapDX = Array.from(overlap.backward(Float64Array.from([1, 10, 100]), 1));
  const avg = new AveragePooling2d("p", [3, 3, 1], [2, 2], [2, 2], "same");
  const avgX = [1, 2, 3, 4, 5, 6, 7, 8, 9];
  const avgY = Array.from(avg.forward(Float64Array.from(avgX), 1));
  const avgDX = Array.from(avg.backward(Float64Array.from([1, 1, 1, 1]), 1));
  return {
    "max X": maxX,
    "max Y": maxY,
    "max dY": [1, 2],
    "max dL/dX": maxDX,
    "overlap X": [0, 9, 1, 2],
    "overlap Y": overlapY,
    "overlap dY": [1, 10, 100],
    "overlap dL/dX": overlapDX,
    "average X": avgX,
    "average Y": avgY,
    "average dY": [1, 1, 1, 1],
    "average dL/dX": avgDX,
  };
}

/** Every block of worked values, by the name it has in the document (```values <name>). */
export function workedValues(): Record<string, Values> {
  return {
    "chain-rule": chainRuleValues(),
    affine: affineValues(),
    activations: activationValues(),
    conv2d: convValues(),
    pooling: poolingValues(),
    "seed-network": seedNetworkValues(),
  };
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
