import type { FastifyReply } from "fastify";
import type { JsonText } from "../../service/engine-task.js";

/**
 * Sends JSON text the worker already serialised. Fastify passes a string through untouched, so
 * the route's zod response schema documents the answer (OpenAPI) without re-walking it here;
 * the HTTP tests check real answers against those schemas.
 */
export function sendJsonText<T>(reply: FastifyReply, text: JsonText<T>): FastifyReply {
  return reply.type("application/json; charset=utf-8").send(text);
}
