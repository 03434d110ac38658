import type { FastifyInstance, FastifyRequest } from "fastify";
import { fieldError, InvalidRequestError } from "../service/errors.js";

/**
 * Deepest nesting of arrays and objects a request body may have. The deepest legitimate value
 * is a conv2d kernel inside `initialWeights` (4 array levels under 2 object levels); 32 leaves
 * room and keeps recursive validation far from the stack's limit.
 */
export const MAX_JSON_DEPTH = 32;

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/**
 * Parses a JSON request body and rejects, naming the path, what the schemas should never see:
 * nesting deeper than `MAX_JSON_DEPTH`, and `__proto__` or `constructor.prototype` keys
 * (prototype pollution, should any code ever merge the body into an object).
 * @throws SyntaxError for text that is not JSON (the caller answers 400 malformed-json);
 *   InvalidRequestError (400) for the rest.
 */
export function parseJsonBody(text: string): unknown {
  const value = JSON.parse(text) as Json;
  // Iterative walk: a recursive one would itself overflow on the deep bodies it must reject.
  const stack: { value: Json; path: (string | number)[] }[] = [{ value, path: [] }];
  while (stack.length > 0) {
    const { value: v, path } = stack.pop()!;
    if (v === null || typeof v !== "object") continue;
    if (path.length >= MAX_JSON_DEPTH) {
      const shown = path.slice(0, 8);
      const message = `nested deeper than ${MAX_JSON_DEPTH} levels; no field of this API needs more than 6`;
      throw new InvalidRequestError(`the request body is ${message}`, [
        fieldError(shown, `${message} (path shown to depth ${shown.length})`),
      ]);
    }
    if (Array.isArray(v)) {
      for (let i = 0; i < v.length; i++)
        if (v[i] !== null && typeof v[i] === "object") stack.push({ value: v[i]!, path: [...path, i] });
      continue;
    }
    for (const key of Object.keys(v)) {
      const child = v[key]!;
      const forbidden =
        key === "__proto__" ||
        (key === "constructor" && child !== null && typeof child === "object" && "prototype" in child);
      if (forbidden) {
        const message = `the key "${key === "__proto__" ? "__proto__" : "constructor.prototype"}" is not allowed`;
        throw new InvalidRequestError(`the request body has a forbidden key: ${message}`, [
          fieldError([...path, key], message),
        ]);
      }
      if (child !== null && typeof child === "object") stack.push({ value: child, path: [...path, key] });
    }
  }
  return value;
}

/** The request carries no body: no Transfer-Encoding, and a Content-Length of 0 or none. */
function hasEmptyBody(request: FastifyRequest): boolean {
  const { "content-length": length, "transfer-encoding": encoding } = request.headers;
  return encoding === undefined && (length === undefined || length === "0");
}

/**
 * On an operation that takes no body (no `body` schema: a cancel, a DELETE), an empty body is
 * accepted whatever its Content-Type: clients often send `application/json` or a form type with
 * no body. Fastify would otherwise parse it (400 for empty JSON, 415 for another type). The
 * Content-Type header is dropped before parsing; a non-empty body is still read (400/413/415).
 */
export function acceptEmptyBodies(app: FastifyInstance): void {
  app.addHook("onRequest", async (request) => {
    if (request.routeOptions.schema?.body !== undefined) return;
    if (request.headers["content-type"] === undefined || !hasEmptyBody(request)) return;
    delete request.raw.headers["content-type"];
  });
}
