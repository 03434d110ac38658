/**
 * Where `train()`'s time goes against the bare Model API step (`ourStepRunner`), on the bench's MLP
 * and CNN workloads (docs/performance.md §1):
 * - the step loop for one epoch's batches (unshuffled, no checks besides the optimiser's own);
 * - `train()` for 1 and for E epochs: per epoch `(t(E) − t(1)) / (E − 1)` is the steady state, and
 *   `t(1)` minus one epoch is the fixed cost of a call;
 * - that fixed cost's parts: building and initialising the model, checking the options, the final
 *   pass with and without gradients (`finalState`), the weights' SHA-256 (`provenance`).
 * Medians of `--rounds` rounds (default 7) of the process's CPU time (user + system: on a shared
 * machine less disturbed by other processes than the wall clock; `--clock=wall` for that).
 * `--only=<substring>` picks a workload; `--epochs=E`.
 *
 * Profile a steady-state run with:
 *   node --cpu-prof --cpu-prof-dir=bench/results --import tsx bench/profile-train.ts --loop=MLP
 * (`--loop=<workload>` only calls `train()` for E epochs, repeatedly, for about 5 s.)
 */
import { loadavg } from "node:os";
import { train } from "../src/engine/index.js";
import { buildModel } from "../src/engine/inspect.js";
import { checkTrainOptions } from "../src/engine/train-check.js";
import { finalState, provenance } from "../src/engine/training/result.js";
import { ourStepRunner } from "./ours.js";
import { median, now as wall } from "./timing.js";
import { type Workload, workloads } from "./workloads.js";

const flags = new Map(
  process.argv.slice(2).map((a) => {
    const [k, v] = a.replace(/^--/, "").split("=");
    return [k!, v ?? "true"] as const;
  }),
);
const rounds = Number(flags.get("rounds") ?? 7);
const epochs = Number(flags.get("epochs") ?? 16);
const only = flags.get("only");
const loop = flags.get("loop");
/** Milliseconds of the process's CPU time, or of the wall clock with `--clock=wall`. */
const now =
  flags.get("clock") === "wall"
    ? wall
    : () => {
        const u = process.cpuUsage();
        return (u.user + u.system) / 1000;
      };

function trainOnce(w: Workload, e: number, finalGradients = true): void {
  train({
    model: w.spec,
    data: { n: w.n, x: w.x, y: w.y },
    optimizer: { type: "sgd", learningRate: w.learningRate },
    epochs: e,
    batchSize: w.batch,
    seed: 1,
    finalGradients,
  });
}

/** Median milliseconds of `f` over `rounds` rounds, after one call to warm it up. */
function time(f: () => void, reps = 1): number {
  f();
  const ms: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const t0 = now();
    for (let i = 0; i < reps; i++) f();
    ms.push((now() - t0) / reps);
  }
  return median(ms);
}

function profile(w: Workload): void {
  const batches = Math.ceil(w.n / w.batch);
  const step = ourStepRunner(w);
  step.enter?.();
  const stepEpoch = time(() => {
    for (let i = 0; i < batches; i++) step.step();
  }, 4);
  const t1 = time(() => trainOnce(w, 1));
  const tE = time(() => trainOnce(w, epochs));
  const tELean = time(() => trainOnce(w, epochs, false));
  const perEpoch = (tE - t1) / (epochs - 1);
  const fixed = t1 - perEpoch;
  const data = { n: w.n, x: w.x, y: w.y };
  const opts = {
    model: w.spec,
    data,
    optimizer: { type: "sgd" as const, learningRate: w.learningRate },
    epochs: 1,
    seed: 1,
  };
  const model = buildModel(w.spec);
  model.initialise(1);
  const parts: [string, number][] = [
    [
      "build + initialise",
      time(() => {
        const m = buildModel(w.spec);
        m.initialise(1);
      }, 4),
    ],
    ["check options + data", time(() => checkTrainOptions(opts, model.summary()), 4)],
    ["final pass with gradients", time(() => finalState(model, data, w.n, 0, undefined, [], true), 4)],
    ["final pass without gradients", time(() => finalState(model, data, w.n, 0, undefined, [], false), 4)],
    ["weights' SHA-256 + copy", time(() => provenance(model, 1), 4)],
  ];
  const f = (x: number) => x.toFixed(2).padStart(8);
  const out = [
    `${w.name}: ${w.n} samples, ${batches} batches of ${w.batch}`,
    `  step loop, one epoch            ${f(stepEpoch)} ms`,
    `  train(), per epoch (steady)     ${f(perEpoch)} ms   ${(perEpoch / stepEpoch).toFixed(2)}× the step loop`,
    `  train(), fixed cost per call    ${f(fixed)} ms   = ${(fixed / stepEpoch).toFixed(2)} epochs of steps`,
    ...parts.map(([k, v]) => `    ${k.padEnd(29)}${f(v)} ms`),
    `  train(${epochs} epochs)              ${f(tE)} ms   ${(tE / (epochs * stepEpoch)).toFixed(2)}× ${epochs} epochs of steps`,
    `  train(${epochs} epochs), no gradients${f(tELean)} ms   ${(tELean / (epochs * stepEpoch)).toFixed(2)}×`,
  ];
  process.stdout.write(`${out.join("\n")}\n`);
}

const chosen = workloads().filter((w) => /MLP|CNN/.test(w.name));
if (loop) {
  const w = chosen.find((x) => x.name.includes(loop))!;
  const t0 = now();
  while (now() - t0 < 5000) trainOnce(w, epochs);
} else {
  process.stdout.write(`load average at start: ${loadavg().join(" ")}\n`);
  for (const w of chosen) if (!only || w.name.includes(only)) profile(w);
}
