/**
 * An API process or worker that cannot reach Redis or PostgreSQL at start says which, where and
 * why in one log line and exits 1 — no stack trace, no endless "Unhandled error event" lines, no
 * hook timeout. Needs no running services: the ports below are closed.
 */
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { fileURLToPath } from "node:url";
import pg from "pg";
import { afterAll, describe, expect, it } from "vitest";
import { databaseUrl, skipReason } from "./cluster.js";

const root = fileURLToPath(new URL("../..", import.meta.url));

function run(script: string, env: Record<string, string>): Promise<{ code: number | null; out: string }> {
  const proc = spawn(process.execPath, ["--import", "tsx", script], {
    cwd: root,
    env: { ...process.env, DATA_DIR: ":memory:", PORT: "0", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  proc.stdout.on("data", (d) => {
    out += d;
  });
  proc.stderr.on("data", (d) => {
    out += d;
  });
  return new Promise((resolve) => proc.once("exit", (code) => resolve({ code, out })));
}

/** The pino lines of `out`, parsed. */
const lines = (out: string) =>
  out
    .split("\n")
    .filter((l) => l.startsWith("{"))
    .map((l) => JSON.parse(l) as { level: number; msg: string; reason?: string });

describe("starting without Redis or PostgreSQL", () => {
  it.each([
    ["src/server.ts", "an API process"],
    ["src/worker.ts", "a worker"],
  ])(
    "%s (%s) names an unreachable DATABASE_URL and exits 1",
    async (script) => {
      const { code, out } = await run(script, {
        REDIS_URL: "redis://127.0.0.1:1",
        DATABASE_URL: "postgres://someone:secret@127.0.0.1:1/db",
      });
      expect(code).toBe(1);
      const fatal = lines(out).find((l) => l.level === 60)!;
      expect(fatal.msg).toBe("could not start");
      expect(fatal.reason).toMatch(
        /^cannot reach PostgreSQL at postgres:\/\/someone:\*\*\*@127\.0\.0\.1:1\/db \(DATABASE_URL\): /,
      );
      expect(out).not.toContain("secret");
      expect(out).not.toMatch(/Unhandled error event|\n\s+at /);
    },
    30_000,
  );
});

describe.skipIf(skipReason !== undefined)("starting without Redis (PostgreSQL up)", () => {
  const schema = `test_startup_${randomBytes(4).toString("hex")}`;
  afterAll(async () => {
    const client = new pg.Client({ connectionString: databaseUrl });
    await client.connect();
    await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await client.end();
  });

  it.each([
    ["src/server.ts", "an API process"],
    ["src/worker.ts", "a worker"],
  ])(
    "%s (%s) names an unreachable REDIS_URL within 5 s and exits 1",
    async (script) => {
      const { code, out } = await run(script, {
        REDIS_URL: "redis://:secret@127.0.0.1:1",
        DATABASE_URL: databaseUrl!,
        DATABASE_SCHEMA: schema,
      });
      expect(code).toBe(1);
      const all = lines(out);
      expect(all.find((l) => l.level === 60)).toMatchObject({
        msg: "could not start",
        reason: expect.stringMatching(
          /^cannot reach Redis at redis:\/\/:\*\*\*@127\.0\.0\.1:1 \(REDIS_URL\) within 5 s: .*ECONNREFUSED/,
        ),
      });
      // The clients retry many times a second: before the start, that is only the one line's cause.
      expect(all.filter((l) => l.level >= 50)).toHaveLength(1);
      expect(out).not.toContain("secret");
      expect(out).not.toMatch(/Unhandled error event|\n\s+at /);
    },
    30_000,
  );
});
