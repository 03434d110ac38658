/**
 * A load test on loopback: the app (`buildApp`, logging off, in-memory database) listens on
 * 127.0.0.1, port 0, in this process; three autocannon processes load it at once — many
 * connections sending small `POST /gradients`, many sending small `POST /train`, and one asking
 * `GET /health` back to back, whose latency says whether the event loop stays free. autocannon
 * runs in child processes so the load generator does not share the server's event loop (all
 * still share the machine's cores). Used by `npm run loadtest` and by test/http/load.test.ts.
 */
import { execFile } from "node:child_process";
import { createRequire } from "node:module";
import { promisify } from "node:util";
import { loadConfig } from "../src/config.js";
import { buildApp } from "../src/http/app.js";
import { gradientsExample } from "../src/schemas/examples.js";

/**
 * One `POST /gradients` on the seed network (docs/backprop.md §1.2: 2 → 3 → 3, softmax; about
 * 0.1 ms of engine time): the Swagger example without its numerical check.
 */
export const GRADIENTS_BODY = { ...gradientsExample, numericalCheck: false };

/** One small `POST /train`: xor, 2 → 4 → 2, 20 epochs. */
export const TRAIN_BODY = {
  model: {
    inputShape: [2],
    layers: [
      { type: "dense", units: 4, activation: "tanh" },
      { type: "dense", units: 2, activation: "softmax" },
    ],
    loss: "sparseCategoricalCrossentropy",
  },
  dataset: { name: "xor" },
  optimizer: { type: "adam", learningRate: 0.05 },
  epochs: 20,
  seed: 1,
};

export interface LoadOptions {
  /** How long each load runs, whole seconds. */
  seconds: number;
  /** Connections sending POST /gradients, and POST /train. */
  gradientsConnections: number;
  trainConnections: number;
  /** Environment for the app's configuration (POOL_SIZE, MAX_QUEUE, …) over the defaults. */
  env?: Record<string, string>;
}

export interface RouteLoad {
  route: string;
  connections: number;
  requests: number;
  requestsPerSecond: number;
  /** Answers by HTTP status. */
  statuses: Record<string, number>;
  /** Connection errors and timeouts (no answer at all). */
  errors: number;
  timeouts: number;
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
  maxMs: number;
}

export interface LoadResult {
  poolSize: number;
  maxQueue: number;
  seconds: number;
  routes: RouteLoad[];
}

interface AutocannonJson {
  requests: { total: number };
  latency: { p50: number; p90: number; p99: number; max: number };
  statusCodeStats?: Record<string, { count: number }>;
  errors: number;
  timeouts: number;
  duration: number;
}

/** Runs the three loads at once against a fresh app and returns what autocannon measured. */
export async function runLoad(options: LoadOptions): Promise<LoadResult> {
  const config = loadConfig({ LOG_LEVEL: "silent", DATA_DIR: ":memory:", ...options.env });
  const app = await buildApp({ config, logger: false });
  await app.listen({ host: "127.0.0.1", port: 0 });
  try {
    const address = app.server.address();
    if (address === null || typeof address === "string") throw new Error("load: no TCP address");
    const base = `http://127.0.0.1:${address.port}`;
    // One of each first: a broken route fails loudly instead of timing error answers; the worker
    // threads and the built-in data sets are warm.
    for (const [path, body] of [
      ["/gradients", GRADIENTS_BODY],
      ["/train", TRAIN_BODY],
    ] as const) {
      const probe = await fetch(`${base}${path}`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(body),
      });
      if (probe.status !== 200)
        throw new Error(`load: POST ${path} answered ${probe.status}: ${await probe.text()}`);
    }
    const cli = createRequire(import.meta.url).resolve("autocannon/autocannon.js");
    const run = async (route: string, connections: number, body?: object): Promise<RouteLoad> => {
      const [method, path] = route.split(" ") as [string, string];
      const args = [cli, "-j", "-c", String(connections), "-d", String(options.seconds), "-m", method];
      if (body) args.push("-H", "content-type=application/json", "-b", JSON.stringify(body));
      args.push(`${base}${path}`);
      const { stdout } = await promisify(execFile)(process.execPath, args, { maxBuffer: 1 << 24 });
      const r = JSON.parse(stdout) as AutocannonJson;
      return {
        route,
        connections,
        requests: r.requests.total,
        requestsPerSecond: r.requests.total / r.duration,
        statuses: Object.fromEntries(Object.entries(r.statusCodeStats ?? {}).map(([s, v]) => [s, v.count])),
        errors: r.errors,
        timeouts: r.timeouts,
        p50Ms: r.latency.p50,
        p90Ms: r.latency.p90,
        p99Ms: r.latency.p99,
        maxMs: r.latency.max,
      };
    };
    const routes = await Promise.all([
      run("POST /gradients", options.gradientsConnections, GRADIENTS_BODY),
      run("POST /train", options.trainConnections, TRAIN_BODY),
      run("GET /health", 1),
    ]);
    return { poolSize: config.poolSize, maxQueue: config.maxQueue, seconds: options.seconds, routes };
  } finally {
    await app.close();
  }
}

/** Answers other than 200 and the documented 503 (overloaded), plus requests with no answer. */
export function unexpected(r: RouteLoad): number {
  const other = Object.entries(r.statuses)
    .filter(([status]) => status !== "200" && status !== "503")
    .reduce((sum, [, n]) => sum + n, 0);
  return other + r.errors + r.timeouts;
}

/** A Markdown table of the result, one row per route. */
export function formatTable(result: LoadResult): string {
  const rows = [
    "| route | connections | requests | req/s | 200 | 503 | other / errors | p50 ms | p90 ms | p99 ms | max ms |",
    "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
  ];
  for (const r of result.routes)
    rows.push(
      `| ${r.route} | ${r.connections} | ${r.requests.toLocaleString("en")} | ${r.requestsPerSecond.toFixed(0)} | ` +
        `${(r.statuses["200"] ?? 0).toLocaleString("en")} | ${(r.statuses["503"] ?? 0).toLocaleString("en")} | ` +
        `${unexpected(r)} | ${r.p50Ms} | ${r.p90Ms} | ${r.p99Ms} | ${r.maxMs} |`,
    );
  return rows.join("\n");
}
