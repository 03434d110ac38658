/**
 * One signal, one drain: a process manager (or Ctrl-C in a terminal) signals the whole process
 * group of `npm start` / `npm run worker`, so npm, its shell and node get SIGTERM at once and
 * npm forwards its copy to node a moment later. That is still one stop: the running request
 * finishes, the log has the drain's lines and not "second SIGTERM", and npm exits 0 once node has
 * drained. A SIGTERM after the repeat window is a second stop and forces the exit (code 1).
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { trainExample } from "../../src/schemas/examples.js";
import { REPEAT_WINDOW_MS } from "../../src/shutdown.js";
import { Cluster, skipReason } from "../distributed/cluster.js";

const root = fileURLToPath(new URL("../..", import.meta.url));
const dataDir = mkdtempSync(join(tmpdir(), "sigterm-group-"));
const groups = new Set<number>();
afterAll(() => {
  for (const pgid of groups) {
    try {
      process.kill(-pgid, "SIGKILL");
    } catch {
      // already gone
    }
  }
  rmSync(dataDir, { recursive: true, force: true });
});

interface Group {
  /** npm's pid, also the process group's id. */
  pgid: number;
  /** Everything npm and node printed so far (pino JSON lines). */
  out(): string;
  exited: Promise<number | null>;
  match: RegExpExecArray;
}

/** Runs `npm <args>` as the leader of a new process group; resolves once its output matches `ready`. */
function startGroup(args: string[], env: NodeJS.ProcessEnv, ready: RegExp): Promise<Group> {
  const proc: ChildProcess = spawn("npm", args, {
    cwd: root,
    env,
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
  });
  const pgid = proc.pid!;
  groups.add(pgid);
  let out = "";
  const exited = new Promise<number | null>((resolve) => proc.once("exit", (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    const onData = (d: Buffer) => {
      out += d;
      const match = ready.exec(out);
      if (match) resolve({ pgid, out: () => out, exited, match });
    };
    proc.stdout!.on("data", onData);
    proc.stderr!.on("data", onData);
    void exited.then((code) =>
      reject(new Error(`npm ${args.join(" ")} exited (${code}) before ready:\n${out}`)),
    );
  });
}

/** True while the process `pid` exists (a zombie counts, but npm reaps node before it exits). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function startServer(): Promise<Group & { base: string }> {
  const g = await startGroup(
    ["start"],
    {
      ...process.env,
      PORT: "0",
      HOST: "127.0.0.1",
      DATA_DIR: dataDir,
      POOL_SIZE: "1",
      LOG_LEVEL: "info",
    },
    /Server listening at (http:\/\/127\.0\.0\.1:\d+)/,
  );
  return { ...g, base: g.match[1]! };
}

const post = (url: string, payload: unknown) =>
  fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(payload),
  });

/** Waits until the server's pool runs a task (the request is in flight, not queued in the socket). */
async function untilRunning(base: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    const ready = (await (await fetch(`${base}/ready`)).json()) as { checks: { pool: { running: number } } };
    if (ready.checks.pool.running >= 1) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error("the request never reached the pool");
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("SIGTERM to the process group of npm start", () => {
  it("drains once: the running request answers 200, no 'second SIGTERM', npm exits 0 after node", async () => {
    const server = await startServer();
    const inFlight = post(`${server.base}/train`, { ...trainExample, epochs: 2500, batchSize: 1 });
    await untilRunning(server.base);

    process.kill(-server.pgid, "SIGTERM");
    const res = await inFlight;
    expect(res.status).toBe(200);
    expect(((await res.json()) as { epochsRun: number }).epochsRun).toBe(2500);
    expect(await server.exited).toBe(0);
    // npm exited after node (the server's pid, from its log, is gone), not before it.
    const nodePid = Number(/"pid":(\d+)[^\n]*Server listening/.exec(server.out())![1]);
    expect(nodePid).not.toBe(server.pgid);
    expect(alive(nodePid)).toBe(false);

    const log = server.out();
    expect(log).toMatch(/"signal":"SIGTERM","msg":"shutting down"/);
    // What the operator waits for: the one request in flight; no job was running.
    expect(log).toMatch(/"requests":1,"signal":"SIGTERM","msg":"shutting down"/);
    expect(log).toMatch(
      /"interrupted":0,"msg":"jobs interrupted: they resume from their last checkpoint at the next start"/,
    );
    expect(log).toMatch(/"res":\{"statusCode":200\}.*"msg":"request completed"/);
    expect(log).toMatch(/"ms":\d+,"msg":"closed"/);
    expect(log).not.toMatch(/second SIGTERM/);
    expect(log).not.toMatch(/killed by timeout/);
    // The request completed before the process closed.
    expect(log.indexOf('"msg":"request completed"')).toBeLessThan(log.indexOf('"msg":"closed"'));
  }, 60_000);

  it("takes a SIGTERM after the repeat window as a second stop and exits 1 without waiting", async () => {
    const server = await startServer();
    // About four seconds of work: still running when the second signal comes.
    const inFlight = post(`${server.base}/train`, { ...trainExample, epochs: 10_000, batchSize: 1 }).catch(
      (err: unknown) => err,
    );
    await untilRunning(server.base);

    process.kill(-server.pgid, "SIGTERM");
    await sleep(REPEAT_WINDOW_MS + 300);
    expect(server.out()).not.toMatch(/"msg":"closed"/);
    process.kill(-server.pgid, "SIGTERM");
    expect(await server.exited).toBe(1);
    expect(await inFlight).toBeInstanceOf(Error);
    expect(server.out()).toMatch(/"signal":"SIGTERM","msg":"second SIGTERM, exiting"/);
    expect(server.out()).not.toMatch(/"msg":"closed"/);
  }, 60_000);
});

describe.skipIf(skipReason !== undefined)("SIGTERM to the process group of npm run worker", () => {
  const cluster = new Cluster();
  afterAll(() => cluster.cleanup());

  it("gives its running job back once and exits 0, without 'second SIGTERM'", async () => {
    const api = await cluster.api();
    const worker = await startGroup(
      ["run", "worker"],
      cluster.env({ POOL_SIZE: "1", WORKER_CONCURRENCY: "1", CHECKPOINT_EVERY: "10" }),
      /"worker ready"/,
    );
    const created = await post(`${api.base}/jobs`, { ...trainExample, epochs: 10_000, batchSize: 1 });
    expect(created.status).toBe(202);
    const { id } = (await created.json()) as { id: string };
    for (let i = 0; i < 400; i++) {
      const job = (await (await fetch(`${api.base}/jobs/${id}`)).json()) as {
        checkpointEpoch: number | null;
      };
      if ((job.checkpointEpoch ?? 0) >= 10) break;
      await sleep(25);
    }

    process.kill(-worker.pgid, "SIGTERM");
    expect(await worker.exited).toBe(0);
    const log = worker.out();
    expect(log).toMatch(/"signal":"SIGTERM","msg":"worker shutting down"/);
    expect(log).toContain(`"job":"${id}"`);
    expect(log.match(/"msg":"job given back"/g)).toHaveLength(1);
    expect(log).toMatch(
      /"interrupted":1,"msg":"jobs interrupted: back on the queue, they resume from their last checkpoint"/,
    );
    expect(log).toMatch(/"ms":\d+,"msg":"closed"/);
    expect(log).not.toMatch(/second SIGTERM/);
    // Given back: waiting on the queue, still running at its checkpoint, for the next worker to resume.
    const job = (await (await fetch(`${api.base}/jobs/${id}`)).json()) as {
      status: string;
      checkpointEpoch: number;
    };
    expect(job.status).toBe("running");
    expect(job.checkpointEpoch).toBeGreaterThanOrEqual(10);
    expect(await (await fetch(`${api.base}/metrics`)).text()).toMatch(/^training_job_queue_depth 1$/m);
  }, 90_000);
});
