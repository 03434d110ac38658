/**
 * The service's own overhead: `POST /gradients` on the seed network (docs/backprop.md §1.2),
 * loaded with autocannon on loopback. The app is built with `buildApp` (default pool size and
 * limits, logging off unless `log` is set) and listens on 127.0.0.1, port 0, in this process;
 * autocannon runs in a child process so the load generator does not share the server's event loop
 * (both still share the machine's 2 cores). Right after, the same load on a bare Fastify app
 * answering as many bytes (bench/http-floor.ts) gives the floor of the same moment. Each server
 * first answers `WARMUP_REQUESTS` unmeasured requests.
 */
import { execFile } from "node:child_process";
import { createRequire } from "node:module";
import { promisify } from "node:util";
import { GRADIENTS_BODY } from "../scripts/load.js";
import { loadConfig } from "../src/config.js";
import { buildApp } from "../src/http/app.js";
import { floorApp } from "./http-floor.js";

/** One autocannon run against one server. */
export interface LoadResult {
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  requests: number;
  non2xx: number;
  errors: number;
  seconds: number;
  connections: number;
  /**
   * CPU time of the server's process (main thread and workers, user + system) per request, µs:
   * steadier than requests/s on a shared machine, as it leaves out the time spent waiting for a core.
   */
  cpuUsPerRequest: number;
}

export interface HttpResult extends LoadResult {
  /** Bytes of the service's answer body (the floor answers as many). */
  answerBytes: number;
  /** Whether the service logged each request (pino at info, to /dev/null). */
  logging: boolean;
  /** The bare Fastify app under the same load, run right after the service. */
  floor: LoadResult;
}

/** The seed network's Swagger example without its numerical check (see scripts/load.ts). */
const BODY = JSON.stringify(GRADIENTS_BODY);

/**
 * Requests sent to each server before its measured load: a server in service has long compiled
 * its hot code, so the first seconds of a fresh one (tsx-compiled modules, zod, Fastify's hooks
 * compiled and optimised; about 40 µs of CPU per request more over the first 20,000, in V8's
 * compiler threads) are not what it costs per request.
 */
export const WARMUP_REQUESTS = 5_000;

/** POSTs `BODY` to `url` (the server listens in this process) for `seconds`; CPU per request from `process.cpuUsage()`. */
async function load(url: string, seconds: number, connections: number): Promise<LoadResult> {
  const cli = createRequire(import.meta.url).resolve("autocannon/autocannon.js");
  const warmup = [cli, "-j", "-c", String(connections), "-a", String(WARMUP_REQUESTS), "-m", "POST"];
  warmup.push("-H", "content-type=application/json", "-b", BODY, url);
  await promisify(execFile)(process.execPath, warmup, { maxBuffer: 1 << 24 });
  const args = [cli, "-j", "-c", String(connections), "-d", String(seconds), "-m", "POST"];
  args.push("-H", "content-type=application/json", "-b", BODY, url);
  const cpu0 = process.cpuUsage();
  const { stdout } = await promisify(execFile)(process.execPath, args, { maxBuffer: 1 << 24 });
  const cpu = process.cpuUsage(cpu0);
  const r = JSON.parse(stdout) as {
    requests: { average: number; total: number };
    latency: { p50: number; p99: number };
    non2xx: number;
    errors: number;
    duration: number;
  };
  return {
    requestsPerSecond: r.requests.total / r.duration,
    p50Ms: r.latency.p50,
    p99Ms: r.latency.p99,
    requests: r.requests.total,
    non2xx: r.non2xx,
    errors: r.errors,
    seconds: r.duration,
    connections,
    cpuUsPerRequest: (cpu.user + cpu.system) / r.requests.total,
  };
}

/** The URL of `path` on an app listening on 127.0.0.1. */
function urlOf(app: { server: { address(): unknown } }, path: string): string {
  const address = app.server.address() as { port: number } | string | null;
  if (address === null || typeof address === "string") throw new Error("bench: no TCP address");
  return `http://127.0.0.1:${address.port}${path}`;
}

/**
 * Loads the service, then the floor, each for `seconds`. With `log`, the service logs as in
 * production (pino at info, one line per request) to /dev/null.
 */
export async function httpBench(seconds: number, connections: number, log = false): Promise<HttpResult> {
  const app = await buildApp({
    config: loadConfig({ LOG_LEVEL: log ? "info" : "silent", DATA_DIR: ":memory:" }),
    logger: log ? { level: "info", file: "/dev/null" } : false,
  });
  await app.listen({ host: "127.0.0.1", port: 0 });
  let ours: LoadResult;
  let answerBytes: number;
  try {
    const url = urlOf(app, "/gradients");
    // One request first, so a broken route fails loudly instead of timing 4xx answers.
    const probe = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: BODY,
    });
    const answer = await probe.text();
    if (probe.status !== 200) throw new Error(`bench: POST /gradients answered ${probe.status}: ${answer}`);
    answerBytes = Buffer.byteLength(answer);
    ours = await load(url, seconds, connections);
  } finally {
    await app.close();
  }
  const bare = await floorApp(answerBytes);
  try {
    const floor = await load(urlOf(bare, "/gradients"), seconds, connections);
    return { ...ours, answerBytes, logging: log, floor };
  } finally {
    await bare.close();
  }
}
