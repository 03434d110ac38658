/** The real server as a child process (`node --import tsx src/server.ts`, as the Docker image runs it). */
import { type ChildProcess, spawn } from "node:child_process";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("../..", import.meta.url));

/**
 * Starts the server on a free loopback port with `env` over this process's environment, adds it to
 * `running` until it exits, and resolves once it listens; rejects, with its output, if it exits first.
 */
export function startServer(
  running: Set<ChildProcess>,
  env: Record<string, string>,
): Promise<{ proc: ChildProcess; base: string }> {
  const proc = spawn(process.execPath, ["--import", "tsx", "src/server.ts"], {
    cwd: root,
    env: { ...process.env, PORT: "0", HOST: "127.0.0.1", LOG_LEVEL: "info", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  running.add(proc);
  proc.on("exit", () => running.delete(proc));
  return new Promise((resolve, reject) => {
    let out = "";
    let err = "";
    proc.stderr!.on("data", (d) => {
      err += d;
    });
    proc.stdout!.on("data", (d) => {
      out += d;
      const m = /Server listening at (http:\/\/127\.0\.0\.1:\d+)/.exec(out);
      if (m) resolve({ proc, base: m[1]! });
    });
    proc.on("exit", (code) => reject(new Error(`server exited (${code}) before listening:\n${out}\n${err}`)));
  });
}
