/**
 * `npm run loadtest` (about 25 s): two runs of `runLoad` (scripts/load.ts) on loopback, each
 * printing a Markdown table for docs/reliability.md —
 *   1. within capacity: default POOL_SIZE and MAX_QUEUE (64), 32 + 16 connections: every request
 *      is held (200), none refused;
 *   2. overloaded: the same clients against MAX_QUEUE=4: the surplus gets 503 + Retry-After at
 *      once, everything else 200.
 * Both keep GET /health fast. Exits 1 when any answer is neither 200 nor 503, or none came.
 * Flags: --seconds=N (default 10), --gradients=N (32), --train=N (16).
 */
import { availableParallelism } from "node:os";
import { formatTable, type LoadResult, runLoad, unexpected } from "./load.js";

function flag(name: string, fallback: number): number {
  const arg = process.argv.find((a) => a.startsWith(`--${name}=`));
  const value = arg ? Number(arg.slice(name.length + 3)) : fallback;
  if (!Number.isInteger(value) || value < 1) throw new Error(`--${name} takes a positive integer`);
  return value;
}

const seconds = flag("seconds", 10);
const gradientsConnections = flag("gradients", 32);
const trainConnections = flag("train", 16);

const scenarios: { title: string; env: Record<string, string> }[] = [
  { title: "within capacity (default MAX_QUEUE)", env: {} },
  { title: "overloaded (MAX_QUEUE=4)", env: { MAX_QUEUE: "4" } },
];

console.log(
  `Node ${process.version}, ${availableParallelism()} CPUs; ${seconds} s per run, ` +
    `${gradientsConnections} connections on POST /gradients, ${trainConnections} on POST /train, 1 on GET /health\n`,
);
let failed = false;
for (const { title, env } of scenarios) {
  const result: LoadResult = await runLoad({ seconds, gradientsConnections, trainConnections, env });
  console.log(`### ${title}: POOL_SIZE=${result.poolSize}, MAX_QUEUE=${result.maxQueue}\n`);
  console.log(`${formatTable(result)}\n`);
  for (const r of result.routes) {
    if (unexpected(r) > 0) {
      console.error(`FAIL: ${r.route} had ${unexpected(r)} answers other than 200/503, errors or timeouts`);
      failed = true;
    }
    if (!r.statuses["200"]) {
      console.error(`FAIL: ${r.route} got no 200 at all`);
      failed = true;
    }
  }
}
process.exitCode = failed ? 1 : 0;
