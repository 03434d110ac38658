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

  it("names every bad variable", () => {
    expect(() => loadConfig({ PORT: "http", POOL_SIZE: "0", LOG_LEVEL: "loud" })).toThrow(
      /PORT[\s\S]*LOG_LEVEL[\s\S]*POOL_SIZE|PORT[\s\S]*POOL_SIZE[\s\S]*LOG_LEVEL/,
    );
  });
});
