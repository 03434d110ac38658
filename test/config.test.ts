import { describe, expect, it } from "vitest";
import { loadConfig } from "../src/config.js";

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

  it("names every bad variable", () => {
    expect(() => loadConfig({ PORT: "http", POOL_SIZE: "0", LOG_LEVEL: "loud" })).toThrow(
      /PORT[\s\S]*LOG_LEVEL[\s\S]*POOL_SIZE|PORT[\s\S]*POOL_SIZE[\s\S]*LOG_LEVEL/,
    );
  });
});
