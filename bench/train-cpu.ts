/**
 * `train()` throughput by CPU time, for comparisons on a shared machine, where the wall clock
 * measures the other processes as much as this one (docs/performance.md, "Tiny networks"). Per
 * workload and dtype: the median of `--rounds` rounds (default 7), each as many `train()` calls
 * of `--epochs` epochs (default 64) as fit in at least 250 ms of this process's CPU time (user +
 * system; it advances in ticks of a few milliseconds, so shorter windows are noise). Both dtypes
 * are trained before anything is measured, as `npm run bench` trains them in one process.
 *
 * `--base=<dir>`: also the engine of another checkout (`<dir>/src/engine`, a worktree of main, say),
 * alternating with this one round by round, with the ratio; both must give the same `weightsSha256`.
 * `--only=<substring>` picks the workloads (default: every dense one).
 *
 *   npx tsx bench/train-cpu.ts --only=seed --base=../main
 */
import { loadavg } from "node:os";
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { type TrainOptions, type TrainResult, train } from "../src/engine/index.js";
import type { Dtype } from "../src/engine/tensor.js";
import { registerNativeKernels } from "../src/native/kernels.js";
import { median } from "./timing.js";
import { type Workload, workloads } from "./workloads.js";

type Train = (opts: TrainOptions) => TrainResult;

const flags = new Map(
  process.argv.slice(2).map((a) => {
    const [k, v] = a.replace(/^--/, "").split("=");
    return [k!, v ?? "true"] as const;
  }),
);
const rounds = Number(flags.get("rounds") ?? 7);
const epochs = Number(flags.get("epochs") ?? 64);
const only = flags.get("only");
const baseDir = flags.get("base");
const WINDOW_MS = 250;

/** Milliseconds of this process's CPU time. */
function cpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

function options(w: Workload, dtype: Dtype, e: number): TrainOptions {
  return {
    model: w.spec,
    data: { n: w.n, x: w.x, y: w.y },
    optimizer: { type: "sgd", learningRate: w.learningRate },
    epochs: e,
    batchSize: w.batch,
    seed: 1,
    dtype,
  };
}

/** Samples per second of CPU time over one window of calls. */
function rate(t: Train, w: Workload, dtype: Dtype, e: number): number {
  const opts = options(w, dtype, e);
  let calls = 0;
  const t0 = cpuMs();
  let t1 = t0;
  do {
    t(opts);
    calls++;
    t1 = cpuMs();
  } while (t1 - t0 < WINDOW_MS);
  return (calls * e * w.n) / ((t1 - t0) / 1000);
}

registerNativeKernels();
const engines: [string, Train][] = [["this", train]];
if (baseDir) {
  const root = resolve(baseDir);
  const engine = (await import(pathToFileURL(`${root}/src/engine/index.ts`).href)) as { train: Train };
  const native = (await import(pathToFileURL(`${root}/src/native/kernels.ts`).href)) as {
    registerNativeKernels?: () => unknown;
  };
  native.registerNativeKernels?.();
  engines.unshift([`base (${baseDir})`, engine.train]);
}

const chosen = workloads().filter((w) => (only ? w.name.includes(only) : !w.name.includes("CNN")));
const header = `load average at start: ${loadavg()
  .map((v) => v.toFixed(2))
  .join(" ")}; ${epochs}-epoch calls, medians of ${rounds} rounds of ≥ ${WINDOW_MS} ms CPU`;
process.stdout.write(`${header}\n`);
for (const w of chosen) {
  // The MLP's epochs are long: a few per call.
  const e = w.n * w.spec.inputShape[0]! > 10_000 ? Math.max(1, epochs >> 4) : epochs;
  for (const t of engines) for (const dtype of ["float64", "float32"] as const) t[1](options(w, dtype, 2));
  for (const dtype of ["float64", "float32"] as const) {
    const digests = new Set(engines.map(([, t]) => t(options(w, dtype, 2)).weightsSha256));
    if (digests.size > 1) throw new Error(`${w.name} ${dtype}: the engines' weights differ`);
    const rates = engines.map(() => [] as number[]);
    for (let r = 0; r < rounds; r++)
      for (let i = 0; i < engines.length; i++) rates[i]!.push(rate(engines[i]![1], w, dtype, e));
    const m = rates.map(median);
    const cells = engines.map(([name], i) => `${name} ${Math.round(m[i]!).toLocaleString("en-US")}`);
    const ratio = m.length > 1 ? `  ${(m[1]! / m[0]!).toFixed(2)}×` : "";
    process.stdout.write(`${w.name}, ${dtype}: ${cells.join("  ")} samples/s${ratio}\n`);
  }
}
process.stdout.write(
  `load average at the end: ${loadavg()
    .map((v) => v.toFixed(2))
    .join(" ")}\n`,
);
