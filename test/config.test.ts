import { spawn } from "node:child_process";
import { type AddressInfo, createServer } from "node:net";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { configWarnings, loadConfig } from "../src/config.js";

describe("loadConfig", () => {
  it("has defaults for everything", () => {
    const c = loadConfig({});
    expect(c).toMatchObject({ port: 3000, host: "127.0.0.1", logLevel: "info", bodyLimit: 10 * 1024 * 1024 });
    expect(c.poolSize).toBeGreaterThanOrEqual(1);
  });

  it("reads and coerces the environment", () => {
    const c = loadConfig({
      PORT: "8080",
      HOST: "0.0.0.0",
      POOL_SIZE: "3",
      MAX_WORK: "1e9",
      LOG_LEVEL: "warn",
    });
    expect(c).toMatchObject({ port: 8080, host: "0.0.0.0", poolSize: 3, maxWork: 1e9, logLevel: "warn" });
  });

  it("gives jobs a compute budget of their own: MAX_JOB_WORK, by default 1000 × MAX_WORK", () => {
    expect(loadConfig({})).toMatchObject({ maxWork: 2e10, maxJobWork: 2e13 });
    expect(loadConfig({ MAX_WORK: "1e9" })).toMatchObject({ maxWork: 1e9, maxJobWork: 1e12 });
    expect(loadConfig({ MAX_WORK: "1e9", MAX_JOB_WORK: "5e15" })).toMatchObject({ maxJobWork: 5e15 });
    expect(() => loadConfig({ MAX_JOB_WORK: "0" })).toThrow(/MAX_JOB_WORK/);
  });

  it("configures webhooks: https only by default, a retry schedule of about a day, its timeout and polling", () => {
    const { webhooks } = loadConfig({});
    expect(webhooks).toEqual({
      allowInsecure: false,
      retryDelaysMs: [10_000, 60_000, 300_000, 1_800_000, 7_200_000, 21_600_000, 54_000_000],
      timeoutMs: 10_000,
      pollMs: 1000,
      concurrency: 8,
    });
    // Eight tries over 23.6 hours.
    expect(webhooks.retryDelaysMs.reduce((a, b) => a + b) / 3_600_000).toBeCloseTo(23.6, 1);
    expect(
      loadConfig({
        WEBHOOK_ALLOW_INSECURE: "true",
        WEBHOOK_RETRY_DELAYS_MS: "20, 20,40",
        WEBHOOK_TIMEOUT_MS: "500",
        WEBHOOK_POLL_MS: "10",
        WEBHOOK_CONCURRENCY: "3",
      }).webhooks,
    ).toEqual({
      allowInsecure: true,
      retryDelaysMs: [20, 20, 40],
      timeoutMs: 500,
      pollMs: 10,
      concurrency: 3,
    });
    expect(loadConfig({ WEBHOOK_ALLOW_INSECURE: "0" }).webhooks.allowInsecure).toBe(false);
    expect(() => loadConfig({ WEBHOOK_ALLOW_INSECURE: "yes" })).toThrow(
      /WEBHOOK_ALLOW_INSECURE: expected 1 or true/,
    );
    expect(() => loadConfig({ WEBHOOK_RETRY_DELAYS_MS: "10s,1m" })).toThrow(
      /WEBHOOK_RETRY_DELAYS_MS: expected up to 20/,
    );
    // Empty is unset: the default schedule.
    expect(loadConfig({ WEBHOOK_RETRY_DELAYS_MS: "" }).webhooks.retryDelaysMs).toEqual(
      loadConfig({}).webhooks.retryDelaysMs,
    );
    expect(() => loadConfig({ WEBHOOK_TIMEOUT_MS: "99" })).toThrow(/WEBHOOK_TIMEOUT_MS/);
    expect(() => loadConfig({ WEBHOOK_CONCURRENCY: "0" })).toThrow(/WEBHOOK_CONCURRENCY/);
  });

  it("configures jobs: data directory, concurrency (half the workers by default), checkpoints", () => {
    expect(loadConfig({ POOL_SIZE: "5" })).toMatchObject({
      dataDir: "./data",
      maxConcurrentJobs: 2,
      checkpointEvery: 10,
      workerMaxHeapMb: undefined,
    });
    expect(loadConfig({ POOL_SIZE: "1" }).maxConcurrentJobs).toBe(1);
    expect(
      loadConfig({
        DATA_DIR: "/var/lib/x",
        MAX_CONCURRENT_JOBS: "3",
        CHECKPOINT_EVERY: "50",
        WORKER_MAX_HEAP_MB: "512",
      }),
    ).toMatchObject({
      dataDir: "/var/lib/x",
      maxConcurrentJobs: 3,
      checkpointEvery: 50,
      workerMaxHeapMb: 512,
    });
    expect(() => loadConfig({ CHECKPOINT_EVERY: "0" })).toThrow(/CHECKPOINT_EVERY/);
  });

  it("reads the limits and access control: sync timeout, shutdown, API keys, rate limit, CORS", () => {
    expect(loadConfig({})).toMatchObject({
      syncTimeoutMs: 60_000,
      shutdownTimeoutMs: 30_000,
      apiKeys: [],
      rateLimit: undefined,
      corsOrigins: [],
    });
    const key = "k".repeat(16);
    expect(
      loadConfig({
        SYNC_TIMEOUT_MS: "5000",
        SHUTDOWN_TIMEOUT_MS: "9000",
        API_KEYS: ` ${key} ,${key}2,`,
        RATE_LIMIT_MAX: "100",
        CORS_ORIGINS: "https://a.example, http://localhost:5173",
      }),
    ).toMatchObject({
      syncTimeoutMs: 5000,
      shutdownTimeoutMs: 9000,
      apiKeys: [key, `${key}2`],
      rateLimit: { max: 100, windowMs: 60_000 },
      corsOrigins: ["https://a.example", "http://localhost:5173"],
    });
    expect(loadConfig({ CORS_ORIGINS: "*" }).corsOrigins).toEqual(["*"]);
    // A short key is refused without the message repeating it.
    let message = "";
    try {
      loadConfig({ API_KEYS: "short-secret" });
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toMatch(/API_KEYS: each key must be at least 16/);
    expect(message).not.toContain("short-secret");
    expect(() => loadConfig({ CORS_ORIGINS: "https://a.example/path" })).toThrow(/CORS_ORIGINS/);
    expect(() => loadConfig({ RATE_LIMIT_MAX: "0" })).toThrow(/RATE_LIMIT_MAX/);
  });

  it("switches to the distributed mode with REDIS_URL and DATABASE_URL together", () => {
    expect(loadConfig({}).distributed).toBeUndefined();
    expect(
      loadConfig({
        REDIS_URL: "redis://r:6379",
        DATABASE_URL: "postgres://u@p:5432/db",
        POOL_SIZE: "4",
      }).distributed,
    ).toEqual({
      redisUrl: "redis://r:6379",
      databaseUrl: "postgres://u@p:5432/db",
      schema: "public",
      prefix: "backprop",
      workerConcurrency: 2,
      lockMs: 30_000,
      holdMs: 5_000,
    });
    expect(() => loadConfig({ REDIS_URL: "redis://r:6379" })).toThrow(
      /REDIS_URL and DATABASE_URL go together/,
    );
    expect(() =>
      loadConfig({ REDIS_URL: "redis://r", DATABASE_URL: "postgres://p/db", DATABASE_SCHEMA: "x; drop" }),
    ).toThrow(/DATABASE_SCHEMA/);
  });

  it("reads an empty or blank variable as unset (PORT= listened on a random port)", () => {
    const defaults = loadConfig({});
    const empty = loadConfig({ PORT: "", ENGINE_THREADS: " ", MAX_WORK: "", DATA_DIR: "", API_KEYS: "" });
    expect(empty.port).toBe(3000);
    expect(empty.maxWork).toBe(defaults.maxWork);
    expect(empty.dataDir).toBe(defaults.dataDir);
    expect(empty.apiKeys).toEqual([]);
  });

  it("takes numbers written in decimal only, and says what was sent", () => {
    expect(loadConfig({ PORT: " 8080 ", MAX_WORK: "2e10", POOL_SIZE: "3" })).toMatchObject({
      port: 8080,
      maxWork: 2e10,
      poolSize: 3,
    });
    for (const [name, value, why] of [
      ["ENGINE_THREADS", "0x2", 'expected a number, got "0x2"'],
      ["PORT", "Infinity", 'expected a number, got "Infinity"'],
      ["POOL_SIZE", "0b10", 'expected a number, got "0b10"'],
      ["ENGINE_THREADS", "1.5", 'expected an integer, got "1.5"'],
      ["ENGINE_THREADS", "65", 'expected at most 64, got "65"'],
      ["POOL_SIZE", "0", 'expected at least 1, got "0"'],
      ["MAX_WORK", "-1", 'expected more than 0, got "-1"'],
    ] as const)
      expect(() => loadConfig({ [name]: value }), `${name}=${value}`).toThrow(`${name}: ${why}`);
  });

  it("refuses an API_KEYS that is set but lists no key (access control would be off)", () => {
    for (const v of [",", " , ", ",,"])
      expect(() => loadConfig({ API_KEYS: v }), JSON.stringify(v)).toThrow(/API_KEYS: set but lists no key/);
    expect(loadConfig({ API_KEYS: "aaaaaaaaaaaaaaaaaaaa," }).apiKeys).toEqual(["aaaaaaaaaaaaaaaaaaaa"]);
  });

  it("warns, without refusing, about more worker threads than cores", () => {
    expect(configWarnings(loadConfig({ POOL_SIZE: "100" }), 2)).toEqual([
      expect.stringMatching(/^POOL_SIZE 100 is more than the 2 cores here: /),
    ]);
    expect(configWarnings(loadConfig({ POOL_SIZE: "2" }), 2)).toEqual([]);
  });

  it("names every bad variable", () => {
    expect(() => loadConfig({ PORT: "http", POOL_SIZE: "0", LOG_LEVEL: "loud" })).toThrow(
      /PORT[\s\S]*LOG_LEVEL[\s\S]*POOL_SIZE|PORT[\s\S]*POOL_SIZE[\s\S]*LOG_LEVEL/,
    );
  });
});

describe("a configuration that cannot start", () => {
  it("refuses MAX_JOB_WORK below MAX_WORK, naming both", () => {
    expect(() => loadConfig({ MAX_WORK: "1e9", MAX_JOB_WORK: "1e8" })).toThrow(
      /^invalid configuration: MAX_JOB_WORK \(100000000\) is smaller than MAX_WORK \(1000000000\): /,
    );
    expect(() => loadConfig({ MAX_JOB_WORK: "1e9" })).toThrow(/MAX_JOB_WORK .* MAX_WORK/);
    expect(loadConfig({ MAX_WORK: "1e9", MAX_JOB_WORK: "1e9" }).maxJobWork).toBe(1e9);
  });

  it("refuses a NATIVE_KERNELS other than on or off, naming both", () => {
    expect(() => loadConfig({ NATIVE_KERNELS: "no" })).toThrow(
      /^invalid configuration: NATIVE_KERNELS: .*"on".*"off"/,
    );
    expect(() => loadConfig({ NATIVE_KERNELS: "off" })).not.toThrow();
  });

  it("says what each bad variable expects, on one line", () => {
    expect(() => loadConfig({ MAX_WORK: "abc", PORT: "http" })).toThrow(
      /^invalid configuration: (PORT: expected a number, got "http"; MAX_WORK: expected a number, got "abc"|MAX_WORK: expected a number, got "abc"; PORT: expected a number, got "http")$/,
    );
  });

  const root = fileURLToPath(new URL("..", import.meta.url));
  /** Runs an entry point with `env` added; its exit code and everything it printed. */
  function run(script: string, env: Record<string, string>): Promise<{ code: number | null; out: string }> {
    const proc = spawn(process.execPath, ["--import", "tsx", script], {
      cwd: root,
      env: { ...process.env, DATA_DIR: ":memory:", PORT: "0", LOG_LEVEL: "info", ...env },
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

  it.each(["src/server.ts", "src/worker.ts"])(
    "%s logs one line naming the variable and exits 1, without a stack trace",
    async (script) => {
      const { code, out } = await run(script, { MAX_WORK: "abc" });
      expect(code).toBe(1);
      const lines = out.split("\n").filter((l) => l.trim() !== "");
      expect(lines, out).toHaveLength(1);
      const line = JSON.parse(lines[0]!) as { level: number; msg: string; reason: string };
      expect(line).toMatchObject({
        level: 60,
        msg: "could not start",
        reason: 'invalid configuration: MAX_WORK: expected a number, got "abc"',
      });
    },
    30_000,
  );

  it("src/server.ts logs one line and exits 1 when its port is taken (no stack trace)", async () => {
    const taken = createServer();
    await new Promise<void>((r) => taken.listen(0, "127.0.0.1", r));
    const port = (taken.address() as AddressInfo).port;
    try {
      const { code, out } = await run("src/server.ts", { PORT: String(port), HOST: "127.0.0.1" });
      expect(code).toBe(1);
      const lines = out.split("\n").filter((l) => l.trim() !== "");
      const logged = lines.map(
        (l) => JSON.parse(l) as { level: number; msg: string; reason: string; port: number },
      );
      const fatal = logged.filter((l) => l.level === 60);
      expect(fatal, out).toHaveLength(1);
      expect(fatal[0]).toMatchObject({ msg: "could not start", port });
      expect(fatal[0]!.reason).toMatch(/EADDRINUSE/);
      expect(out).not.toMatch(/\n\s+at /);
    } finally {
      taken.close();
    }
  }, 30_000);
});
