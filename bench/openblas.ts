/**
 * OpenBLAS as the machine's roof: bench/native/openblas-gemm.c, compiled here into a temp dir
 * (`cc -O2 … -lopenblas`, Debian's `libopenblas-dev`), times dgemm and sgemm on one thread
 * (`OPENBLAS_NUM_THREADS=1`) on the shapes of `KERNEL_CASES`, with the engine's transposes.
 */
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { KERNEL_CASES } from "./kernels.js";

export interface BlasResult {
  /** `openblas_get_config()`: version, build and the core it chose. */
  config: string;
  /** One per `KERNEL_CASES` entry, in order; null for the naive loop (not a BLAS product). */
  results: ({ kernel: string; m: number; k: number; n: number; dgemm: number; sgemm: number } | null)[];
}

/** Compiles and runs the harness; throws with the compiler's or the harness' message on failure. */
export async function openblasBench(ms: number, rounds: number): Promise<BlasResult> {
  const dir = mkdtempSync(join(tmpdir(), "bench-blas-"));
  const run = promisify(execFile);
  try {
    const source = join(dirname(fileURLToPath(import.meta.url)), "native", "openblas-gemm.c");
    const exe = join(dir, "openblas-gemm");
    await run(process.env.CC ?? "cc", ["-O2", source, "-o", exe, "-lopenblas"]);
    const cases = KERNEL_CASES.filter((c) => c.kernel !== "naive i-k-j");
    const args = [String(ms), String(rounds), ...cases.map((c) => `${c.kernel}:${c.m}:${c.k}:${c.n}`)];
    const { stdout } = await run(exe, args, { env: { ...process.env, OPENBLAS_NUM_THREADS: "1" } });
    const out = JSON.parse(stdout) as {
      config: string;
      results: NonNullable<BlasResult["results"][number]>[];
    };
    let i = 0;
    return {
      config: out.config,
      results: KERNEL_CASES.map((c) => (c.kernel === "naive i-k-j" ? null : out.results[i++]!)),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
