/**
 * `npm run bench`: our engine against PyTorch (Debian's, where installed) and TensorFlow.js (cpu
 * and wasm backends) on the same models, data, initial weights and batch sizes; the public
 * `train()` and `POST /train` beside the Model API step, in float64 and float32; our
 * matrix-product kernels against OpenBLAS on one core, the machine's roof; then `POST /gradients`
 * under autocannon. Prints tables (bench/report.ts) and writes every number to
 * bench/results/<timestamp>.json.
 *
 * Flags: --quick (shorter rounds), --no-http (neither POST /train nor autocannon), --no-tfjs,
 * --no-torch, --no-blas, --only=<substring of a workload name> (that workload alone: no kernels,
 * no autocannon), --only-http (`POST /gradients` alone), --only-kernels (the matrix products and
 * OpenBLAS alone), --http-log (the service logs each request as in production, to /dev/null).
 * A measurement is the median of ROUNDS rounds of at least ROUND_MS each, after a warm-up. Our
 * engines and tfjs alternate in every round; PyTorch runs after them, in its own process.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { arch, cpus, loadavg, platform } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { useWasmKernels } from "../src/engine/matmul.js";
import { registerNativeKernels } from "../src/native/kernels.js";
import { type HttpResult, httpBench } from "./http.js";
import { type KernelResult, kernelBench } from "./kernels.js";
import { type BlasResult, openblasBench } from "./openblas.js";
import { calibrateTrain, float32Support, ourStepRunner, ourTrainRunner } from "./ours.js";
import { findTorch, type TorchResult, torchBench } from "./pytorch.js";
import {
  BIG_VS_TORCH,
  compare,
  fmt,
  httpTable,
  kernelRows,
  kernelTable,
  OPENBLAS_SHARE,
  P99_TARGET_MS,
  RPS_TARGET,
  TINY_VS_TORCH,
  trainingTables,
  type WorkloadResult,
} from "./report.js";
import { type Backend, tfjsMatmulGflops, tfjsRunner, useBackend } from "./tfjs.js";
import { measure, median, type Runner, warmUp } from "./timing.js";
import { type RouteResult, trainRouteBench } from "./train-route.js";
import { type Workload, workloads } from "./workloads.js";

// The native kernels where `npm install` built them, as the service uses them (NATIVE_KERNELS=off: without).
registerNativeKernels();

const args = new Set(process.argv.slice(2));
const quick = args.has("--quick");
const only = process.argv.find((a) => a.startsWith("--only="))?.slice("--only=".length);
const onlyHttp = args.has("--only-http");
const onlyKernels = args.has("--only-kernels");
const ROUNDS = quick ? 3 : 5;
const ROUND_MS = quick ? 100 : 200;
const WARM_MS = quick ? 200 : 400;

async function runWorkloads(ws: Workload[]): Promise<{ results: WorkloadResult[]; epochs: number[] }> {
  const results: WorkloadResult[] = [];
  const epochs: number[] = [];
  const backends: Backend[] = args.has("--no-tfjs") ? [] : ["cpu", "wasm"];
  for (const w of ws) {
    process.stderr.write(`  ${w.name} …`);
    const tiny = w.name.startsWith("seed") || w.name.startsWith("iris");
    const float32 = float32Support(w);
    const e = calibrateTrain(w, ROUND_MS / 2);
    epochs.push(e);
    const runners: Runner[] = [ourStepRunner(w)];
    // Tiny products never use the WebAssembly kernel: TS-only would measure the same thing.
    if (!tiny) runners.push(ourStepRunner(w, false));
    runners.push(ourTrainRunner(w, e));
    // float32 rows only where the engine runs float32 (else "pending": the same float64 twice).
    if (float32.model) runners.push(ourStepRunner(w, true, "float32"));
    if (float32.train) runners.push(ourTrainRunner(w, calibrateTrain(w, ROUND_MS / 2, "float32"), "float32"));
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
    const res: WorkloadResult = {
      workload: w.name,
      batch: w.batch,
      tiny,
      // Issue 17: "tiny networks stay ≥ 100× ahead" is the seed network one sample at a time (its
      // table has iris at about 4×); every other workload must be at least level with PyTorch.
      targetVsTorch: w.name.startsWith("seed 2→3→3, batch 1") ? TINY_VS_TORCH : BIG_VS_TORCH,
      samplesPerSecond: sps,
      rounds,
      unsupported,
      float32,
    };
    if (sps["tfjs cpu"]) res.oursVsCpu = sps.ours! / sps["tfjs cpu"];
    if (sps["tfjs wasm"]) res.oursVsWasm = sps.ours! / sps["tfjs wasm"];
    results.push(res);
    process.stderr.write(" done\n");
  }
  return { results, epochs };
}

/** Runs `f`, or records why it could not run (a missing peer must not stop the bench). */
async function peer<T>(what: string, f: () => Promise<T>): Promise<T | { error: string }> {
  try {
    return await f();
  } catch (e) {
    const error = (e as Error).message.split("\n").slice(0, 3).join(" ");
    process.stderr.write(`  ${what} failed: ${error}\n`);
    return { error };
  }
}

async function main(): Promise<void> {
  const started = new Date();
  const t0 = performance.now();
  // Other processes on the machine slow every engine alike within a round, but not the absolute numbers.
  const loadAtStart = loadavg();
  const ws = onlyHttp || onlyKernels ? [] : workloads().filter((w) => !only || w.name.includes(only));
  if (ws.length > 0) process.stderr.write("training steps (samples/s, median of rounds):\n");
  const { results: training, epochs } = await runWorkloads(ws);
  // Every kernel back on for what follows (the TS-only runner switched them off on this thread).
  useWasmKernels(true);
  registerNativeKernels();

  let route: RouteResult[] | undefined;
  if (ws.length > 0 && !args.has("--no-http")) {
    process.stderr.write("POST /train …\n");
    // Twice train()'s calibrated epochs: the request's JSON parse weighs less against its training.
    route = await trainRouteBench(
      ws.map((w, i) => ({ w, epochs: 2 * epochs[i]! })),
      ROUNDS,
    );
  }

  let torch: TorchResult | { missing: string } | { error: string } | undefined;
  if (ws.length > 0 && !args.has("--no-torch")) {
    const found = findTorch();
    if ("missing" in found) torch = found;
    else {
      process.stderr.write(`PyTorch ${found.version} (${found.python}) …\n`);
      const timing = quick
        ? { ms: 50, warmMs: 100, rounds: 3 }
        : { ms: ROUND_MS * 0.75, warmMs: WARM_MS * 0.75, rounds: ROUNDS };
      torch = await peer("PyTorch", () => torchBench(found.python, ws, timing));
    }
  }
  const torchOk = torch && "workloads" in torch ? torch : undefined;

  const allKernels = !only && !onlyHttp;
  if (allKernels) process.stderr.write("matrix-product kernels …\n");
  const kernels: KernelResult[] = allKernels ? kernelBench(quick ? 150 : 250, ROUNDS) : [];
  let blas: BlasResult | { error: string } | undefined;
  if (allKernels && !args.has("--no-blas")) {
    process.stderr.write("OpenBLAS …\n");
    blas = await peer("OpenBLAS", () => openblasBench(quick ? 50 : 100, ROUNDS));
  }
  const blasOk = blas && "results" in blas ? blas : undefined;
  let tfjsWasmMatmul: number | undefined;
  if (allKernels && !args.has("--no-tfjs")) {
    await useBackend("wasm");
    tfjsWasmMatmul = tfjsMatmulGflops(256, 256, 256, 300);
  }

  let http: HttpResult | undefined;
  if (!only && !onlyKernels && !args.has("--no-http")) {
    process.stderr.write("POST /gradients under autocannon …\n");
    http = await httpBench(quick ? 3 : 5, 10, args.has("--http-log"));
  }
  const peakRssMb = process.resourceUsage().maxRSS / 1024;
  const seconds = (performance.now() - t0) / 1000;
  const loadAtEnd = loadavg();
  const comparison = compare(training, route, torchOk);
  const kernelResults = kernelRows(kernels, blasOk);

  const out: string[] = [];
  if (training.length > 0)
    trainingTables(out, {
      training,
      comparison,
      route,
      torch,
      rounds: ROUNDS,
      roundMs: ROUND_MS,
      warmMs: WARM_MS,
      tfjs: !args.has("--no-tfjs"),
    });
  if (kernelResults.length > 0) {
    out.push(
      `\n## Matrix-product kernels, GFLOP/s (target: the engine's kernels on one thread ≥ ${100 * OPENBLAS_SHARE} % of OpenBLAS on one thread, float64 and float32)\n`,
    );
    out.push(kernelTable(kernelResults));
    out.push(
      "\nnative = the engine's native kernels (docs/kernels.md), what it runs where `npm install` built them, on 1",
      "thread and split over 2 (every size split here, the same operands each call: in training, a product under",
      "2²³ stays on one thread, its fresh operands cost more to move to the other core than the split saves;",
      "the helper runs at low priority: on a loaded machine 2 can be slower); WASM f64 = what",
      "it runs without them (the WebAssembly SIMD kernel where it pays, see src/engine/matmul.ts wasmFor, else",
      "TypeScript); TS = the TypeScript kernel alone. All bit-identical. OpenBLAS = bench/native/openblas-gemm.c,",
      "same shapes and transposes, OPENBLAS_NUM_THREADS=1; f64/dgemm and f32/sgemm compare 1 thread with 1 thread.",
    );
    if (blasOk) out.push(`OpenBLAS: ${blasOk.config}`);
    else if (blas === undefined) out.push("OpenBLAS: skipped (--no-blas).");
    else if ("error" in blas)
      out.push(`OpenBLAS: FAILED (apt-get install libopenblas-dev; CC= picks the compiler): ${blas.error}`);
    if (tfjsWasmMatmul !== undefined)
      out.push(`reference: tfjs wasm matMul 256×256×256 float32: ${fmt(tfjsWasmMatmul, 1)} GFLOP/s`);
  }
  if (http) {
    out.push(
      `\n## POST /gradients (seed net), autocannon ${http.connections} connections × ${http.seconds} s on loopback`,
      `(target ≥ ${RPS_TARGET} requests/s, p99 < ${P99_TARGET_MS} ms)\n`,
    );
    out.push(httpTable(http));
  }
  const load = (l: number[]) => l.map((v) => fmt(v, 2)).join(" ");
  out.push(
    `\npeak RSS of this process: ${fmt(peakRssMb)} MB; bench took ${fmt(seconds, 0)} s; load average ` +
      `(1, 5, 15 min) ${load(loadAtStart)} at start, ${load(loadAtEnd)} at the end, on ${cpus().length} cores ` +
      "(above ~1, other processes skew absolute numbers and PyTorch's 2 threads most)",
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
    loadAtEnd,
  };
  const settings = { quick, rounds: ROUNDS, roundMs: ROUND_MS, warmMs: WARM_MS, only: only ?? null };
  const all = { started: started.toISOString(), env, settings, training, route, torch, comparison };
  const rest = { kernels: kernelResults, blas, tfjsWasmMatmul, http, peakRssMb, seconds };
  writeFileSync(file, `${JSON.stringify({ ...all, ...rest }, null, 2)}\n`);
  console.log(`results: ${file}`);
}

await main();
