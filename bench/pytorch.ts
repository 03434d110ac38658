/**
 * PyTorch side by side: bench/pytorch/train.py trains the same models (bench/layout.ts) from the
 * same initial weights on the same batches, in float32 and float64, with 1 and 2 threads (one process
 * each, every thread pool of it set to that count: see train.py). Data and
 * weights go through little-endian float64 files in a temp dir. The Python interpreter is the first
 * of `$BENCH_PYTHON`, `python3`, `/usr/bin/python3` that imports torch and numpy (Debian's
 * `python3-torch` lives in /usr/bin/python3's site-packages, not in a pyenv or venv one).
 *
 * The check that the comparison is like for like: the first batch's loss at the initial weights
 * and the second batch's after one SGD step, from PyTorch in float64, against ours.
 */
import { execFile, execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { Model } from "../src/engine/model.js";
import { makeOptimizer } from "../src/engine/optimizers.js";
import { nhwcToNchw, torchModel } from "./layout.js";
import { ourInitialWeights } from "./ours.js";
import type { Workload } from "./workloads.js";

/** Largest |ours − PyTorch| / max(1, |ours|) of a float64 loss accepted as the same computation. */
export const LOSS_TOLERANCE = 1e-12;

export interface TorchWorkload {
  name: string;
  /** `samplesPerSecond[dtype][threads]`, median of the rounds. */
  samplesPerSecond: Record<string, Record<string, number>>;
  rounds: Record<string, Record<string, number[]>>;
  firstLoss: Record<string, number>;
  secondLoss: Record<string, number>;
  /** Ours in float64, the same two losses. */
  oursFirstLoss: number;
  oursSecondLoss: number;
  /** The larger relative difference of the two float64 losses. */
  lossDifference: number;
  lossesAgree: boolean;
}

export interface TorchResult {
  python: string;
  torch: string;
  numpy: string;
  /** The OpenBLAS PyTorch's dense products ran on, its threads set with PyTorch's; null: none loaded. */
  openblas: string | null;
  workloads: TorchWorkload[];
}

/** The interpreter that has torch, with its version, or why there is none. */
export function findTorch(): { python: string; version: string } | { missing: string } {
  const tried: string[] = [];
  for (const python of [process.env.BENCH_PYTHON, "python3", "/usr/bin/python3"]) {
    if (!python || tried.includes(python)) continue;
    tried.push(python);
    try {
      const out = execFileSync(python, ["-c", "import numpy, torch; print(torch.__version__)"], {
        stdio: ["ignore", "pipe", "ignore"],
        timeout: 60_000,
      });
      return { python, version: out.toString().trim() };
    } catch {
      // next candidate
    }
  }
  return {
    missing: `no Python with torch and numpy among ${tried.join(", ")} (apt-get install python3-torch)`,
  };
}

/** Our float64 losses: batch 0 at the initial weights, batch 1 after one SGD step on batch 0. */
export function ourReferenceLosses(w: Workload): { first: number; second: number } {
  const model = new Model(w.spec);
  model.initialise(1);
  const params = model.params();
  const optimizer = makeOptimizer({ type: "sgd", learningRate: w.learningRate }, params);
  const inSize = model.inputSize;
  const k = model.outputSize;
  const b = w.batch;
  const j = Math.floor(w.n / b) > 1 ? 1 : 0;
  model.zeroGrads();
  model.forward(w.x.subarray(0, b * inSize), b);
  const first = model.loss(w.y.subarray(0, b * k), b, true, 1 / b) / b;
  optimizer.step(params.map((p) => new Float64Array(p.value.length)));
  model.forward(w.x.subarray(j * b * inSize, (j + 1) * b * inSize), b);
  const second = model.loss(w.y.subarray(j * b * k, (j + 1) * b * k), b, false, 0) / b;
  return { first, second };
}

const f64File = (dir: string, name: string, data: Float64Array): string => {
  // Float64Array is little-endian on every platform Node runs on here (x86-64, arm64).
  writeFileSync(join(dir, name), new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
  return name;
};

/** Runs train.py on the workloads; throws when Python fails. */
export async function torchBench(
  python: string,
  workloads: Workload[],
  timing: { ms: number; warmMs: number; rounds: number },
): Promise<TorchResult> {
  const dir = mkdtempSync(join(tmpdir(), "bench-torch-"));
  try {
    const config = {
      ...timing,
      dtypes: ["float32", "float64"],
      workloads: workloads.map((w, i) => {
        const { layers, tensors } = torchModel(w.spec, ourInitialWeights(w));
        const shape = w.spec.inputShape;
        const x = shape.length === 3 ? nhwcToNchw(w.x, [w.n, ...shape]) : w.x;
        const xShape = shape.length === 3 ? [w.n, shape[2]!, shape[0]!, shape[1]!] : [w.n, ...shape];
        return {
          name: w.name,
          batch: w.batch,
          n: w.n,
          lr: w.learningRate,
          layers,
          tensors: tensors.map((t, j) => ({ shape: t.shape, file: f64File(dir, `w${i}-${j}.f64`, t.data) })),
          x: { shape: xShape, file: f64File(dir, `x${i}.f64`, x) },
          y: { shape: [w.n, w.y.length / w.n], file: f64File(dir, `y${i}.f64`, w.y) },
        };
      }),
    };
    const script = join(dirname(fileURLToPath(import.meta.url)), "pytorch", "train.py");
    type Out = Omit<TorchResult, "python" | "workloads" | "openblas"> & {
      openblas?: string | null;
      workloads: Omit<TorchWorkload, "oursFirstLoss" | "oursSecondLoss" | "lossDifference" | "lossesAgree">[];
    };
    // One process per thread count, every pool of it set to that count (train.py says why).
    let out: Out | undefined;
    for (const threads of [1, 2]) {
      writeFileSync(join(dir, "config.json"), JSON.stringify({ ...config, threads: [threads] }));
      const t = String(threads);
      const { stdout } = await promisify(execFile)(python, [script, dir], {
        maxBuffer: 1 << 24,
        env: { ...process.env, OMP_NUM_THREADS: t, OPENBLAS_NUM_THREADS: t, MKL_NUM_THREADS: t },
      });
      const run = JSON.parse(stdout) as Out;
      if (!out) {
        out = run;
        continue;
      }
      out.workloads.forEach((w, i) => {
        const more = run.workloads[i]!;
        for (const dtype of Object.keys(w.samplesPerSecond)) {
          Object.assign(w.samplesPerSecond[dtype]!, more.samplesPerSecond[dtype]);
          Object.assign(w.rounds[dtype]!, more.rounds[dtype]);
        }
      });
    }
    if (!out) throw new Error("PyTorch ran no thread count");
    return {
      python,
      torch: out.torch,
      numpy: out.numpy,
      openblas: out.openblas ?? null,
      workloads: out.workloads.map((t, i) => {
        const ours = ourReferenceLosses(workloads[i]!);
        const rel = (a: number, b: number) => Math.abs(a - b) / Math.max(1, Math.abs(a));
        const lossDifference = Math.max(
          rel(ours.first, t.firstLoss.float64!),
          rel(ours.second, t.secondLoss.float64!),
        );
        return {
          ...t,
          oursFirstLoss: ours.first,
          oursSecondLoss: ours.second,
          lossDifference,
          lossesAgree: lossDifference <= LOSS_TOLERANCE,
        };
      }),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
