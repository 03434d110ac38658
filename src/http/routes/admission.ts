import type { FastifyInstance, onRequestAsyncHookHandler } from "fastify";
import { OverloadedError } from "../../service/errors.js";
import { RETRY_AFTER_SECONDS } from "../../service/pool.js";

/**
 * An `onRequest` hook for the routes that run the engine synchronously: when every worker is
 * busy and the queue is full, 503 with Retry-After before the body is read or validated, so
 * refusing work costs the event loop next to nothing. The pool checks again when the task is
 * handed over (it may have filled up meanwhile).
 */
export function refuseWhenSaturated(app: FastifyInstance): onRequestAsyncHookHandler {
  return async () => {
    if (app.pool.saturated) throw new OverloadedError(RETRY_AFTER_SECONDS);
  };
}
