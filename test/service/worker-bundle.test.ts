import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { builtinModules, createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import {
  bundleWorker,
  ensureWorkerBundle,
  workerBundleFile,
  workerExecArgv,
} from "../../src/service/worker-bundle.js";

const scratch = mkdtempSync(join(tmpdir(), "worker-bundle-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe("worker bundle", () => {
  it("is one CommonJS file with every import inlined but node builtins", () => {
    const { code, sha256 } = bundleWorker();
    expect(sha256).toMatch(/^[0-9a-f]{64}$/);
    // No ES module syntax: Piscina require()s the file (see worker-bundle.ts).
    expect(code).not.toMatch(/^(import|export) /m);
    const required = [...code.matchAll(/\brequire\("([^"]+)"\)/g)].map((m) => m[1]!);
    expect(required.length).toBeGreaterThan(0);
    for (const spec of required) expect(builtinModules).toContain(spec.replace(/^node:/, ""));
    // The WebAssembly kernel travels inside (base64), and ml-matrix is bundled, not imported.
    expect(code).toContain("GEMM_WASM_BASE64");
    expect(code).not.toMatch(/from "ml-matrix"/);
  });

  it("is written once, named by its content, and loads as the worker", async () => {
    const file = workerBundleFile(scratch);
    expect(file).toMatch(new RegExp(`engine-worker-${bundleWorker().sha256.slice(0, 16)}\\.cjs$`));
    expect(existsSync(file)).toBe(true);
    expect(readFileSync(file, "utf8")).toBe(bundleWorker().code);
    expect(workerBundleFile(scratch)).toBe(file);
    // Loaded as Piscina loads it: require() of a CommonJS file.
    const mod = createRequire(import.meta.url)(file) as { default: (task: unknown) => unknown };
    expect(typeof mod.default).toBe("function");
  });

  it("falls back to the given directory (DATA_DIR) when the temporary one is not writable", () => {
    const saved = process.env.TMPDIR;
    const notADir = join(scratch, "file");
    writeFileSync(notADir, "");
    process.env.TMPDIR = notADir;
    try {
      const file = workerBundleFile(join(scratch, "data"));
      expect(file.startsWith(join(scratch, "data", "backprop-service-"))).toBe(true);
      expect(readFileSync(file, "utf8")).toBe(bundleWorker().code);
      // Private to this user: nobody else can swap the code the threads run.
      expect(statSync(join(file, "..")).mode & 0o077).toBe(0);
      // Deleted under a running server (a cleaner of old temporary files): written again.
      rmSync(join(file, ".."), { recursive: true });
      ensureWorkerBundle(file);
      expect(readFileSync(file, "utf8")).toBe(bundleWorker().code);
      expect(statSync(join(file, "..")).mode & 0o077).toBe(0);
      process.env.TMPDIR = join(notADir, "sub");
      expect(() => workerBundleFile(notADir)).toThrow(/cannot write the engine worker's bundle/);
    } finally {
      if (saved === undefined) delete process.env.TMPDIR;
      else process.env.TMPDIR = saved;
    }
  });

  it("drops the TypeScript loader from the threads' execArgv, keeps every other flag", () => {
    expect(workerExecArgv(["--import", "tsx", "--max-old-space-size=512"])).toEqual([
      "--max-old-space-size=512",
    ]);
    expect(workerExecArgv(["--import=tsx/esm", "--require", "./x.cjs", "--enable-source-maps"])).toEqual([
      "--require",
      "./x.cjs",
      "--enable-source-maps",
    ]);
    expect(
      workerExecArgv(["--loader", "file:///a/node_modules/tsx/dist/loader.mjs", "--import", "./setup.mjs"]),
    ).toEqual(["--import", "./setup.mjs"]);
    expect(workerExecArgv(["--import=tsx"])).toEqual([]);
  });
});
