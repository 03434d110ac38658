import type { FastifyReply } from "fastify";

/**
 * A signal that fires when the client goes away before the answer is sent, so the worker
 * running its (now pointless) job is stopped.
 */
export function abortOnDisconnect(reply: FastifyReply): AbortSignal {
  const controller = new AbortController();
  reply.raw.once("close", () => {
    if (!reply.raw.writableEnded) controller.abort(new Error("the client closed the connection"));
  });
  return controller.signal;
}
