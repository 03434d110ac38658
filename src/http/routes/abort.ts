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
 * costs no `AbortController` and no listener (docs/performance.md, "/gradients").
 */
export function abortOnDisconnect(reply: FastifyReply): LazySignal {
  const res = reply.raw;
  let made: AbortSignal | undefined;
  return {
    get aborted() {
      return made ? made.aborted : leftEarly(res);
    },
    get reason() {
      return made ? made.reason : leftEarly(res) ? closedEarly() : undefined;
    },
    signal() {
      if (made) return made;
      const controller = new AbortController();
      made = controller.signal;
      if (leftEarly(res)) controller.abort(closedEarly());
      else
        res.once("close", () => {
          if (!res.writableEnded) controller.abort(closedEarly());
        });
      return made;
    },
  };
}
