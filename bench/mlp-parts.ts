/**
 * Where a dense network's training step goes, part by part (docs/performance.md, "Dense
 * networks"): the bench's MLP (or `--only=<substring>` of another dense workload), each part of
 * `train()`'s batch loop timed alone over many steps — `zeroGrads`, each layer's forward and
 * backward, the loss with its gradient, the layer-output checks, the optimiser step (SGD) and the
 * gathering of a shuffled batch.
 *
 *   npx tsx bench/mlp-parts.ts [--dtype=float32] [--threads=1] [--min-work=1048576] [--rounds=9] [--steps=400] [--no-native]
 *
 * Medians of `--rounds` rounds of `--steps` steps (wall clock, µs per step); the parts run in the
 * step's order on the step's data, so each one sees warm caches as it does in `train()`.
 */
import { loadavg } from "node:os";
import { nonFiniteOutput } from "../src/engine/forensics.js";
import { Model } from "../src/engine/model.js";
import { nativeKernels, useNativeKernels } from "../src/engine/native.js";
import { makeOptimizer } from "../src/engine/optimizers.js";
import type { Dtype } from "../src/engine/tensor.js";
import { registerNativeKernels } from "../src/native/kernels.js";
import { median, now } from "./timing.js";
import { workloads } from "./workloads.js";

const flags = new Map(
  process.argv.slice(2).map((a) => {
    const [k, v] = a.replace(/^--/, "").split("=");
    return [k!, v ?? "true"] as const;
  }),
);
const dtype = (flags.get("dtype") ?? "float64") as Dtype;
const rounds = Number(flags.get("rounds") ?? 9);
const steps = Number(flags.get("steps") ?? 400);
const w = workloads().find((x) => x.name.includes(flags.get("only") ?? "MLP"));
if (!w) throw new Error("no such workload");
if (flags.has("no-native")) useNativeKernels(null);
else registerNativeKernels();
const threads = flags.get("threads");
// --min-work=N: split products from m·k·n = N on (the default keeps the MLP's on one thread).
const minWork = flags.get("min-work");
if (threads !== undefined)
  nativeKernels()?.setThreads(Number(threads), minWork === undefined ? undefined : Number(minWork));

const model = new Model(w.spec, { dtype });
model.initialise(1);
const params = model.params();
const optimizer = makeOptimizer({ type: "sgd", learningRate: w.learningRate }, params);
const before = params.map((p) => p.value.slice());
const toDtype = (a: Float64Array) => (dtype === "float32" ? Float32Array.from(a) : a);
const X = toDtype(w.x);
const Y = toDtype(w.y);
const inSize = model.inputSize;
const k = model.outputSize;
const b = w.batch;
const batches = Math.floor(w.n / b);
const xb = toDtype(new Float64Array(b * inSize));
const yb = toDtype(new Float64Array(b * k));
const order = Uint32Array.from({ length: w.n }, (_, i) => (i * 7919) % w.n);

const parts = new Map<string, number>();
const add = (key: string, t0: number): number => {
  const t = now();
  parts.set(key, (parts.get(key) ?? 0) + t - t0);
  return t;
};

/** One step of `train()`'s batch loop, each part timed. */
function step(i: number): void {
  const s = (i % batches) * b;
  let t = now();
  for (let r = 0; r < b; r++) {
    const j = order[s + r]!;
    xb.set(X.subarray(j * inSize, (j + 1) * inSize), r * inSize);
    yb.set(Y.subarray(j * k, (j + 1) * k), r * k);
  }
  t = add("gather the batch", t);
  model.zeroGrads();
  t = add("zeroGrads", t);
  let a: Float64Array | Float32Array = xb;
  for (const layer of model.layers) {
    a = layer.forward(a, b);
    t = add(`${layer.name} forward`, t);
  }
  // Model.forward's bookkeeping without its timing: the outputs the checks and the loss read.
  model.forward(xb, b);
  t = now();
  nonFiniteOutput(model);
  t = add("checkOutputs", t);
  const loss = model.loss(yb, b, false, 1 / b);
  t = add("loss alone (no gradient)", t);
  if (!Number.isFinite(loss)) throw new Error("loss");
  model.zeroGrads();
  t = now();
  model.loss(yb, b, true, 1 / b);
  t = add("loss + gradient + backward (all layers)", t);
  optimizer.step(before);
  add("optimizer step (sgd)", t);
}

/** The backward layers alone, timed one by one after a loss gradient. */
function backwardParts(): void {
  const last = model.layers.length - 1;
  let t = now();
  model.zeroGrads();
  t = now();
  // The fused softmax + cross-entropy gives ∂L/∂logits; the layers before it run backward.
  const g = new (dtype === "float32" ? Float32Array : Float64Array)(b * k).fill(1 / b);
  let d: Float64Array | Float32Array = g;
  for (let i = last - 1; i >= 0; i--) {
    t = now();
    d = model.layers[i]!.backward(d, b, i > 0);
    add(`${model.layers[i]!.name} backward`, t);
  }
}

for (let i = 0; i < 200; i++) {
  step(i);
  backwardParts();
}
const results: Map<string, number>[] = [];
const wholeSteps: number[] = [];
for (let r = 0; r < rounds; r++) {
  parts.clear();
  for (let i = 0; i < steps; i++) {
    step(i);
    backwardParts();
  }
  results.push(new Map([...parts].map(([key, v]) => [key, (v / steps) * 1000])));
  // The plain step as train() runs it (in place, no timers inside).
  const t0 = now();
  for (let i = 0; i < steps; i++) {
    const s = (i % batches) * b;
    model.zeroGrads();
    model.forward(X.subarray(s * inSize, (s + b) * inSize), b);
    model.loss(Y.subarray(s * k, (s + b) * k), b, true, 1 / b);
    optimizer.step(before);
  }
  wholeSteps.push(((now() - t0) / steps) * 1000);
}
const whole = median(wholeSteps);
console.log(
  `${w.name}, ${dtype}, ${nativeKernels() ? `native (${nativeKernels()!.kernels}), threads ${threads ?? "default"}` : "no native"}: ` +
    `step ${whole.toFixed(1)} µs, ${((b / whole) * 1e6).toFixed(0)} samples/s; load ${loadavg()
      .map((l) => l.toFixed(2))
      .join(" ")}`,
);
for (const key of results[0]!.keys()) {
  const us = median(results.map((m) => m.get(key) ?? 0));
  console.log(
    `${key.padEnd(42)} ${us.toFixed(1).padStart(8)} µs ${((100 * us) / whole).toFixed(1).padStart(6)} %`,
  );
}
