import type { FastifyInstance, onRequestHookHandler } from "fastify";
import { OverloadedError } from "../../service/errors.js";
import { RETRY_AFTER_SECONDS } from "../../service/pool.js";

/**
 * An `onRequest` hook for the routes that run the engine synchronously: when every worker is
 * busy and the queue is full, 503 with Retry-After before the body is read or validated, so
 * refusing work costs the event loop next to nothing. The pool checks again when the task is
 * handed over (it may have filled up meanwhile).
 */
export function refuseWhenSaturated(app: FastifyInstance): onRequestHookHandler {
  return (_request, _reply, done) => {
    done(app.pool.saturated ? new OverloadedError(RETRY_AFTER_SECONDS) : undefined);
  };
}
