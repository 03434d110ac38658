/**
 * A fixed amount of `train()` work on the seed network at batch 1 (float64 unless `--dtype=float32`),
 * for counting instructions: run under `valgrind --tool=callgrind` twice with different `--calls`;
 * the difference divided by the extra samples is the instructions per sample of the steady state,
 * whatever the machine's load (docs/performance.md, "Instructions per sample"). Each call is
 * `--epochs` epochs (default 64) of the bench's 150 samples, after `--warm` calls (default 40) that
 * let V8 compile everything; `node --single-threaded` compiles on the main thread, so the count
 * repeats. Bundle it first so that valgrind runs node alone:
 *
 *   npx esbuild bench/seed-instructions.ts --bundle --platform=node --format=esm \
 *     --define:__PROJECT_ROOT__='"'$PWD'"' --outfile=/tmp/seed.mjs
 *   valgrind --tool=callgrind --callgrind-out-file=/dev/null \
 *     node --single-threaded /tmp/seed.mjs --warm=20 --calls=10   # then --calls=30
 *
 * It prints the last call's `weightsSha256`: a change that keeps the bits keeps it.
 */
import { train } from "../src/engine/index.js";
import type { Dtype } from "../src/engine/tensor.js";
import { registerNativeKernels } from "../src/native/kernels.js";
import { workloads } from "./workloads.js";

registerNativeKernels();
const flags = new Map(
  process.argv.slice(2).map((a) => {
    const [k, v] = a.replace(/^--/, "").split("=");
    return [k!, v ?? "true"] as const;
  }),
);
const calls = Number(flags.get("calls") ?? 10);
const warm = Number(flags.get("warm") ?? 40);
const epochs = Number(flags.get("epochs") ?? 64);
const dtype = (flags.get("dtype") ?? "float64") as Dtype;
const w = workloads().find((x) => x.name === "seed 2→3→3, batch 1")!;
let digest = "";
for (let i = 0; i < warm + calls; i++)
  digest = train({
    model: w.spec,
    data: { n: w.n, x: w.x, y: w.y },
    optimizer: { type: "sgd", learningRate: w.learningRate },
    epochs,
    batchSize: w.batch,
    seed: 1,
    dtype,
  }).weightsSha256;
console.log(`${calls} calls × ${epochs} epochs × ${w.n} samples (${dtype}), after ${warm}: ${digest}`);
