/**
 * DATA_DIR's lock (src/service/store/sqlite/data-dir-lock.ts): one server per directory in the
 * embedded mode; a lock whose process is gone is taken over; stores of one process share it.
 */
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { LOCK_FILE, lockDataDir } from "../../src/service/store/sqlite/data-dir-lock.js";

const dirs: string[] = [];
const fresh = () => {
  const d = mkdtempSync(join(tmpdir(), "lock-"));
  dirs.push(d);
  return d;
};
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** A pid no process has: a child that has exited. */
function deadPid(): number {
  const child = spawnSync(process.execPath, ["-e", "process.stdout.write(String(process.pid))"]);
  return Number(child.stdout.toString());
}

describe("lockDataDir", () => {
  it("writes this process's pid, shares it within the process, removes it on the last release", () => {
    const dir = fresh();
    const file = join(dir, LOCK_FILE);
    const a = lockDataDir(dir);
    expect(readFileSync(file, "utf8").trim()).toBe(String(process.pid));
    const b = lockDataDir(dir);
    a();
    expect(existsSync(file)).toBe(true);
    b();
    expect(existsSync(file)).toBe(false);
  });

  it("refuses a directory whose lock names a running server, naming its pid and the file", async () => {
    const dir = fresh();
    const server = spawn(process.execPath, ["-e", "setTimeout(() => {}, 30000)"], { stdio: "ignore" });
    try {
      writeFileSync(join(dir, LOCK_FILE), `${server.pid}\n`);
      expect(() => lockDataDir(dir)).toThrow(
        new RegExp(
          `DATA_DIR .* is in use by another server \\(pid ${server.pid}\\): give each server its own DATA_DIR.*remove .*${LOCK_FILE}`,
        ),
      );
      expect(readFileSync(join(dir, LOCK_FILE), "utf8").trim()).toBe(String(server.pid));
    } finally {
      server.kill();
    }
  });

  it.skipIf(!existsSync("/proc/1/cmdline"))(
    "takes over a lock whose pid now belongs to a program that is no node process (a pid reused after a reboot)",
    () => {
      const dir = fresh();
      writeFileSync(join(dir, LOCK_FILE), "1\n"); // init, on Linux
      if (/node|tsx/i.test(readFileSync("/proc/1/cmdline", "utf8"))) return; // a container whose init is node
      const release = lockDataDir(dir);
      expect(readFileSync(join(dir, LOCK_FILE), "utf8").trim()).toBe(String(process.pid));
      release();
    },
  );

  it("names DATA_DIR when it cannot be a directory", () => {
    const file = join(fresh(), "a-file");
    writeFileSync(file, "");
    expect(() => lockDataDir(file)).toThrow(/^DATA_DIR .*a-file cannot be a directory: /);
  });

  it("takes over a lock whose process is gone, or that holds no pid", () => {
    for (const content of [`${deadPid()}\n`, "not a pid", ""]) {
      const dir = fresh();
      writeFileSync(join(dir, LOCK_FILE), content);
      const release = lockDataDir(dir);
      expect(readFileSync(join(dir, LOCK_FILE), "utf8").trim(), JSON.stringify(content)).toBe(
        String(process.pid),
      );
      release();
    }
  });

  it("creates the directory when it does not exist yet", () => {
    const dir = join(fresh(), "a", "b");
    const release = lockDataDir(dir);
    expect(existsSync(join(dir, LOCK_FILE))).toBe(true);
    release();
  });
});
