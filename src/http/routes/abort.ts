import type { ServerResponse } from "node:http";
import type { FastifyReply } from "fastify";
import type { LazySignal } from "../../service/pool.js";

/** Why a task is stopped when its client goes away. */
const closedEarly = () => new Error("the client closed the connection");

/** Whether the client closed the connection before the answer was sent. */
const leftEarly = (res: ServerResponse) => res.closed && !res.writableEnded;

/**
 * A signal that fires when the client goes away before the answer is sent, so the worker
 * running its (now pointless) job is stopped. Made only when a task is handed to a worker: a
 * task run inline only asks whether the client already left (`aborted`), so a small request
 * costs no `AbortController` and no listener (docs/performance.md, "/gradients"). A class rather
 * than an object of closures: one small object per request, and no closure for tsx to name.
 */
class DisconnectSignal implements LazySignal {
  #made: AbortSignal | undefined;

  constructor(private readonly res: ServerResponse) {}

  get aborted(): boolean {
    return this.#made ? this.#made.aborted : leftEarly(this.res);
  }

  get reason(): unknown {
    return this.#made ? this.#made.reason : leftEarly(this.res) ? closedEarly() : undefined;
  }

  signal(): AbortSignal {
    if (this.#made) return this.#made;
    const res = this.res;
    const controller = new AbortController();
    this.#made = controller.signal;
    if (leftEarly(res)) controller.abort(closedEarly());
    else
      res.once("close", () => {
        if (!res.writableEnded) controller.abort(closedEarly());
      });
    return this.#made;
  }
}

/** The lazy signal of `reply`'s client going away (`DisconnectSignal`). */
export function abortOnDisconnect(reply: FastifyReply): LazySignal {
  return new DisconnectSignal(reply.raw);
}
