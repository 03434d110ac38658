/**
 * `POST /train` on the workloads, in process through `app.inject` (the whole route: JSON parse of
 * the inline data, validation, the worker pool or the inline path, the answer's serialisation;
 * no sockets). The body: the workload's model, its data inline (`x` flat per sample, `y` one-hot),
 * plain SGD, its batch size, seed 1, and the default answer (weights, history, final gradient,
 * metrics). Two rates per request: from the answer's `durationMs` (training in the worker) and
 * from wall time (what a client waits for).
 */
import { loadConfig } from "../src/config.js";
import type { Dtype } from "../src/engine/tensor.js";
import { buildApp } from "../src/http/app.js";
import { median } from "./timing.js";
import type { Workload } from "./workloads.js";

export interface RouteResult {
  workload: string;
  dtype: Dtype;
  epochs: number;
  /** Median samples/s from `durationMs`, and from wall time; absent when `pending`. */
  samplesPerSecond?: number;
  samplesPerSecondWall?: number;
  rounds: { durationMs: number; wallMs: number }[];
  engineVersion?: string;
  /** Why float32 was not measured: the route refused `dtype` or ran float64 anyway. */
  pending?: string;
}

function body(w: Workload, epochs: number, dtype: Dtype): string {
  const inSize = w.x.length / w.n;
  const k = w.y.length / w.n;
  const x: number[][] = [];
  const y: number[][] = [];
  for (let i = 0; i < w.n; i++) {
    x.push(Array.from(w.x.subarray(i * inSize, (i + 1) * inSize)));
    y.push(Array.from(w.y.subarray(i * k, (i + 1) * k)));
  }
  return JSON.stringify({
    model: w.spec,
    dataset: { x, y },
    optimizer: { type: "sgd", learningRate: w.learningRate },
    epochs,
    batchSize: w.batch,
    seed: 1,
    ...(dtype === "float64" ? {} : { dtype }),
  });
}

/**
 * @param epochs per workload, chosen so one request takes about a round.
 * Each workload: one warm-up request per dtype, then `rounds` requests alternating the dtypes.
 */
export async function trainRouteBench(
  workloads: { w: Workload; epochs: number }[],
  rounds: number,
): Promise<RouteResult[]> {
  const app = await buildApp({
    // MAX_WORK raised: the LSTM's calibrated requests (about 2·10¹⁰ multiply-adds) pass the default.
    config: loadConfig({
      LOG_LEVEL: "silent",
      DATA_DIR: ":memory:",
      BODY_LIMIT: String(64 << 20),
      MAX_WORK: "1e12",
    }),
    logger: false,
  });
  const out: RouteResult[] = [];
  try {
    for (const { w, epochs } of workloads) {
      const results = (["float64", "float32"] as Dtype[]).map((dtype) => ({
        result: { workload: w.name, dtype, epochs, rounds: [] } as RouteResult,
        payload: body(w, epochs, dtype),
      }));
      const post = async (r: (typeof results)[number]) => {
        const t0 = performance.now();
        const res = await app.inject({
          method: "POST",
          url: "/train",
          headers: { "content-type": "application/json" },
          payload: r.payload,
        });
        const wallMs = performance.now() - t0;
        const answer = res.json() as {
          durationMs: number;
          engineVersion: string;
          epochsRun: number;
          detail?: string;
        };
        if (res.statusCode !== 200) {
          if (r.result.dtype === "float32")
            r.result.pending = `POST /train answered ${res.statusCode}: ${answer.detail ?? ""}`;
          else throw new Error(`bench: POST /train answered ${res.statusCode}: ${res.body.slice(0, 300)}`);
          return;
        }
        r.result.engineVersion = answer.engineVersion;
        if (r.result.dtype === "float32" && !answer.engineVersion.endsWith("+float32"))
          r.result.pending = `the route ran ${answer.engineVersion} (float64)`;
        if (answer.epochsRun !== epochs) throw new Error(`bench: POST /train ran ${answer.epochsRun} epochs`);
        return { durationMs: answer.durationMs, wallMs };
      };
      for (const r of results) await post(r);
      for (let k = 0; k < rounds; k++)
        for (const r of results) {
          if (r.result.pending) continue;
          const t = await post(r);
          if (t) r.result.rounds.push(t);
        }
      for (const { result } of results) {
        if (!result.pending) {
          const samples = epochs * w.n;
          result.samplesPerSecond = median(result.rounds.map((t) => samples / (t.durationMs / 1000)));
          result.samplesPerSecondWall = median(result.rounds.map((t) => samples / (t.wallMs / 1000)));
        }
        out.push(result);
      }
    }
  } finally {
    await app.close();
  }
  return out;
}
