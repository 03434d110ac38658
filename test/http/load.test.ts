/**
 * A short load test on loopback (the long one is `npm run loadtest`): 3 s of many clients sending
 * small POST /gradients and POST /train to one worker with a small queue, while one client asks
 * GET /health back to back. Every answer is 200 or the documented 503 (never another status, a
 * dropped connection or a timeout), and /health stays fast: the engine never blocks the event loop.
 */
import { describe, expect, it } from "vitest";
import { formatTable, runLoad, unexpected } from "../../scripts/load.js";

/** Lenient: the machine has 2 cores, shared with autocannon and the other test files. */
const HEALTH_P99_MS = 250;

describe("under load", () => {
  it("answers every request 200 or 503 and keeps GET /health fast", async () => {
    const result = await runLoad({
      seconds: 3,
      gradientsConnections: 16,
      trainConnections: 8,
      // INLINE_MAX_WORK=0: every request needs the worker, so the queue overflows (the default
      // would answer these small requests on the main thread).
      env: { POOL_SIZE: "1", MAX_QUEUE: "8", INLINE_MAX_WORK: "0" },
    });
    console.log(formatTable(result));
    const [gradients, train, health] = result.routes;
    for (const r of result.routes) {
      expect(unexpected(r), `${r.route}: ${JSON.stringify(r.statuses)}`).toBe(0);
      expect(r.statuses["200"] ?? 0, r.route).toBeGreaterThan(0);
    }
    // 24 clients against 1 worker and 8 places in the queue: some are refused, at once.
    expect((gradients!.statuses["503"] ?? 0) + (train!.statuses["503"] ?? 0)).toBeGreaterThan(0);
    expect(health!.statuses["503"]).toBeUndefined();
    expect(health!.p99Ms).toBeLessThan(HEALTH_P99_MS);
  }, 30_000);
});
