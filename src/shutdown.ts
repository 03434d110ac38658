/**
 * Graceful shutdown of the server and worker processes: on SIGTERM/SIGINT, an uncaught error or an
 * empty event loop, run `close` once, then exit 0 (1 after an error, or when `close` takes longer
 * than `delayMs`). close-with-grace does the error, timeout and exit handling; the two stop signals
 * are counted here instead of there, because one stop often arrives more than once: a process
 * manager (or Ctrl-C in a terminal) signals the whole process group, and `npm` forwards the same
 * signal to its child a moment later. Repeats within `REPEAT_WINDOW_MS` of the first signal are that
 * same stop and are ignored; a signal after the window is a second request and forces the exit (1).
 */
import closeWithGrace from "close-with-grace";
import type { BaseLogger } from "pino";

/** Milliseconds after the first SIGTERM/SIGINT during which another one counts as the same stop. */
export const REPEAT_WINDOW_MS = 1000;

const STOP_SIGNALS = ["SIGTERM", "SIGINT"] as const;

/** Why the process is closing: the first stop signal, or the uncaught error. */
export interface CloseReason {
  signal?: NodeJS.Signals;
  err?: Error;
}

/** Options of {@link closeOnSignals}. */
export interface CloseOptions {
  /** Milliseconds `close` may take before the process exits anyway with code 1 (SHUTDOWN_TIMEOUT_MS). */
  delayMs: number;
  /** Where the repeat, force-exit, timeout and "closed" lines go. */
  log: Pick<BaseLogger, "info" | "error">;
}

/**
 * Installs the handlers (call once per process, after start-up succeeded). `close` runs at most
 * once; when it resolves the process logs "closed" with the time it took and exits. Returns
 * nothing: the process owns the handlers until it exits.
 */
export function closeOnSignals(options: CloseOptions, close: (reason: CloseReason) => Promise<void>): void {
  const { log } = options;
  let first: { signal: NodeJS.Signals; at: number } | undefined;
  let closing = false;
  const grace = closeWithGrace(
    { delay: options.delayMs, logger: log, skip: [...STOP_SIGNALS] },
    async ({ err }) => {
      closing = true;
      const started = performance.now();
      await close(err ? { err } : first ? { signal: first.signal } : {});
      log.info({ ms: Math.round(performance.now() - started) }, "closed");
    },
  );
  const onStop = (signal: NodeJS.Signals) => {
    const now = performance.now();
    if (!first) {
      first = { signal, at: now };
      // Already closing after an error: this signal starts the window, and a later one forces the exit.
      if (!closing) grace.close();
    } else if (now - first.at < REPEAT_WINDOW_MS) {
      log.info({ signal, first: first.signal }, "stop signal repeated (process group, npm): already closing");
    } else {
      log.error({ signal }, `second ${signal}, exiting`);
      process.exit(1);
    }
  };
  for (const signal of STOP_SIGNALS) process.on(signal, onStop);
}
