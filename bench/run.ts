/**
 * `npm run bench`: our engine against TensorFlow.js (cpu and wasm backends) on the same models,
 * data, initial weights and batch sizes, in one process, alternating engine by engine in every
 * round; then our matrix-product kernels' GFLOP/s, then `POST /gradients` under autocannon.
 * Prints tables and writes everything to bench/results/<timestamp>.json.
 *
 * Flags: --quick (shorter rounds), --no-http, --no-tfjs, --only=<substring of a workload name>.
 * A measurement is the median of ROUNDS rounds of at least ROUND_MS each, after a warm-up.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { arch, cpus, loadavg, platform } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { type HttpResult, httpBench } from "./http.js";
import { type KernelResult, kernelBench } from "./kernels.js";
import { calibrateTrain, MIN_TRAIN_EPOCHS, ourStepRunner, ourTrainRunner } from "./ours.js";
import { type Backend, tfjsMatmulGflops, tfjsRunner, useBackend } from "./tfjs.js";
import { measure, median, type Runner, warmUp } from "./timing.js";
import { workloads } from "./workloads.js";

const args = new Set(process.argv.slice(2));
const quick = args.has("--quick");
const only = process.argv.find((a) => a.startsWith("--only="))?.slice("--only=".length);
const ROUNDS = quick ? 3 : 5;
const ROUND_MS = quick ? 100 : 200;
const WARM_MS = quick ? 200 : 400;

/** Targets of issue 7 (ratios from one run). */
const TINY_VS_CPU = 100;
const BIG_VS_WASM = 1;
const GFLOPS_TARGET = 15;
const RPS_TARGET = 5000;
const P99_TARGET_MS = 20;

interface WorkloadResult {
  workload: string;
  batch: number;
  samplesPerSecond: Record<string, number>;
  rounds: Record<string, number[]>;
  oursVsCpu?: number;
  oursVsWasm?: number;
  /** Engines that cannot run the workload, with their error. */
  unsupported: Record<string, string>;
  target: string;
  met?: boolean;
}

const fmt = (v: number | undefined, digits = 0): string =>
  v === undefined
    ? "–"
    : v.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits });
const ratio = (v: number | undefined): string =>
  v === undefined ? "–" : `${v >= 10 ? fmt(v, 0) : fmt(v, 2)}×`;

function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(" | ")} |`;
  return [line(header), `| ${widths.map((w) => "-".repeat(w)).join(" | ")} |`, ...rows.map(line)].join("\n");
}

async function runWorkloads(): Promise<WorkloadResult[]> {
  const results: WorkloadResult[] = [];
  const backends: Backend[] = args.has("--no-tfjs") ? [] : ["cpu", "wasm"];
  for (const w of workloads()) {
    if (only && !w.name.includes(only)) continue;
    process.stderr.write(`  ${w.name} …`);
    const tiny = w.name.startsWith("seed") || w.name.startsWith("iris");
    const runners: Runner[] = [ourStepRunner(w)];
    // Tiny products never use the WebAssembly kernel: TS-only would measure the same thing.
    if (!tiny) runners.push(ourStepRunner(w, false));
    runners.push(ourTrainRunner(w, calibrateTrain(w, ROUND_MS / 2)));
    const unsupported: Record<string, string> = {};
    for (const b of backends) {
      await useBackend(b);
      const r = tfjsRunner(w, b);
      try {
        r.step();
        runners.push(r);
      } catch (e) {
        // tfjs' wasm backend has no Conv2DBackpropFilter kernel: it cannot train a conv2d.
        unsupported[r.label] = (e as Error).message.split("\n")[0]!;
        r.dispose?.();
      }
    }
    for (const r of runners) {
      await r.enter?.();
      warmUp(r, WARM_MS);
    }
    const rounds: Record<string, number[]> = Object.fromEntries(runners.map((r) => [r.label, []]));
    for (let k = 0; k < ROUNDS; k++)
      for (const r of runners) {
        await r.enter?.();
        rounds[r.label]!.push(measure(r, ROUND_MS));
      }
    for (const r of runners) r.dispose?.();
    const sps = Object.fromEntries(Object.entries(rounds).map(([l, v]) => [l, median(v)]));
    const ours = sps.ours!;
    const res: WorkloadResult = {
      workload: w.name,
      batch: w.batch,
      samplesPerSecond: sps,
      rounds,
      unsupported,
      target: tiny ? `≥ ${TINY_VS_CPU}× tfjs cpu` : `≥ ${BIG_VS_WASM}× tfjs wasm`,
    };
    if (sps["tfjs cpu"]) res.oursVsCpu = ours / sps["tfjs cpu"];
    if (sps["tfjs wasm"]) res.oursVsWasm = ours / sps["tfjs wasm"];
    // Where tfjs wasm cannot train the model, tfjs cpu is the only tfjs to compare with.
    const big = res.oursVsWasm ?? res.oursVsCpu;
    if (!tiny && res.oursVsWasm === undefined && res.oursVsCpu !== undefined)
      res.target = `≥ ${BIG_VS_WASM}× tfjs wasm (n/a) → cpu`;
    const r = tiny ? res.oursVsCpu : big;
    if (r !== undefined) res.met = r >= (tiny ? TINY_VS_CPU : BIG_VS_WASM);
    results.push(res);
    process.stderr.write(" done\n");
  }
  return results;
}

async function main(): Promise<void> {
  const started = new Date();
  const t0 = performance.now();
  // Other processes on the machine slow every engine alike within a round, but not the absolute numbers.
  const loadAtStart = loadavg()[0]!;
  process.stderr.write("training steps (samples/s, median of rounds):\n");
  const trainResults = await runWorkloads();

  process.stderr.write("matrix-product kernels …\n");
  const kernels: KernelResult[] = only ? [] : kernelBench(quick ? 150 : 250, ROUNDS);
  let tfjsWasmMatmul: number | undefined;
  if (!only && !args.has("--no-tfjs")) {
    await useBackend("wasm");
    tfjsWasmMatmul = tfjsMatmulGflops(256, 256, 256, 300);
  }

  let http: HttpResult | undefined;
  if (!only && !args.has("--no-http")) {
    process.stderr.write("POST /gradients under autocannon …\n");
    http = await httpBench(quick ? 3 : 5, 10);
  }
  const peakRssMb = process.resourceUsage().maxRSS / 1024;
  const seconds = (performance.now() - t0) / 1000;

  const out: string[] = [];
  out.push(
    `\n## Training throughput, samples/s (median of ${ROUNDS} rounds × ≥ ${ROUND_MS} ms, after ${WARM_MS} ms warm-up)`,
    "ours = Model API step (zeroGrads, forward, loss+backward, SGD step), float64; ours TS-only = the same",
    "with the WebAssembly matrix kernel off; ours train() = the public train() over the data set (shuffle,",
    `NaN forensics, final full-data gradient, metrics and SHA-256 included; calls of ≥ ${MIN_TRAIN_EPOCHS} epochs, so the`,
    "per-call costs weigh as in a run of that length: docs/performance.md); tfjs = optimizer.minimize in",
    "tf.tidy, float32, same initial weights and batches.\n",
  );
  out.push(
    table(
      [
        "workload",
        "ours",
        "ours TS-only",
        "ours train()",
        "tfjs cpu",
        "tfjs wasm",
        "ours/cpu",
        "ours/wasm",
        "target",
        "met",
      ],
      trainResults.map((r) => [
        r.workload,
        fmt(r.samplesPerSecond.ours),
        r.samplesPerSecond["ours TS-only"] === undefined ? "= ours" : fmt(r.samplesPerSecond["ours TS-only"]),
        fmt(r.samplesPerSecond["ours train()"]),
        fmt(r.samplesPerSecond["tfjs cpu"]),
        fmt(r.samplesPerSecond["tfjs wasm"]),
        ratio(r.oursVsCpu),
        ratio(r.oursVsWasm),
        r.target,
        r.met === undefined ? "–" : r.met ? "yes" : "NO",
      ]),
    ),
  );
  for (const r of trainResults)
    for (const [label, message] of Object.entries(r.unsupported))
      out.push(`\n${label} cannot train "${r.workload}": ${message}`);
  if (kernels.length > 0) {
    out.push(`\n## Matrix-product kernels, float64, one thread (target ≥ ${GFLOPS_TARGET} GFLOP/s)\n`);
    out.push(
      table(
        ["kernel", "m×k×n", "engine GFLOP/s", "TS GFLOP/s"],
        kernels.map((k) => [
          k.kernel,
          k.shape,
          fmt(k.gflops, 2),
          k.gflopsTs === null ? "–" : fmt(k.gflopsTs, 2),
        ]),
      ),
    );
    out.push(
      "\nengine = what the engine runs for that shape (the WebAssembly SIMD kernel where it pays, see",
      "src/engine/matmul.ts wasmFor, else TypeScript); TS = the pure-TypeScript kernel alone. Bit-identical results.",
    );
    if (tfjsWasmMatmul !== undefined)
      out.push(`\nreference: tfjs wasm matMul 256×256×256 float32: ${fmt(tfjsWasmMatmul, 1)} GFLOP/s`);
  }
  if (http) {
    out.push(
      `\n## POST /gradients (seed net), autocannon ${http.connections} connections × ${http.seconds} s on loopback`,
      `(target ≥ ${RPS_TARGET} requests/s, p99 < ${P99_TARGET_MS} ms)\n`,
    );
    out.push(
      table(
        ["requests/s", "p50 ms", "p99 ms", "requests", "non-2xx", "errors", "met"],
        [
          [
            fmt(http.requestsPerSecond),
            fmt(http.p50Ms, 1),
            fmt(http.p99Ms, 1),
            fmt(http.requests),
            String(http.non2xx),
            String(http.errors),
            http.requestsPerSecond >= RPS_TARGET && http.p99Ms < P99_TARGET_MS ? "yes" : "NO",
          ],
        ],
      ),
    );
  }
  out.push(
    `\npeak RSS of this process: ${fmt(peakRssMb)} MB; bench took ${fmt(seconds, 0)} s; ` +
      `1-minute load average at start ${fmt(loadAtStart, 2)} on ${cpus().length} cores (above ~1, other processes skew absolute numbers)`,
  );
  console.log(out.join("\n"));

  const dir = join(dirname(fileURLToPath(import.meta.url)), "results");
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${started.toISOString().replace(/[:.]/g, "-")}.json`);
  const env = {
    node: process.version,
    platform: platform(),
    arch: arch(),
    cpu: cpus()[0]?.model,
    cores: cpus().length,
    loadAtStart,
  };
  writeFileSync(
    file,
    `${JSON.stringify({ started: started.toISOString(), env, quick, training: trainResults, kernels, tfjsWasmMatmul, http, peakRssMb, seconds }, null, 2)}\n`,
  );
  console.log(`results: ${file}`);
}

await main();
