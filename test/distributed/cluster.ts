/**
 * A distributed deployment for tests: API processes (`src/server.ts`) and worker processes
 * (`src/worker.ts`) against the PostgreSQL and Redis named by TEST_DATABASE_URL and
 * TEST_REDIS_URL, in a schema and key prefix of their own, removed by `cleanup`.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { fileURLToPath } from "node:url";
import { Redis } from "ioredis";
import pg from "pg";

const root = fileURLToPath(new URL("../..", import.meta.url));

export const databaseUrl = process.env.TEST_DATABASE_URL;
export const redisUrl = process.env.TEST_REDIS_URL;
/** Why the distributed tests are skipped, or undefined when they run. */
export const skipReason =
  databaseUrl && redisUrl
    ? undefined
    : "distributed tests skipped: set TEST_DATABASE_URL and TEST_REDIS_URL (.ci/run does)";

export interface Proc {
  proc: ChildProcess;
  /** Everything it logged (pino JSON lines) so far. */
  out(): string;
  exited: Promise<number | null>;
}

export class Cluster {
  readonly id = randomBytes(5).toString("hex");
  readonly schema = `test_dist_${this.id}`;
  readonly prefix = `test-dist-${this.id}`;
  private readonly procs = new Set<ChildProcess>();

  env(extra: Record<string, string>): NodeJS.ProcessEnv {
    return {
      ...process.env,
      REDIS_URL: redisUrl,
      DATABASE_URL: databaseUrl,
      DATABASE_SCHEMA: this.schema,
      REDIS_PREFIX: this.prefix,
      DATA_DIR: ":memory:",
      LOG_LEVEL: "info",
      ...extra,
    };
  }

  private spawn(
    script: string,
    env: NodeJS.ProcessEnv,
    ready: RegExp,
  ): Promise<Proc & { match: RegExpExecArray }> {
    const proc = spawn(process.execPath, ["--import", "tsx", script], {
      cwd: root,
      env,
      stdio: ["ignore", "pipe", "pipe"],
    });
    this.procs.add(proc);
    let out = "";
    let err = "";
    const exited = new Promise<number | null>((r) =>
      proc.once("exit", (code) => {
        this.procs.delete(proc);
        r(code);
      }),
    );
    return new Promise((resolve, reject) => {
      proc.stderr!.on("data", (d) => {
        err += d;
      });
      proc.stdout!.on("data", (d) => {
        out += d;
        const m = ready.exec(out);
        if (m) resolve({ proc, out: () => out, exited, match: m });
      });
      void exited.then((code) =>
        reject(new Error(`${script} exited (${code}) before ready:\n${out}\n${err}`)),
      );
    });
  }

  /** An API process with no local workers; resolves with its base URL once it listens. */
  async api(extra: Record<string, string> = {}): Promise<Proc & { base: string }> {
    const p = await this.spawn(
      "src/server.ts",
      this.env({ PORT: "0", HOST: "127.0.0.1", POOL_SIZE: "1", ...extra }),
      /Server listening at (http:\/\/127\.0\.0\.1:\d+)/,
    );
    return { ...p, base: p.match[1]! };
  }

  /** A worker process; resolves once it takes jobs. */
  async worker(extra: Record<string, string> = {}): Promise<Proc> {
    return this.spawn("src/worker.ts", this.env(extra), /"worker ready"/);
  }

  /** Kills every process still running, drops the schema and deletes the Redis keys. */
  async cleanup(): Promise<void> {
    const exits = [...this.procs].map((p) => new Promise((r) => p.once("exit", r)));
    for (const p of this.procs) p.kill("SIGKILL");
    await Promise.all(exits);
    if (!databaseUrl || !redisUrl) return;
    const client = new pg.Client({ connectionString: databaseUrl });
    await client.connect();
    await client.query(`DROP SCHEMA IF EXISTS ${this.schema} CASCADE`);
    await client.end();
    const redis = new Redis(redisUrl);
    const keys = await redis.keys(`${this.prefix}:*`);
    if (keys.length > 0) await redis.del(...keys);
    redis.disconnect();
  }
}
