/**
 * The pool's worker threads run one self-contained JavaScript file: `engine-worker.ts` and
 * everything it imports (the engine, ml-matrix, the WebAssembly kernel, which is inlined as
 * base64) bundled by esbuild, once per process, on the calling (main) thread.
 *
 * Why not load the TypeScript in each thread: a TypeScript loader in a worker thread starts an
 * esbuild service child process from that thread; when the pool terminates the thread (a client
 * that went away, a cancelled job, a timeout), the child exits but nothing waits for it any more,
 * and it stays a zombie of the server for good. Built here, the threads start no process at all
 * (and start faster: no compiling per thread).
 */
import { createHash } from "node:crypto";
import { existsSync, lstatSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const ENTRY = fileURLToPath(new URL("./engine-worker.ts", import.meta.url));
const ROOT = fileURLToPath(new URL("../..", import.meta.url));

/** The bundle's text and its SHA-256 (hex), built once per process. */
let built: { code: string; sha256: string } | undefined;
/** Paths already written (or checked) this process, by directory. */
const written = new Map<string, string>();

/**
 * Bundles `engine-worker.ts` (CommonJS, platform node, node builtins external) with esbuild's
 * synchronous API, once per process.
 * @throws when esbuild reports an error (a syntax error in the engine, say).
 */
export function bundleWorker(): { code: string; sha256: string } {
  if (built) return built;
  // esbuild is a runtime dependency; loaded here so processes that never start a pool skip it.
  const esbuild = createRequire(import.meta.url)("esbuild") as typeof import("esbuild");
  const result = esbuild.buildSync({
    entryPoints: [ENTRY],
    absWorkingDir: ROOT,
    bundle: true,
    platform: "node",
    // CommonJS, not ESM: Piscina loads a task file with `require()` first, and Node 20's
    // require() of an ES module aborted the whole process on a native assertion
    // (`CreateRequiredModuleFacade`), seen once in a full test run. A CommonJS file never
    // takes that path.
    format: "cjs",
    target: "node20",
    outfile: "engine-worker.cjs",
    // The bundle runs from a temporary directory: the native kernels' loader finds the project here.
    define: { __PROJECT_ROOT__: JSON.stringify(ROOT) },
    write: false,
    logLevel: "silent",
  });
  const code = result.outputFiles[0]!.text;
  built = { code, sha256: createHash("sha256").update(code).digest("hex") };
  return built;
}

/**
 * A directory only this user can write, under `parent`, created if missing.
 * @throws when it cannot be created, or exists but is not ours or is writable by others.
 */
function privateDir(parent: string): string {
  const dir = join(parent, `backprop-service-${process.getuid?.() ?? "user"}`);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const st = lstatSync(dir);
  const uid = process.getuid?.();
  if (!st.isDirectory() || (uid !== undefined && st.uid !== uid) || (st.mode & 0o022) !== 0)
    throw new Error(`${dir} is not a private directory of this user`);
  return dir;
}

/**
 * Path of the worker bundle (`engine-worker-<sha256 prefix>.cjs`), written if missing or
 * different, in a private directory under `os.tmpdir()`, else under `fallbackDir` (DATA_DIR:
 * the image's source tree is read-only). Content-addressed: processes of the same code share one
 * file, and a new release never loads an old one.
 * @throws when neither directory is writable (the error names both).
 */
export function workerBundleFile(fallbackDir = process.env.DATA_DIR ?? "data"): string {
  const { code, sha256 } = bundleWorker();
  const errors: string[] = [];
  for (const parent of [tmpdir(), resolve(fallbackDir)]) {
    const known = written.get(parent);
    if (known) return known;
    try {
      const file = join(privateDir(parent), `engine-worker-${sha256.slice(0, 16)}.cjs`);
      let same = false;
      try {
        same = readFileSync(file, "utf8") === code;
      } catch {
        // not written yet
      }
      if (!same) writeWhole(file, code);
      written.set(parent, file);
      return file;
    } catch (err) {
      errors.push(`${parent}: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  throw new Error(`cannot write the engine worker's bundle (${errors.join("; ")})`);
}

/** Writes `file` whole, then renames: a process starting beside this one never reads half a file. */
function writeWhole(file: string, code: string): void {
  const tmp = `${file}.${process.pid}.tmp`;
  try {
    writeFileSync(tmp, code, { mode: 0o600 });
    renameSync(tmp, file);
  } finally {
    rmSync(tmp, { force: true });
  }
}

/**
 * Writes the bundle at `file` (a `workerBundleFile` path) again if it has gone: a cleaner of old
 * temporary files may delete it under a long-running server, and a thread started then would fail
 * to load. One `stat` when it is there. The directory is recreated too.
 * @throws when it cannot be written.
 */
export function ensureWorkerBundle(file: string): void {
  if (existsSync(file)) return;
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  writeWhole(file, bundleWorker().code);
}

/** `--import`, `--require` and `--loader` (with `--experimental-loader`), the flags taking a module. */
const PRELOAD = /^(--import|--require|-r|--loader|--experimental-loader)(=(.*))?$/;

/**
 * `execArgv` for the worker threads: this process's, less the TypeScript loader's preloads
 * (`node --import tsx` under `npm start`). A worker inherits them otherwise, and tsx in a thread
 * starts its own esbuild child process; the bundle needs no loader.
 */
export function workerExecArgv(execArgv: readonly string[] = process.execArgv): string[] {
  const out: string[] = [];
  for (let i = 0; i < execArgv.length; i++) {
    const match = PRELOAD.exec(execArgv[i]!);
    if (!match) {
      out.push(execArgv[i]!);
      continue;
    }
    const value = match[2] ? match[3]! : execArgv[i + 1];
    if (!match[2]) i++;
    if (value !== undefined && /(^|[/\\])tsx([/\\]|$)/.test(value)) continue;
    out.push(execArgv[i - (match[2] ? 0 : 1)]!);
    if (!match[2] && value !== undefined) out.push(value);
  }
  return out;
}
