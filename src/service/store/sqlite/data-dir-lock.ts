import { mkdirSync, readFileSync, unlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";

/** The lock file inside `DATA_DIR`: the pid of the server that holds it. */
export const LOCK_FILE = "server.pid";

/** Locks this process holds, by file, with how many stores of the process share each. */
const held = new Map<string, number>();

/** Whether a process with this pid runs (EPERM: it does, under another user). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

/**
 * Whether the process could be a server of ours: on Linux, whether its command line names node
 * (a pid reused after a reboot by some other program does not); elsewhere, true.
 */
function mayBeServer(pid: number): boolean {
  let cmdline: string;
  try {
    cmdline = readFileSync(`/proc/${pid}/cmdline`, "utf8");
  } catch {
    return true; // no /proc (not Linux), or not ours to read: assume it may be
  }
  return /node|tsx/i.test(cmdline.split("\0").join(" "));
}

/**
 * One server per `DATA_DIR` in the embedded mode: a server that starts resumes every job its
 * database says is running, so a second server on the same directory would run the first one's
 * jobs beside it (and a second that then failed to bind its port still took them). The lock is
 * a file holding the owner's pid, created exclusively; one whose process is gone (a SIGKILL, a
 * crash) is taken over at once. Stores of one process (tests that reopen a directory) share it.
 * Not for the distributed mode, where many processes share PostgreSQL by design.
 * @returns the release, to call when the store closes (it removes the file when its last
 *   holder in this process lets go).
 * @throws Error naming the pid that holds the directory.
 */
export function lockDataDir(dataDir: string): () => void {
  try {
    mkdirSync(dataDir, { recursive: true });
  } catch (err) {
    throw new Error(`DATA_DIR ${dataDir} cannot be a directory: ${(err as Error).message}`);
  }
  const file = join(dataDir, LOCK_FILE);
  const mine = String(process.pid);
  const release = () => {
    const n = (held.get(file) ?? 1) - 1;
    if (n > 0) {
      held.set(file, n);
      return;
    }
    held.delete(file);
    try {
      if (readFileSync(file, "utf8").trim() === mine) unlinkSync(file);
    } catch {
      // gone already: nothing to release
    }
  };
  if (held.has(file)) {
    held.set(file, held.get(file)! + 1);
    return release;
  }
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      writeFileSync(file, `${mine}\n`, { flag: "wx" });
      held.set(file, 1);
      return release;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
    }
    let owner = Number.NaN;
    try {
      owner = Number(readFileSync(file, "utf8").trim());
    } catch {
      continue; // removed between the two calls: try again
    }
    if (
      Number.isSafeInteger(owner) &&
      owner > 0 &&
      owner !== process.pid &&
      alive(owner) &&
      mayBeServer(owner)
    )
      throw new Error(
        `DATA_DIR ${dataDir} is in use by another server (pid ${owner}): give each server its own ` +
          `DATA_DIR, or run several over PostgreSQL (DATABASE_URL); if no server runs there, remove ${file}`,
      );
    // Its server is gone (or the file is not a pid): take it over.
    try {
      unlinkSync(file);
    } catch {
      // another process took it over first: the next attempt sees whose it is
    }
  }
  throw new Error(`DATA_DIR ${dataDir}: could not take its lock file ${LOCK_FILE}`);
}
