/**
 * `abortOnDisconnect` (src/http/routes/abort.ts): the signal is made only when asked for; before
 * that, `aborted` and `reason` still say whether the client left; made before or after the client
 * left, it fires (or has fired) with the same reason; an answer sent in full never fires it. And
 * the pool's inline path reads it without making it. test/http/train.test.ts stops a worker's
 * job by disconnecting over a real socket.
 */
import { EventEmitter } from "node:events";
import type { FastifyReply } from "fastify";
import { describe, expect, it } from "vitest";
import { abortOnDisconnect } from "../../src/http/routes/abort.js";
import { EnginePool, type LazySignal } from "../../src/service/pool.js";

/** A stand-in for the reply's ServerResponse: its `closed` and `writableEnded`, and its "close" event. */
function fakeReply() {
  const res = Object.assign(new EventEmitter(), { closed: false, writableEnded: false });
  const reply = { raw: res } as unknown as FastifyReply;
  const leave = () => {
    res.closed = true;
    res.emit("close");
  };
  const answer = () => {
    res.writableEnded = true;
    leave();
  };
  return { res, reply, leave, answer };
}

describe("abortOnDisconnect", () => {
  it("makes no signal and adds no listener until asked, and still says whether the client left", () => {
    const { res, reply, leave } = fakeReply();
    const lazy = abortOnDisconnect(reply);
    expect(lazy.aborted).toBe(false);
    expect(lazy.reason).toBeUndefined();
    expect(res.listenerCount("close")).toBe(0);
    leave();
    expect(lazy.aborted).toBe(true);
    expect(String(lazy.reason)).toMatch(/the client closed the connection/);
    // Asked for after the client left: already aborted.
    const signal = lazy.signal();
    expect(signal.aborted).toBe(true);
    expect(String(signal.reason)).toMatch(/the client closed the connection/);
    expect(lazy.signal()).toBe(signal);
  });

  it("made while the client is there, fires when it leaves before the answer, not after it", () => {
    const gone = fakeReply();
    const signal = abortOnDisconnect(gone.reply).signal();
    expect(signal.aborted).toBe(false);
    expect(gone.res.listenerCount("close")).toBe(1);
    gone.leave();
    expect(signal.aborted).toBe(true);

    const served = fakeReply();
    const lazy = abortOnDisconnect(served.reply);
    const kept = lazy.signal();
    served.answer();
    expect(kept.aborted).toBe(false);
    expect(lazy.aborted).toBe(false);
  });
});

describe("the pool's inline path", () => {
  it("refuses a task whose client already left, with the signal's reason, without making the signal", async () => {
    const pool = new EnginePool({ size: 1, maxQueue: 1, minThreads: 0, inlineMaxWork: 1e9 });
    try {
      let made = 0;
      const lazy = (aborted: boolean): LazySignal => ({
        aborted,
        reason: aborted ? new Error("gone") : undefined,
        signal() {
          made++;
          return new AbortController().signal;
        },
      });
      const task = {
        kind: "predict" as const,
        model: {
          inputShape: [1],
          layers: [{ type: "dense" as const, units: 1 }],
          loss: "meanSquaredError" as const,
        },
        weights: {
          "dense_0/kernel": { shape: [1, 1], data: Float64Array.of(2) },
          "dense_0/bias": { shape: [1], data: Float64Array.of(0.5) },
        },
        x: Float64Array.of(3),
        n: 1,
      };
      await expect(pool.run(task, { signal: lazy(true), work: 1 })).rejects.toThrow("gone");
      const outcome = await pool.run(task, { signal: lazy(false), work: 1 });
      expect(outcome).toEqual({ ok: true, json: '{"outputs":[[6.5]],"dtype":"float64"}' });
      expect(made).toBe(0);
      expect(pool.inlineRuns).toBe(1);
    } finally {
      await pool.close();
    }
  });
});
