/**
 * SIGTERM drains: the server process (`node --import tsx src/server.ts`, as the Docker image
 * runs it) gets SIGTERM while a POST /train runs and a job trains. The request still answers
 * 200, new connections are refused, the job is left at its last checkpoint (to resume at the
 * next start), and the process exits 0 within a bound.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { trainExample } from "../../src/schemas/examples.js";
import { SqlJobStore } from "../../src/service/store/sql/sql-job-store.js";
import { openDatabase, SqliteDriver } from "../../src/service/store/sqlite/database.js";

const root = fileURLToPath(new URL("../..", import.meta.url));
const dataDir = mkdtempSync(join(tmpdir(), "sigterm-"));
const running = new Set<ChildProcess>();
afterAll(() => {
  for (const p of running) p.kill("SIGKILL");
  rmSync(dataDir, { recursive: true, force: true });
});

/** Starts the server on a free port; resolves once it listens. */
function startServer(): Promise<{ proc: ChildProcess; base: string; port: number }> {
  const proc = spawn(process.execPath, ["--import", "tsx", "src/server.ts"], {
    cwd: root,
    env: {
      ...process.env,
      PORT: "0",
      HOST: "127.0.0.1",
      DATA_DIR: dataDir,
      POOL_SIZE: "2",
      MAX_CONCURRENT_JOBS: "1",
      CHECKPOINT_EVERY: "5",
      LOG_LEVEL: "info",
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  running.add(proc);
  proc.on("exit", () => running.delete(proc));
  return new Promise((resolve, reject) => {
    let out = "";
    proc.stderr!.on("data", (d) => {
      out += d;
    });
    proc.stdout!.on("data", (d) => {
      out += d;
      const m = /Server listening at (http:\/\/127\.0\.0\.1:(\d+))/.exec(out);
      if (m) resolve({ proc, base: m[1]!, port: Number(m[2]) });
    });
    proc.on("exit", (code) => reject(new Error(`server exited (${code}) before listening:\n${out}`)));
  });
}

const post = (url: string, payload: unknown) =>
  fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(payload),
  });

/** Resolves with the error code of a new TCP connection, or "connected". */
function tryConnect(port: number): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect({ port, host: "127.0.0.1" });
    socket.once("connect", () => {
      socket.destroy();
      resolve("connected");
    });
    socket.once("error", (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
  });
}

describe("SIGTERM", () => {
  it("lets the running request finish, refuses new connections, leaves jobs at a checkpoint, exits 0", async () => {
    const { proc, base, port } = await startServer();
    // A job that outlives the shutdown, with a checkpoint stored.
    const created = await post(`${base}/jobs`, { ...trainExample, epochs: 10_000, batchSize: 1 });
    expect(created.status).toBe(202);
    const { id } = (await created.json()) as { id: string };
    for (let i = 0; i < 200; i++) {
      const job = (await (await fetch(`${base}/jobs/${id}`)).json()) as { checkpointEpoch: number };
      if (job.checkpointEpoch >= 5) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    // A synchronous run of about a second, on the other worker.
    const inFlight = post(`${base}/train`, { ...trainExample, epochs: 2500, batchSize: 1 });
    for (let i = 0; i < 100; i++) {
      const ready = (await (await fetch(`${base}/ready`)).json()) as {
        checks: { pool: { running: number } };
      };
      if (ready.checks.pool.running >= 2) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    const exited = new Promise<{ code: number | null; at: number }>((resolve) =>
      proc.once("exit", (code) => resolve({ code, at: performance.now() })),
    );
    const signalled = performance.now();
    proc.kill("SIGTERM");
    await new Promise((r) => setTimeout(r, 300));
    // Nothing new is accepted while the request drains.
    expect(await tryConnect(port)).toBe("ECONNREFUSED");
    const res = await inFlight;
    expect(res.status).toBe(200);
    const body = (await res.json()) as { epochsRun: number; weights: object };
    expect(body.epochsRun).toBe(2500);
    const { code, at } = await exited;
    console.log(`SIGTERM: exited ${code} after ${(at - signalled).toFixed(0)} ms`);
    expect(code).toBe(0);
    expect(at - signalled).toBeLessThan(10_000);

    // The job was interrupted, not failed: still running at its last checkpoint, to resume.
    const db = openDatabase(dataDir);
    try {
      const store = new SqlJobStore(new SqliteDriver(db));
      const job = (await store.get(id))!;
      expect(job.status).toBe("running");
      expect(job.epochsDone).toBeGreaterThanOrEqual(5);
      expect((await store.loadCheckpoint(id))?.epochsDone).toBe(job.epochsDone);
    } finally {
      db.close();
    }
  }, 30_000);
});
