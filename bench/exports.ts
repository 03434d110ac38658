/**
 * The event loop during model exports: a 1.9M-parameter model (784 → 2048 → 128 → 10 dense) is
 * stored, then `CONCURRENT` downloads of its ONNX and TensorFlow.js files are started at once (curl,
 * in child processes: the downloads' bytes are not read on the server's event loop) while GET
 * /health is polled; prints the slowest /health, the longest the event loop was held, and the
 * time the downloads took.
 * Run: `npx tsx bench/exports.ts` (the app listens on 127.0.0.1, port 0, in this process).
 */
import { execFile } from "node:child_process";
import { monitorEventLoopDelay } from "node:perf_hooks";
import { promisify } from "node:util";
import { loadConfig } from "../src/config.js";
import { ENGINE_VERSION, initWeights, type ModelSpec, weightsSha256 } from "../src/engine/index.js";
import { buildApp } from "../src/http/app.js";
import { newModelId } from "../src/service/models/model-store.js";

const CONCURRENT = 20;
const spec: ModelSpec = {
  inputShape: [784],
  layers: [
    { type: "dense", units: 2048, activation: "relu" },
    { type: "dense", units: 128, activation: "relu" },
    { type: "dense", units: 10, activation: "softmax" },
  ],
  loss: "sparseCategoricalCrossentropy",
} as ModelSpec;

const app = await buildApp({ config: loadConfig({ DATA_DIR: ":memory:" }), logger: false });
await app.listen({ host: "127.0.0.1", port: 0 });
const address = app.server.address();
if (typeof address !== "object" || address === null) throw new Error("not listening");
const base = `http://127.0.0.1:${address.port}`;

const weights = initWeights(spec, 1);
const parameters = Object.values(weights).reduce((n, t) => n + t.data.length, 0);
const { id } = await app.store.models.insert({
  id: newModelId(),
  owner: "anonymous",
  createdAt: new Date().toISOString(),
  source: "import",
  jobId: null,
  spec,
  optimizer: null,
  metrics: null,
  dataset: null,
  seed: null,
  engineVersion: ENGINE_VERSION,
  weightsSha256: weightsSha256(weights),
  parameters,
  lossGiven: true,
  baseModelId: null,
  weights,
});

async function round(label: string): Promise<void> {
  let polling = true;
  let worst = 0;
  const poll = (async () => {
    while (polling) {
      const t = performance.now();
      await (await fetch(`${base}/health`)).arrayBuffer();
      worst = Math.max(worst, performance.now() - t);
      await new Promise((r) => setTimeout(r, 5));
    }
  })();
  const delay = monitorEventLoopDelay({ resolution: 5 });
  delay.enable();
  const t0 = performance.now();
  const urls = Array.from({ length: CONCURRENT }, (_, i) =>
    i % 2 === 0 ? `${base}/models/${id}/onnx` : `${base}/models/${id}/tfjs/weights.bin`,
  );
  const curl = (u: string) =>
    promisify(execFile)("curl", ["-s", "-o", "/dev/null", "-w", "%{size_download}", u]);
  const sizes = await Promise.all(urls.map(async (u) => Number((await curl(u)).stdout)));
  const took = performance.now() - t0;
  polling = false;
  await poll;
  delay.disable();
  console.log(
    `${label}: ${parameters} parameters, ${CONCURRENT} exports (${sizes[0]} + ${sizes[1]} bytes) in ` +
      `${took.toFixed(0)} ms; slowest GET /health ${worst.toFixed(0)} ms; event loop held at most ` +
      `${(delay.max / 1e6).toFixed(0)} ms`,
  );
}

await round("first");
await round("again");
await app.close();
