/**
 * Server CPU per `POST /gradients` over a fixed number of requests (docs/performance.md,
 * "/gradients"): the app is built as bench/http.ts builds it and listens on 127.0.0.1; after
 * `--warmup=N` requests (default 5,000), autocannon (a child process, 10 connections) sends
 * exactly `--requests=N` (default 20,000) and the server's `process.cpuUsage()` over them is divided
 * by N. `--rounds=R` repeats the measured part (default 3) and prints each round and the minimum.
 * `--floor=BYTES` loads the bare app of bench/http-floor.ts answering BYTES bytes instead.
 * `--profile=FILE` writes a CPU profile of the main thread (node:inspector, sampling every 100 µs)
 * over the measured rounds only, so start-up and warm-up are left out; open it in Chrome's DevTools
 * or summarise it with `npx tsx bench/profile-summary.ts FILE`.
 *
 *     npx tsx bench/http-cpu.ts [--requests=20000] [--rounds=3] [--profile=/tmp/gradients.cpuprofile]
 */
import { execFile } from "node:child_process";
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { Session } from "node:inspector/promises";
import { createRequire } from "node:module";
import { loadavg } from "node:os";
import { promisify } from "node:util";
import { GRADIENTS_BODY } from "../scripts/load.js";
import { loadConfig } from "../src/config.js";
import { buildApp } from "../src/http/app.js";
import { floorApp } from "./http-floor.js";

const flags = new Map(
  process.argv.slice(2).map((a) => {
    const [k, v] = a.replace(/^--/, "").split("=");
    return [k!, v ?? "true"] as const;
  }),
);
const requests = Number(flags.get("requests") ?? 20_000);
const warmup = Number(flags.get("warmup") ?? 5_000);
const rounds = Number(flags.get("rounds") ?? 3);
const profile = flags.get("profile");
const BODY = JSON.stringify(GRADIENTS_BODY);

/** CPU time of each of this process's threads by name (Linux: /proc/self/task), in µs; {} elsewhere. */
function threadCpu(): Map<string, number> {
  const out = new Map<string, number>();
  let tasks: string[];
  try {
    tasks = readdirSync("/proc/self/task");
  } catch {
    return out;
  }
  for (const t of tasks) {
    try {
      const stat = readFileSync(`/proc/self/task/${t}/stat`, "utf8");
      const name = readFileSync(`/proc/self/task/${t}/comm`, "utf8").trim();
      // Fields after the parenthesised name: state is field 3, utime 14 and stime 15 (clock ticks, 100 Hz).
      const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      const us = (Number(f[11]) + Number(f[12])) * 10_000;
      const key = t === String(process.pid) ? "main" : name;
      out.set(key, (out.get(key) ?? 0) + us);
    } catch {
      // the thread ended
    }
  }
  return out;
}

/** Sends exactly `n` requests with autocannon in a child process; its JSON summary. */
async function cannon(url: string, n: number): Promise<{ non2xx: number; errors: number; duration: number }> {
  const cli = createRequire(import.meta.url).resolve("autocannon/autocannon.js");
  const args = [cli, "-j", "-c", "10", "-a", String(n), "-m", "POST"];
  args.push("-H", "content-type=application/json", "-b", BODY, url);
  const { stdout } = await promisify(execFile)(process.execPath, args, { maxBuffer: 1 << 24 });
  return JSON.parse(stdout);
}

const app = flags.has("floor")
  ? await floorApp(Number(flags.get("floor")))
  : await buildApp({ config: loadConfig({ LOG_LEVEL: "silent", DATA_DIR: ":memory:" }), logger: false });
if (!flags.has("floor")) await app.listen({ host: "127.0.0.1", port: 0 });
const { port } = app.server.address() as { port: number };
const url = `http://127.0.0.1:${port}/gradients`;
try {
  await cannon(url, warmup);
  const session = profile ? new Session() : undefined;
  if (session) {
    session.connect();
    await session.post("Profiler.enable");
    await session.post("Profiler.setSamplingInterval", { interval: 100 });
    await session.post("Profiler.start");
  }
  const perRequest: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const load = loadavg()[0]!.toFixed(2);
    const threads0 = threadCpu();
    const cpu0 = process.cpuUsage();
    const res = await cannon(url, requests);
    const cpu = process.cpuUsage(cpu0);
    const threads = [...threadCpu()]
      .map(([name, us]) => [name, (us - (threads0.get(name) ?? 0)) / requests] as const)
      .filter(([, us]) => us >= 0.5)
      .map(([name, us]) => `${name} ${us.toFixed(0)}`);
    const us = (cpu.user + cpu.system) / requests;
    perRequest.push(us);
    console.log(
      `round ${r + 1}: ${us.toFixed(1)} µs/request, ${(requests / res.duration).toFixed(0)} requests/s, ` +
        `non-2xx ${res.non2xx}, errors ${res.errors}, load ${load}; by thread: ${threads.join(", ")}`,
    );
  }
  console.log(`min ${Math.min(...perRequest).toFixed(1)} µs/request over ${rounds} rounds of ${requests}`);
  if (session && profile) {
    const { profile: p } = await session.post("Profiler.stop");
    writeFileSync(profile, JSON.stringify(p));
    console.log(`profile: ${profile}`);
  }
} finally {
  await app.close();
}
