/**
 * What a second core gives a dense layer's product, with warm operands and with fresh ones
 * (docs/kernels.md, "The threshold"). Warm: the same A and B every call, as `npm run bench`'s
 * kernel rows time them, cached on both cores after the first call. Fresh: A and B rewritten by
 * this thread before every call, as in training (the batch is gathered and the weights are updated
 * on the training thread between products), so a helper on the other core must fetch its share
 * of them from this core's cache first. The rewrite itself is in both columns.
 *
 *   npx tsx bench/split.ts [--rounds=7] [--calls=300]
 *
 * Prints µs per product (medians of rounds, 1 and 2 threads alternating) for the MLP's forward
 * product at batch 64 and 256, float64 and float32, and the pool's counters (`poolStats`).
 */
import { loadNativeKernels } from "../src/native/kernels.js";
import { median, now } from "./timing.js";

const flags = new Map(
  process.argv.slice(2).map((a) => {
    const [k, v] = a.replace(/^--/, "").split("=");
    return [k!, v ?? ""] as const;
  }),
);
const rounds = Number(flags.get("rounds") ?? 7);
const calls = Number(flags.get("calls") ?? 300);
const native = loadNativeKernels();
if (!native) throw new Error("the native kernels are not built (npm run build:native)");
const settings = native.setThreads(1);

/** µs per call of `run`, medians of `rounds` rounds of `calls`, for 1 and 2 threads alternating. */
function time(run: () => void): Record<1 | 2, number> {
  const times: Record<1 | 2, number[]> = { 1: [], 2: [] };
  for (const threads of [1, 2] as const) {
    native!.setThreads(threads, 0);
    for (let i = 0; i < calls; i++) run();
  }
  for (let r = 0; r < rounds; r++)
    for (const threads of [1, 2] as const) {
      native!.setThreads(threads, 0);
      const t0 = now();
      for (let i = 0; i < calls; i++) run();
      times[threads].push(((now() - t0) / calls) * 1000);
    }
  return { 1: median(times[1]), 2: median(times[2]) };
}

console.log("µs per product y[m, 128] = x[m, 784]·W[784, 128]; 1 thread | split over 2 (ratio)");
for (const type of [Float64Array, Float32Array]) {
  for (const m of [64, 256]) {
    const [k, n] = [784, 128];
    const a = new type(m * k).map((_, i) => Math.sin(i));
    const b = new type(k * n).map((_, i) => Math.cos(i));
    const a0 = a.slice();
    const b0 = b.slice();
    const c = new type(m * n);
    for (const fresh of [false, true]) {
      const t = time(() => {
        if (fresh) {
          a.set(a0);
          b.set(b0);
        }
        native.matmul(a, b, c, m, k, n);
      });
      console.log(
        `${type === Float64Array ? "float64" : "float32"} ${m}×${k}×${n} ${fresh ? "fresh" : "warm "}: ` +
          `${t[1].toFixed(1)} | ${t[2].toFixed(1)} (${(t[1] / t[2]).toFixed(2)}×)`,
      );
    }
  }
}
native.setThreads(settings.threads, settings.minWork);
console.log("pool:", JSON.stringify(native.poolStats?.() ?? "not in this build"));
