import type { JobLogger } from "../jobs/job-view.js";

/** How long a process waits for Redis at start before it gives up (ms). */
export const CONNECT_TIMEOUT_MS = 5000;

/** `url` with its password (if any) replaced by `***`, for messages and logs. */
export function redact(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = "***";
    return u.toString();
  } catch {
    return "(unparseable URL)";
  }
}

/**
 * An `error` listener for a Redis client (ioredis, BullMQ): logs through `log`, at most one
 * line per `everyMs` (the clients retry on their own many times a second while Redis is away),
 * and keeps the last error for `untilReady`'s message. Without a listener ioredis prints
 * "Unhandled error event" to stderr at every retry.
 */
export function redisErrors(log: JobLogger | undefined, what: string, everyMs = 10_000) {
  let lastLogged = Number.NEGATIVE_INFINITY;
  const state = {
    last: undefined as Error | undefined,
    /** Set once the process has started: before, an error only feeds `untilReady`'s one message. */
    started: false,
    listener: (err: Error) => {
      state.last = err;
      if (!state.started) return;
      const now = Date.now();
      if (now - lastLogged < everyMs) return;
      lastLogged = now;
      log?.error({ reason: err.message }, `${what}: Redis error (retrying)`);
    },
  };
  return state;
}

/**
 * Waits for `ready`, or fails after `ms` with an error that names the service and its URL.
 * @throws Error "cannot reach Redis at redis://… (REDIS_URL) within 5 s: <last error>".
 */
export async function untilReady(
  ready: Promise<unknown>,
  service: { name: string; variable: string; url: string; lastError?: () => Error | undefined },
  ms = CONNECT_TIMEOUT_MS,
): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const cause = service.lastError?.();
      reject(
        new Error(
          `cannot reach ${service.name} at ${redact(service.url)} (${service.variable}) within ${ms / 1000} s` +
            (cause ? `: ${cause.message}` : ""),
        ),
      );
    }, ms);
  });
  try {
    await Promise.race([ready, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
