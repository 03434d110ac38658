/**
 * Gradient flow through time (docs/backprop.md §22.5): the per-step states and norms ‖∂L/∂h_t‖
 * that computeGradients reports for a recurrent layer, checked against an independent
 * computation: a float64 forward pass written here from §22.2–§22.3, in which h_t itself is
 * perturbed (which the engine cannot do), differentiated by central differences.
 */
import { describe, expect, it } from "vitest";
import {
  computeGradients,
  initWeights,
  type LayerSpec,
  type ModelSpec,
  train,
} from "../../src/engine/index.js";
import { Rng } from "../../src/engine/rng.js";
import type { NamedTensors } from "../../src/engine/tensor.js";
import { addingProblem } from "../../src/service/sequence-datasets.js";

const T = 6;
const F = 2;
const UNITS = 3;

/** `[6 steps, 2 features]` → the recurrent layer → (flatten →) dense 2, mean squared error. */
function spec(layer: LayerSpec): ModelSpec {
  const seq = (layer as { returnSequences?: boolean }).returnSequences === true;
  return {
    inputShape: [T, F],
    layers: [layer, ...(seq ? [{ type: "flatten" } as const] : []), { type: "dense", units: 2 }],
    loss: "meanSquaredError",
  };
}

const sigmoid = (z: number) => 1 / (1 + Math.exp(-z));

/**
 * The model's loss for one sample, written out: `kind` simpleRNN (tanh) or lstm (tanh, sigmoid
 * gates, Keras' gate order i, f, c, o), h_0 = c_0 = 0; `bump` adds `eps` to unit j of the state
 * h_t (t = 1 … T, processing order) after step t computes it, before anything reads it.
 */
function referenceLoss(
  kind: "simpleRNN" | "lstm",
  opts: { returnSequences: boolean; goBackwards: boolean },
  w: NamedTensors,
  x: number[],
  target: number[],
  bump?: { t: number; j: number; eps: number },
): { loss: number; states: number[] } {
  const g = kind === "lstm" ? 4 : 1;
  const width = g * UNITS;
  const W = w["r/kernel"]!.data;
  const U = w["r/recurrent_kernel"]!.data;
  const b = w["r/bias"]!.data;
  let h = new Array<number>(UNITS).fill(0);
  let c = new Array<number>(UNITS).fill(0);
  const hs: number[][] = [];
  for (let s = 0; s < T; s++) {
    const t = opts.goBackwards ? T - 1 - s : s;
    const z = new Array<number>(width).fill(0);
    for (let k = 0; k < width; k++) {
      let v = b[k]!;
      for (let i = 0; i < F; i++) v += x[t * F + i]! * W[i * width + k]!;
      for (let i = 0; i < UNITS; i++) v += h[i]! * U[i * width + k]!;
      z[k] = v;
    }
    if (kind === "simpleRNN") h = z.map(Math.tanh);
    else {
      const nextC = c.map((cj, j) => {
        const ig = sigmoid(z[j]!);
        const fg = sigmoid(z[UNITS + j]!);
        return fg * cj + ig * Math.tanh(z[2 * UNITS + j]!);
      });
      h = nextC.map((cj, j) => sigmoid(z[3 * UNITS + j]!) * Math.tanh(cj));
      c = nextC;
    }
    if (bump && bump.t === s + 1) h[bump.j]! += bump.eps;
    hs.push(h);
  }
  const features = opts.returnSequences ? hs.flat() : h;
  const dense = Object.keys(w)
    .find((k) => k.startsWith("dense") && k.endsWith("/kernel"))!
    .split("/")[0]!;
  const D = w[`${dense}/kernel`]!;
  const db = w[`${dense}/bias`]!.data;
  let loss = 0;
  for (let o = 0; o < 2; o++) {
    let y = db[o]!;
    for (let i = 0; i < features.length; i++) y += features[i]! * D.data[i * 2 + o]!;
    loss += (y - target[o]!) ** 2 / 2;
  }
  return { loss, states: hs.flat() };
}

const cases: { name: string; kind: "simpleRNN" | "lstm"; returnSequences: boolean; goBackwards: boolean }[] =
  [
    { name: "simpleRNN", kind: "simpleRNN", returnSequences: false, goBackwards: false },
    {
      name: "simpleRNN returnSequences goBackwards",
      kind: "simpleRNN",
      returnSequences: true,
      goBackwards: true,
    },
    { name: "lstm", kind: "lstm", returnSequences: false, goBackwards: false },
    { name: "lstm returnSequences", kind: "lstm", returnSequences: true, goBackwards: false },
  ];

describe("/gradients' per-step states and ‖∂L/∂h_t‖ (computeGradients)", () => {
  it.each(cases)("$name: equal to central differences on h_t (relative error < 1e-7)", (c) => {
    const layer = {
      type: c.kind,
      name: "r",
      units: UNITS,
      returnSequences: c.returnSequences,
      goBackwards: c.goBackwards,
      ...(c.kind === "lstm" ? { recurrentActivation: "sigmoid" } : {}),
    } as LayerSpec;
    const model = spec(layer);
    const weights = initWeights(model, 3);
    const rng = new Rng(8);
    // Weights large enough that the gradient changes from step to step; a bias that matters.
    for (const t of Object.values(weights))
      for (let j = 0; j < t.data.length; j++) t.data[j] = rng.uniform(-0.9, 0.9);
    const x = Array.from({ length: T * F }, () => rng.uniform(-1, 1));
    const target = [0.3, -0.7];
    const r = computeGradients({
      model,
      weights,
      seed: 1,
      data: { n: 1, x: Float64Array.from(x), y: Float64Array.from(target) },
    });
    const flow = r.recurrent!.r!;
    expect(flow.states.shape).toEqual([1, T, UNITS]);
    expect(flow.stateGradientNorm).toHaveLength(T);
    const eps = 1e-5;
    for (let t = 1; t <= T; t++) {
      const grad = Array.from({ length: UNITS }, (_, j) => {
        const up = referenceLoss(c.kind, c, weights, x, target, { t, j, eps }).loss;
        const down = referenceLoss(c.kind, c, weights, x, target, { t, j, eps: -eps }).loss;
        return (up - down) / (2 * eps);
      });
      const norm = Math.hypot(...grad);
      expect(norm).toBeGreaterThan(1e-4);
      expect(Math.abs(flow.stateGradientNorm[t - 1]! - norm) / norm).toBeLessThan(1e-7);
    }
    // The reference computes the engine's model: the same loss and states h_1 … h_T, to rounding.
    const ref = referenceLoss(c.kind, c, weights, x, target);
    expect(ref.loss).toBeCloseTo(r.loss, 14);
    expect(ref.states).toHaveLength(T * UNITS);
    for (let i = 0; i < ref.states.length; i++) expect(flow.states.data[i]).toBeCloseTo(ref.states[i]!, 14);
  });

  it("no recurrent layer, no field", () => {
    const model: ModelSpec = {
      inputShape: [2],
      layers: [{ type: "dense", units: 1 }],
      loss: "meanSquaredError",
    };
    const r = computeGradients({
      model,
      seed: 1,
      data: { n: 1, x: Float64Array.of(1, 2), y: Float64Array.of(0) },
    });
    expect(r.recurrent).toBeUndefined();
  });
});

describe("telemetry's stateGradientNorm", () => {
  const model = spec({ type: "simpleRNN", name: "r", units: UNITS });
  const rng = new Rng(4);
  const n = 5;
  const x = Float64Array.from({ length: n * T * F }, () => rng.uniform(-1, 1));
  const y = Float64Array.from({ length: n * 2 }, () => rng.uniform(-1, 1));
  const base = {
    model,
    data: { n, x, y },
    optimizer: { type: "sgd" as const, learningRate: 0.1 },
    seed: 9,
    shuffle: false,
  };

  it("one batch per epoch: the mean over the samples of each one's ‖∂l/∂h_t‖ (/gradients', one sample at a time)", () => {
    const r = train({ ...base, epochs: 2, batchSize: n, telemetry: true });
    const norms = r.telemetry!.stateGradientNorm!.r!;
    expect(norms).toHaveLength(2);
    expect(norms[0]).toHaveLength(T);
    const weights = initWeights(model, 9);
    const perSample = Array.from(
      { length: n },
      (_, i) =>
        computeGradients({
          model,
          weights,
          seed: 1,
          data: { n: 1, x: x.subarray(i * T * F, (i + 1) * T * F), y: y.subarray(i * 2, i * 2 + 2) },
        }).recurrent!.r!.stateGradientNorm,
    );
    for (let t = 0; t < T; t++) {
      const mean = perSample.reduce((s, p) => s + p[t]!, 0) / n;
      expect(norms[0]![t]).toBeCloseTo(mean, 14);
    }
    // The second epoch is at other weights: other norms.
    expect(norms[1]![T - 1]).not.toBe(norms[0]![T - 1]);
  });

  it("is the same whatever the batch size at the same weights (a per-sample mean, not per batch)", () => {
    const frozen = {
      ...base,
      optimizer: { type: "sgd" as const, learningRate: 0 },
      epochs: 1,
      telemetry: true,
    };
    const a = train({ ...frozen, batchSize: 2 }).telemetry!.stateGradientNorm!.r![0]!;
    const b = train({ ...frozen, batchSize: 5 }).telemetry!.stateGradientNorm!.r![0]!;
    for (let t = 0; t < T; t++) expect(a[t]).toBeCloseTo(b[t]!, 14);
  });

  it("off: no field, and the training is bit-identical", () => {
    const on = train({ ...base, epochs: 3, batchSize: 2, telemetry: true });
    const off = train({ ...base, epochs: 3, batchSize: 2 });
    expect(off.telemetry).toBeUndefined();
    expect(on.weightsSha256).toBe(off.weightsSha256);
    expect(Object.keys(on.telemetry!.stateGradientNorm!)).toEqual(["r"]);
  });
});

describe("bidirectional: both copies, under their weight prefixes", () => {
  // A linear simpleRNN u = 1, W = 1, U = 1/2 over x = (1, 2, 3), mergeMode mul, no returnSequences
  // (docs/backprop.md §23.1): forward states 1, 2.5, 4.25; backward (reading 3, 2, 1) 3, 3.5, 2.75.
  // y = 4.25 · 2.75 = 11.6875 against target 0: δy = 2y = 23.375, δh_3 = δy · (the other copy's
  // state) = 64.28125 forward, 99.34375 backward, halved (U) at each step back.
  const bidi: ModelSpec = {
    inputShape: [3, 1],
    layers: [
      {
        type: "bidirectional",
        name: "b",
        mergeMode: "mul",
        layer: { type: "simpleRNN", units: 1, activation: "linear", useBias: false },
      } as LayerSpec,
    ],
    loss: "meanSquaredError",
  };
  const weights: NamedTensors = {};
  for (const dir of ["forward", "backward"]) {
    weights[`b/${dir}_simpleRNN/kernel`] = { shape: [1, 1], data: Float64Array.of(1) };
    weights[`b/${dir}_simpleRNN/recurrent_kernel`] = { shape: [1, 1], data: Float64Array.of(0.5) };
  }
  const data = { n: 1, x: Float64Array.of(1, 2, 3), y: Float64Array.of(0) };
  const forward = [16.0703125, 32.140625, 64.28125];
  const backward = [24.8359375, 49.671875, 99.34375];

  it("/gradients: recurrent.<b>/forward_<inner> and <b>/backward_<inner>, hand-computed", () => {
    const r = computeGradients({ model: bidi, weights, seed: 1, data });
    expect(Object.keys(r.recurrent!)).toEqual(["b/forward_simpleRNN", "b/backward_simpleRNN"]);
    expect(r.recurrent!["b/forward_simpleRNN"]!.stateGradientNorm).toEqual(forward);
    expect(r.recurrent!["b/backward_simpleRNN"]!.stateGradientNorm).toEqual(backward);
    // The states in each copy's processing order.
    expect([...r.recurrent!["b/forward_simpleRNN"]!.states.data]).toEqual([1, 2.5, 4.25]);
    expect([...r.recurrent!["b/backward_simpleRNN"]!.states.data]).toEqual([3, 3.5, 2.75]);
  });

  it("telemetry: one epoch of one sample at these weights gives the same norms", () => {
    const r = train({
      model: bidi,
      data,
      optimizer: { type: "sgd", learningRate: 0.001 },
      epochs: 2,
      batchSize: 1,
      seed: 1,
      initialWeights: weights,
      telemetry: true,
    });
    const norms = r.telemetry!.stateGradientNorm!;
    expect(Object.keys(norms)).toEqual(["b/forward_simpleRNN", "b/backward_simpleRNN"]);
    expect(norms["b/forward_simpleRNN"]![0]).toEqual(forward);
    expect(norms["b/backward_simpleRNN"]![0]).toEqual(backward);
    expect(norms["b/forward_simpleRNN"]).toHaveLength(2);
  });
});

describe("without recurrent layers", () => {
  it("telemetry has no stateGradientNorm", () => {
    const model: ModelSpec = {
      inputShape: [2],
      layers: [{ type: "dense", units: 1 }],
      loss: "meanSquaredError",
    };
    const r = train({
      model,
      data: { n: 2, x: Float64Array.of(1, 2, 3, 4), y: Float64Array.of(0, 1) },
      optimizer: { type: "sgd", learningRate: 0.1 },
      epochs: 1,
      seed: 1,
      telemetry: true,
    });
    expect(r.telemetry!.stateGradientNorm).toBeUndefined();
  });
});

describe("NaN forensics of a recurrent model: the gradient exploding through time", () => {
  // A linear simpleRNN over 20 steps of the adding problem, plain SGD at 0.5: the state's gradient
  // grows step by step back until an update sends the weights, then the states, to infinity.
  const T2 = 20;
  const { x, y } = addingProblem(T2, 64, 5);
  const run = (clip: { clipnorm?: number }) =>
    train({
      model: {
        inputShape: [T2, 2],
        layers: [
          { type: "simpleRNN", units: 4, activation: "linear" },
          { type: "dense", units: 1 },
        ],
        loss: "meanSquaredError",
      },
      data: { n: 64, x, y },
      optimizer: { type: "sgd", learningRate: 0.5, ...clip },
      epochs: 20,
      batchSize: 16,
      seed: 1,
    });

  it("the message names the recurrent layer and points to the optimizer's clipnorm", () => {
    const d = run({}).diverged!;
    expect(d).toMatchObject({ epoch: 0, batch: 2, stage: "activation", layer: "simpleRNN_0" });
    expect(d.message).toContain(
      "lower the learning rate or scale the inputs; the gradient of the recurrent simpleRNN_0 can explode " +
        "through time (docs/backprop.md §22.2): clip it with the optimizer's clipnorm (e.g. 1), globalClipnorm " +
        "or clipvalue (docs/backprop.md §15.1)",
    );
  });

  it("and clipnorm 1, as it says, trains the same run to the end", () => {
    const r = run({ clipnorm: 1 });
    expect(r.diverged).toBeUndefined();
    expect(r.epochsRun).toBe(20);
    expect(r.history.loss[19]).toBeCloseTo(0.1414, 3);
  });

  it("an optimizer that already clips is told to clip harder", () => {
    const r = train({
      model: {
        inputShape: [T2, 2],
        layers: [
          { type: "simpleRNN", units: 4, activation: "linear" },
          { type: "dense", units: 1 },
        ],
        loss: "meanSquaredError",
      },
      data: { n: 64, x, y },
      optimizer: { type: "sgd", learningRate: 0.5, globalClipnorm: 1e100 },
      epochs: 20,
      batchSize: 16,
      seed: 1,
    });
    expect(r.diverged!.message).toContain(
      "the optimizer already clips (globalClipnorm 1e+100) the gradient of the recurrent simpleRNN_0: a smaller optimizer.globalClipnorm",
    );
  });

  it("a model without a recurrent layer gets no such advice", () => {
    const r = train({
      model: { inputShape: [2], layers: [{ type: "dense", units: 1 }], loss: "meanSquaredError" },
      data: { n: 2, x: Float64Array.of(1e3, 2e3, 3e3, 4e3), y: Float64Array.of(0, 1) },
      optimizer: { type: "sgd", learningRate: 10 },
      epochs: 50,
      seed: 1,
    });
    expect(r.diverged!.message).toMatch(/lower the learning rate or scale the inputs$/);
  });
});
