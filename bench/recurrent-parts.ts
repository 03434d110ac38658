/**
 * Where the LSTM workload's step goes (docs/performance.md, "Recurrent layers"): the bench's LSTM
 * (`bench/workloads.ts`) through the Model API (`zeroGrads`, forward, loss with backward; no
 * optimiser), with the lstm layer's recurrence (`run`), its steps back (`stepBack`, with the
 * per-step `∂L/∂z·Uᵀ` products), its end (`endBack`: ∂U over all steps as one product) and the
 * native products inside them each timed.
 *
 *   npx tsx bench/recurrent-parts.ts [--dtype=float32] [--rounds=9] [--steps=10]
 *
 * Medians of `--rounds` rounds of `--steps` steps, ms per step, load average printed: on a shared
 * machine read the shares, not the absolute times.
 */
import { loadavg } from "node:os";
import { Recurrent } from "../src/engine/layers/recurrent.js";
import { Lstm } from "../src/engine/layers/recurrent-cells.js";
import { Model } from "../src/engine/model.js";
import { useNativeKernels } from "../src/engine/native.js";
import type { Dtype } from "../src/engine/tensor.js";
import { loadNativeKernels } from "../src/native/kernels.js";
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
const steps = Number(flags.get("steps") ?? 10);
const w = workloads().find((x) => x.name.startsWith("LSTM"));
if (!w) throw new Error("no LSTM workload");
const native = loadNativeKernels();
if (!native) throw new Error("no native kernels (npm run build:native)");

const spent: Record<string, number> = {};
type Fn = (...a: unknown[]) => unknown;
/** Replaces `o[f]` by a version that adds its wall time to `spent[label]`. */
const timed = (o: Record<string, unknown>, f: string, label: string): void => {
  const original = o[f] as Fn;
  o[f] = function (this: unknown, ...a: unknown[]) {
    const t0 = now();
    const r = original.apply(this, a);
    spent[label] = (spent[label] ?? 0) + now() - t0;
    return r;
  };
};
const kernels = { ...native } as unknown as Record<string, unknown>;
for (const f of ["matmul", "matmulTransA", "matmulTransB"]) {
  kernels[f] = (native as unknown as Record<string, Fn>)[f]!.bind(native);
  timed(kernels, f, `native ${f}`);
}
useNativeKernels(kernels as never);
for (const f of ["run", "stepBack", "endBack"]) timed(Lstm.prototype as never, f, `lstm ${f}`);
for (const f of ["forward", "backward"]) timed(Recurrent.prototype as never, f, `lstm ${f}`);

const model = new Model(w.spec, { dtype });
model.initialise(1);
const f32 = dtype === "float32";
const X = f32 ? Float32Array.from(w.x) : w.x;
const Y = f32 ? Float32Array.from(w.y) : w.y;
const inSize = model.inputSize;
const k = model.outputSize;
const b = w.batch;
const batches = Math.floor(w.n / b);
const per: Record<string, number[]> = {};
for (let round = 0; round <= rounds; round++) {
  for (const key in spent) spent[key] = 0;
  const t0 = now();
  for (let i = 0; i < steps; i++) {
    const s = (i % batches) * b;
    model.zeroGrads();
    model.forward(X.subarray(s * inSize, (s + b) * inSize) as Float64Array, b);
    model.loss(Y.subarray(s * k, (s + b) * k) as Float64Array, b, true, 1 / b);
  }
  spent["step (forward + loss + backward)"] = now() - t0;
  // Round 0 warms up.
  if (round > 0)
    for (const key in spent) {
      per[key] = per[key] ?? [];
      per[key].push(spent[key]! / steps);
    }
}
console.log(
  `${w.name}, ${dtype}, ${native.kernels}: ms per step, medians of ${rounds} rounds of ${steps}; load ${loadavg()
    .map((l) => l.toFixed(2))
    .join(" ")}`,
);
for (const key of Object.keys(per).sort())
  console.log(`${key.padEnd(34)} ${median(per[key]!).toFixed(2).padStart(8)}`);
