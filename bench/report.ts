/**
 * The bench's tables and the ratios behind them (bench/run.ts measures). Targets of issue 17,
 * all from ratios measured in the same run: MLP and CNN through `train()` at ≥ 1.0× PyTorch of
 * the same dtype (its better thread count); the tiny network of the table (seed 2→3→3,
 * batch 1, where PyTorch's per-call overhead dominates) ≥ 100×, the other small ones ahead (≥ 1×); the matrix kernels at ≥ 50 %
 * of OpenBLAS on one core; `POST /gradients` ≥ 5,000 requests/s with p99 < 20 ms.
 */
import type { HttpResult, LoadResult } from "./http.js";
import type { KernelResult } from "./kernels.js";
import type { BlasResult } from "./openblas.js";
import { MIN_TRAIN_EPOCHS } from "./ours.js";
import { LOSS_TOLERANCE, type TorchResult } from "./pytorch.js";
import type { RouteResult } from "./train-route.js";

export const TINY_VS_TORCH = 100;
export const BIG_VS_TORCH = 1;
export const OPENBLAS_SHARE = 0.5;
export const RPS_TARGET = 5000;
export const P99_TARGET_MS = 20;

export interface WorkloadResult {
  workload: string;
  batch: number;
  tiny: boolean;
  /** The ratio to PyTorch this workload's `train()` must reach. */
  targetVsTorch: number;
  samplesPerSecond: Record<string, number>;
  rounds: Record<string, number[]>;
  oursVsCpu?: number;
  oursVsWasm?: number;
  /** Engines that cannot run the workload, with their error. */
  unsupported: Record<string, string>;
  /** Whether the engine really ran float32 (Model API, `train()`); false: the f32 rows are pending. */
  float32: { model: boolean; train: boolean };
}

/** One row of the PyTorch comparison: a workload in one dtype. */
export interface Comparison {
  workload: string;
  dtype: "float64" | "float32";
  oursStep?: number;
  oursTrain?: number;
  route?: number;
  routeWall?: number;
  torch1?: number;
  torch2?: number;
  /** `train()` ÷ PyTorch's better thread count, and `POST /train` (`durationMs`) ÷ the same. */
  trainVsTorch?: number;
  routeVsTorch?: number;
  target: string;
  met?: boolean;
  /** Why ours has no float32 number yet. */
  pending?: string;
}

export interface KernelRow extends KernelResult {
  dgemm?: number;
  sgemm?: number;
  /** The engine's float64 GFLOP/s on one thread (native where built, else WebAssembly/TypeScript) ÷ OpenBLAS dgemm's. */
  shareOfDgemm?: number;
  /** The native float32 GFLOP/s on one thread ÷ OpenBLAS sgemm's. */
  shareOfSgemm?: number;
  /** Both shares ≥ OPENBLAS_SHARE (float64 alone without native kernels). */
  met?: boolean;
}

const fmt = (v: number | undefined, digits = 0): string =>
  v === undefined
    ? "–"
    : v.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits });
const ratio = (v: number | undefined): string =>
  v === undefined ? "–" : `${v >= 10 ? fmt(v, 0) : fmt(v, 2)}×`;
const yes = (m: boolean | undefined) => (m === undefined ? "–" : m ? "yes" : "NO");

export function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(" | ")} |`;
  return [line(header), `| ${widths.map((w) => "-".repeat(w)).join(" | ")} |`, ...rows.map(line)].join("\n");
}

/** The comparison rows; a workload whose float64 losses disagree with PyTorch's gets no ratio. */
export function compare(
  training: WorkloadResult[],
  route: RouteResult[] | undefined,
  torch: TorchResult | undefined,
): Comparison[] {
  const rows: Comparison[] = [];
  for (const w of training)
    for (const dtype of ["float64", "float32"] as const) {
      const s = dtype === "float32" ? " f32" : "";
      const r = route?.find((x) => x.workload === w.workload && x.dtype === dtype);
      const t = torch?.workloads.find((x) => x.name === w.workload);
      const tt = t?.samplesPerSecond[dtype];
      const row: Comparison = {
        workload: w.workload,
        dtype,
        oursStep: w.samplesPerSecond[`ours${s}`],
        oursTrain: w.samplesPerSecond[`ours train()${s}`],
        route: r?.samplesPerSecond,
        routeWall: r?.samplesPerSecondWall,
        torch1: tt?.["1"],
        torch2: tt?.["2"],
        target: `≥ ${w.targetVsTorch}× torch`,
      };
      if (dtype === "float32" && (!w.float32.model || !w.float32.train))
        row.pending = `the engine ignores dtype (${[!w.float32.model && "Model", !w.float32.train && "train()"].filter(Boolean).join(", ")})`;
      const best = tt ? Math.max(tt["1"] ?? 0, tt["2"] ?? 0) : undefined;
      if (best && t?.lossesAgree) {
        if (row.oursTrain !== undefined) row.trainVsTorch = row.oursTrain / best;
        if (row.route !== undefined) row.routeVsTorch = row.route / best;
        if (row.trainVsTorch !== undefined) row.met = row.trainVsTorch >= w.targetVsTorch;
      }
      rows.push(row);
    }
  return rows;
}

export function kernelRows(kernels: KernelResult[], blas: BlasResult | undefined): KernelRow[] {
  return kernels.map((k, i) => {
    const b = blas?.results[i];
    if (!b || k.gflopsTs === null) return k;
    const shareOfDgemm = (k.native?.float64[1] ?? k.gflopsWasm) / b.dgemm;
    const shareOfSgemm = k.native ? k.native.float32[1] / b.sgemm : undefined;
    const met =
      shareOfDgemm >= OPENBLAS_SHARE && (shareOfSgemm === undefined || shareOfSgemm >= OPENBLAS_SHARE);
    return { ...k, dgemm: b.dgemm, sgemm: b.sgemm, shareOfDgemm, shareOfSgemm, met };
  });
}

export function tfjsTable(training: WorkloadResult[]): string {
  return table(
    ["workload", "ours", "ours TS-only", "tfjs cpu", "tfjs wasm", "ours/cpu", "ours/wasm"],
    training.map((r) => [
      r.workload,
      fmt(r.samplesPerSecond.ours),
      r.samplesPerSecond["ours TS-only"] === undefined ? "= ours" : fmt(r.samplesPerSecond["ours TS-only"]),
      fmt(r.samplesPerSecond["tfjs cpu"]),
      fmt(r.samplesPerSecond["tfjs wasm"]),
      ratio(r.oursVsCpu),
      ratio(r.oursVsWasm),
    ]),
  );
}

export function torchTable(rows: Comparison[]): string {
  const p = (row: Comparison, v: number | undefined) => (row.pending ? "pending" : fmt(v));
  return table(
    [
      "workload",
      "dtype",
      "ours step",
      "ours train()",
      "POST /train",
      "POST wall",
      "torch 1 thr",
      "torch 2 thr",
      "train()/torch",
      "POST/torch",
      "target",
      "met",
    ],
    rows.map((r) => [
      r.workload,
      r.dtype === "float32" ? "f32" : "f64",
      p(r, r.oursStep),
      p(r, r.oursTrain),
      p(r, r.route),
      p(r, r.routeWall),
      fmt(r.torch1),
      fmt(r.torch2),
      r.pending ? "–" : ratio(r.trainVsTorch),
      r.pending ? "–" : ratio(r.routeVsTorch),
      r.target,
      r.pending ? "pending" : yes(r.met),
    ]),
  );
}

export function kernelTable(rows: KernelRow[]): string {
  const pct = (v: number | undefined) => (v === undefined ? "–" : `${fmt(100 * v, 0)} %`);
  const g = (v: number | undefined | null) => (v === undefined || v === null ? "–" : fmt(v, 1));
  return table(
    [
      "kernel",
      "m×k×n",
      "native f64 1 thr",
      "2 thr",
      "native f32 1 thr",
      "2 thr",
      "WASM f64",
      "TS f64",
      "OpenBLAS dgemm",
      "sgemm",
      "f64/dgemm",
      "f32/sgemm",
      "met",
    ],
    rows.map((k) => [
      k.kernel,
      k.shape,
      g(k.native?.float64[1]),
      g(k.native?.float64[2]),
      g(k.native?.float32[1]),
      g(k.native?.float32[2]),
      g(k.gflopsWasm),
      g(k.gflopsTs),
      g(k.dgemm),
      g(k.sgemm),
      pct(k.shareOfDgemm),
      pct(k.shareOfSgemm),
      k.gflopsTs === null ? "–" : yes(k.met),
    ]),
  );
}

/**
 * The service's row and the bare Fastify floor's row under the same load (bench/http-floor.ts);
 * "× floor" is the service's server CPU per request over the floor's.
 */
export function httpTable(http: HttpResult): string {
  const row = (name: string, r: LoadResult, ratio: string, met: string) => [
    name,
    fmt(r.requestsPerSecond),
    fmt(r.p50Ms, 1),
    fmt(r.p99Ms, 1),
    fmt(r.cpuUsPerRequest),
    ratio,
    fmt(r.requests),
    String(r.non2xx),
    String(r.errors),
    met,
  ];
  return table(
    [
      "server",
      "requests/s",
      "p50 ms",
      "p99 ms",
      "server CPU µs/request",
      "× floor",
      "requests",
      "non-2xx",
      "errors",
      "met",
    ],
    [
      row(
        http.logging ? "ours (logging at info)" : "ours (logging off)",
        http,
        ratio(http.cpuUsPerRequest / http.floor.cpuUsPerRequest),
        yes(http.requestsPerSecond >= RPS_TARGET && http.p99Ms < P99_TARGET_MS),
      ),
      row(`floor: bare Fastify, ${fmt(http.answerBytes)}-byte answer`, http.floor, "1×", "–"),
    ],
  );
}

/** The training tables (PyTorch, then TensorFlow.js) and the loss check's lines, appended to `out`. */
export function trainingTables(
  out: string[],
  o: {
    training: WorkloadResult[];
    comparison: Comparison[];
    route: RouteResult[] | undefined;
    torch: TorchResult | { missing: string } | { error: string } | undefined;
    rounds: number;
    roundMs: number;
    warmMs: number;
    tfjs: boolean;
  },
): void {
  out.push(
    `\n## Training throughput against PyTorch, samples/s (median of ${o.rounds} rounds × ≥ ${o.roundMs} ms, after ${o.warmMs} ms warm-up)`,
    "ours step = the Model API step (zeroGrads, forward, loss+backward, SGD step); ours train() = the public",
    "train() over the data set (shuffle, NaN forensics, final full-data gradient, metrics and SHA-256 included;",
    `calls of ≥ ${MIN_TRAIN_EPOCHS} epochs, so per-call costs weigh as in a run of that length: docs/performance.md);`,
    "POST /train = the route through app.inject, the data inline, samples/s from the answer's durationMs; POST wall",
    "= the same from wall time (JSON parse, validation, answer included); torch = PyTorch, same layers, initial",
    "weights and batches, plain SGD, 1 or 2 threads. Ratios: ours ÷ the better torch of the same dtype.",
    "float32 rows are recognised by the result's engineVersion (…+float32), never assumed from the request.\n",
  );
  out.push(torchTable(o.comparison));
  const { torch, route } = o;
  if (torch === undefined) out.push("\nPyTorch: skipped (--no-torch).");
  else if ("missing" in torch) out.push(`\nPyTorch: NOT INSTALLED: ${torch.missing}; its columns are empty.`);
  else if ("error" in torch) out.push(`\nPyTorch: FAILED: ${torch.error}`);
  else {
    const blas = torch.openblas
      ? `; its products on ${torch.openblas}, run with OPENBLAS_NUM_THREADS = PyTorch's threads`
      : "; no OpenBLAS loaded";
    out.push(`\nPyTorch ${torch.torch} (${torch.python}, numpy ${torch.numpy}${blas}); loss check, float64:`);
    for (const t of torch.workloads)
      out.push(
        t.lossesAgree
          ? `  ${t.name}: first losses ${t.oursFirstLoss} (ours) and ${t.firstLoss.float64} agree (rel. diff ≤ ${t.lossDifference.toExponential(1)})`
          : `  WARNING: ${t.name}: PyTorch's losses ${t.firstLoss.float64}, ${t.secondLoss.float64} differ from ours ` +
              `${t.oursFirstLoss}, ${t.oursSecondLoss} by ${t.lossDifference.toExponential(2)} (> ${LOSS_TOLERANCE}): ` +
              "not the same computation, no ratio given",
      );
  }
  const routePending = route?.find((r) => r.pending);
  if (routePending) out.push(`POST /train float32 pending: ${routePending.pending}`);

  if (!o.tfjs) out.push("\nTensorFlow.js: skipped (--no-tfjs).");
  else {
    out.push(
      "\n## Against TensorFlow.js (float32, optimizer.minimize in tf.tidy); ours float64, samples/s\n",
    );
    out.push(tfjsTable(o.training));
    for (const r of o.training)
      for (const [label, message] of Object.entries(r.unsupported))
        out.push(`\n${label} cannot train "${r.workload}": ${message}`);
  }
}

export { fmt };
