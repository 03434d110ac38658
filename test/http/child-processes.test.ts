/**
 * Stopped worker threads leave no zombie processes: cancelling a running job and a client that
 * goes away during /train both terminate a pool thread, and that thread must not have started a
 * child process (nothing would wait for it once the thread is gone, and under Docker, where node
 * is PID 1, zombies pile up for good). Linux only: reads the server's children from /proc.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { trainExample } from "../../src/schemas/examples.js";

const root = fileURLToPath(new URL("../..", import.meta.url));
const dataDir = mkdtempSync(join(tmpdir(), "child-processes-"));
let server: ChildProcess | undefined;
afterAll(() => {
  server?.kill("SIGKILL");
  rmSync(dataDir, { recursive: true, force: true });
});

/** Children of `pid` (every thread's), each with its state letter from /proc (`Z`: zombie). */
function children(pid: number): { pid: number; state: string; cmd: string }[] {
  const pids = readdirSync(`/proc/${pid}/task`).flatMap((tid) =>
    readFileSync(`/proc/${pid}/task/${tid}/children`, "utf8").trim().split(/\s+/).filter(Boolean),
  );
  return pids.map((p) => {
    const stat = readFileSync(`/proc/${p}/stat`, "utf8");
    // "pid (comm) S ...": the command may hold spaces or parentheses, the state follows the last ")".
    return {
      pid: Number(p),
      state: stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3),
      cmd: stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")")),
    };
  });
}

/** Starts `node --import tsx src/server.ts` (what `npm start` and the image run); resolves with its base URL. */
function start(): Promise<{ pid: number; base: string }> {
  const proc = spawn(process.execPath, ["--import", "tsx", "src/server.ts"], {
    cwd: root,
    env: {
      ...process.env,
      PORT: "0",
      HOST: "127.0.0.1",
      DATA_DIR: dataDir,
      POOL_SIZE: "1",
      LOG_LEVEL: "info",
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  server = proc;
  let out = "";
  return new Promise((resolve, reject) => {
    const onData = (d: Buffer) => {
      out += d;
      const match = /Server listening at (http:\/\/127\.0\.0\.1:\d+)/.exec(out);
      if (match) resolve({ pid: proc.pid!, base: match[1]! });
    };
    proc.stdout!.on("data", onData);
    proc.stderr!.on("data", onData);
    proc.once("exit", (code) => reject(new Error(`the server exited (${code}) before listening:\n${out}`)));
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const post = (url: string, payload: unknown, signal?: AbortSignal) =>
  fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(payload),
    signal,
  });

/** Waits until the pool runs a task. */
async function untilRunning(base: string): Promise<void> {
  for (let i = 0; i < 400; i++) {
    const ready = (await (await fetch(`${base}/ready`)).json()) as { checks: { pool: { running: number } } };
    if (ready.checks.pool.running >= 1) return;
    await sleep(20);
  }
  throw new Error("nothing reached the pool");
}

/** Waits until the pool runs nothing (a terminated thread's task settled). */
async function untilIdle(base: string): Promise<void> {
  for (let i = 0; i < 400; i++) {
    const ready = (await (await fetch(`${base}/ready`)).json()) as { checks: { pool: { running: number } } };
    if (ready.checks.pool.running === 0) return;
    await sleep(20);
  }
  throw new Error("the pool never went idle");
}

describe.skipIf(process.platform !== "linux")("child processes of the server", () => {
  it("leaves no zombie after cancelled jobs and an abandoned /train", async () => {
    const { pid, base } = await start();
    // A first request, so the pool's thread has loaded the engine.
    const first = await post(`${base}/train`, { ...trainExample, epochs: 5 });
    expect(first.status).toBe(200);
    const before = children(pid);
    expect(before.filter((c) => c.state === "Z")).toEqual([]);

    for (let i = 0; i < 3; i++) {
      const created = await post(`${base}/jobs`, { ...trainExample, epochs: 100_000 });
      expect(created.status).toBe(202);
      const { id } = (await created.json()) as { id: string };
      await untilRunning(base);
      await sleep(200);
      const cancelled = await post(`${base}/jobs/${id}/cancel`, {});
      expect(cancelled.status).toBe(200);
      expect(((await cancelled.json()) as { status: string }).status).toBe("cancelled");
      await untilIdle(base);
    }
    const client = new AbortController();
    const abandoned = post(
      `${base}/train`,
      { ...trainExample, epochs: 100_000, batchSize: 1 },
      client.signal,
    );
    await untilRunning(base);
    client.abort();
    await expect(abandoned).rejects.toThrow();
    await untilIdle(base);
    // The replacement threads have started (and would have started their children by now).
    const again = await post(`${base}/train`, { ...trainExample, epochs: 5 });
    expect(again.status).toBe(200);
    await sleep(500);

    const after = children(pid);
    expect(after.filter((c) => c.state === "Z")).toEqual([]);
    // No thread starts a process: the children are those the server had at its first answer
    // (the TypeScript loader's esbuild, and the one that bundled the worker), no more.
    expect(after.map((c) => c.pid).sort()).toEqual(before.map((c) => c.pid).sort());
  }, 90_000);
});
