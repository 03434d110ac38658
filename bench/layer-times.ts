/**
 * Where a training step's time goes, layer by layer: runs the bench's Model API step
 * (`ourStepRunner`) on one workload with every layer's `forward` and `backward` timed, and prints
 * each one's median share. `npx tsx bench/layer-times.ts [substring of a workload name]`
 * (default: the CNN). `--no-native`: without the native kernels (native/), as before they existed.
 * `--dtype=float32`: the model in float32 (default float64). `--clock=cpu`: the process's CPU
 * time (user + system, all its threads: run with ENGINE_THREADS=1 to time one) instead of the wall
 * clock, less disturbed by other processes on a shared machine.
 */
import { loadavg } from "node:os";
import { useNativeKernels } from "../src/engine/native.js";
import type { Dtype } from "../src/engine/tensor.js";
import { registerNativeKernels } from "../src/native/kernels.js";
import { ourStepRunner } from "./ours.js";
import { median, now as wall } from "./timing.js";
import { workloads } from "./workloads.js";

const tsOnly = process.argv.includes("--no-native");
const dtypeArg = process.argv.find((a) => a.startsWith("--dtype="))?.slice("--dtype=".length) ?? "float64";
if (dtypeArg !== "float64" && dtypeArg !== "float32") throw new Error(`--dtype must be float64 or float32`);
const dtype: Dtype = dtypeArg;
const cpuClock = process.argv.includes("--clock=cpu");
/** Milliseconds of the wall clock, or of the process's CPU time with `--clock=cpu`. */
const now = cpuClock
  ? () => {
      const u = process.cpuUsage();
      return (u.user + u.system) / 1000;
    }
  : wall;
const which = process.argv.slice(2).find((a) => !a.startsWith("--")) ?? "CNN";
const w = workloads().find((x) => x.name.includes(which));
if (!w) throw new Error(`no workload matches ${which}`);
if (tsOnly) useNativeKernels(null);
else registerNativeKernels();
const runner = ourStepRunner(w, true, dtype);
runner.enter?.();
// The step's model is private to the runner: time the layers through their prototypes.
const times = new Map<string, number>();
const wrapped = new Set<object>();
const wrap = (proto: Record<string, unknown>, method: string, label: (self: { name: string }) => string) => {
  const original = proto[method] as (...a: unknown[]) => unknown;
  proto[method] = function (this: { name: string }, ...a: unknown[]) {
    const t0 = now();
    const r = original.apply(this, a);
    const key = `${label(this)} ${method}`;
    times.set(key, (times.get(key) ?? 0) + now() - t0);
    return r;
  };
};
const { Model } = await import("../src/engine/model.js");
const probe = new Model(w.spec);
for (const layer of probe.layers) {
  const proto = Object.getPrototypeOf(layer) as Record<string, unknown>;
  if (wrapped.has(proto)) continue;
  wrapped.add(proto);
  const label = (self: { name: string }) => `${self.name}`;
  wrap(proto, "forward", label);
  wrap(proto, "backward", label);
  // Max pooling back-propagates through the relu before it in one pass (Layer.backwardThrough).
  if ("backwardThrough" in proto) wrap(proto, "backwardThrough", label);
}
const protoModel = Model.prototype as unknown as Record<string, unknown>;
wrap(protoModel, "loss", () => "model (loss + all backward)");
for (let i = 0; i < 300; i++) runner.step();
const rounds: Map<string, number>[] = [];
const stepTimes: number[] = [];
for (let round = 0; round < 7; round++) {
  times.clear();
  const t0 = now();
  const steps = 300;
  for (let i = 0; i < steps; i++) runner.step();
  stepTimes.push(((now() - t0) / steps) * 1000);
  rounds.push(new Map([...times].map(([k, v]) => [k, (v / steps) * 1000])));
}
const step = median(stepTimes);
console.log(
  `${w.name} ${dtype}${tsOnly ? " (no native kernels)" : ""}${cpuClock ? " (CPU time)" : ""}: step ${step.toFixed(1)} µs median, ${((w.batch / step) * 1e6).toFixed(0)} samples/s; load ${loadavg()
    .map((l) => l.toFixed(2))
    .join(" ")}`,
);
for (const key of rounds[0]!.keys()) {
  const us = median(rounds.map((r) => r.get(key) ?? 0));
  console.log(
    `${key.padEnd(40)} ${us.toFixed(1).padStart(8)} µs ${((100 * us) / step).toFixed(1).padStart(5)} %`,
  );
}
