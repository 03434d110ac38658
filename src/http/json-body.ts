import type { FastifyInstance, FastifyRequest } from "fastify";
import { fieldError, InvalidRequestError } from "../service/errors.js";

/**
 * Deepest nesting of arrays and objects a request body may have. The deepest legitimate value
 * is a conv2d kernel inside `initialWeights` (4 array levels under 2 object levels); 32 leaves
 * room and keeps recursive validation far from the stack's limit.
 */
export const MAX_JSON_DEPTH = 32;

/**
 * Most keys one JSON object of a request body may have. The largest legitimate object is a
 * `classWeight` of `maxUnits` (4,096) classes, or `initialWeights` of 64 layers' few tensors
 * each; a million keys would cost the schemas seconds of the event loop to report one by one.
 */
export const MAX_OBJECT_KEYS = 10_000;

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/**
 * Parses a JSON request body and rejects, naming the path, what the schemas should never see:
 * nesting deeper than `MAX_JSON_DEPTH`, an object of more than `MAX_OBJECT_KEYS` keys, and
 * `__proto__` or `constructor.prototype` keys (prototype pollution, should any code ever merge
 * the body into an object).
 * @throws SyntaxError for text that is not JSON (the caller answers 400 malformed-json);
 *   InvalidRequestError (400) for the rest.
 */
export function parseJsonBody(text: string): unknown {
  const value = JSON.parse(text) as Json;
  if (value === null || typeof value !== "object") return value;
  // Iterative walk: a recursive one would itself overflow on the deep bodies it must reject. A
  // node links to its parent, so a path is built only for an error (most bodies have none).
  const stack: Node[] = [{ value, key: undefined, depth: 0, parent: undefined }];
  while (stack.length > 0) {
    const node = stack.pop()!;
    const v = node.value;
    if (node.depth >= MAX_JSON_DEPTH) {
      const shown = pathOf(node).slice(0, 8);
      const message = `nested deeper than ${MAX_JSON_DEPTH} levels; no field of this API needs more than 6`;
      throw new InvalidRequestError(`the request body is ${message}`, [
        fieldError(shown, `${message} (path shown to depth ${shown.length})`),
      ]);
    }
    const depth = node.depth + 1;
    if (Array.isArray(v)) {
      for (let i = 0; i < v.length; i++) {
        const child = v[i]!;
        if (child !== null && typeof child === "object")
          stack.push({ value: child, key: i, depth, parent: node });
      }
      continue;
    }
    const keys = Object.keys(v);
    if (keys.length > MAX_OBJECT_KEYS) {
      const message = `an object of ${keys.length} keys; at most ${MAX_OBJECT_KEYS} (no field of this API needs more)`;
      throw new InvalidRequestError(`the request body has ${message}`, [fieldError(pathOf(node), message)]);
    }
    for (const key of keys) {
      const child = v[key]!;
      const forbidden =
        key === "__proto__" ||
        (key === "constructor" && child !== null && typeof child === "object" && "prototype" in child);
      if (forbidden) {
        const message = `the key "${key === "__proto__" ? "__proto__" : "constructor.prototype"}" is not allowed`;
        throw new InvalidRequestError(`the request body has a forbidden key: ${message}`, [
          fieldError([...pathOf(node), key], message),
        ]);
      }
      if (child !== null && typeof child === "object") stack.push({ value: child, key, depth, parent: node });
    }
  }
  return value;
}

/**
 * Where or at what `JSON.parse` failed in `text`: "at line L, column C" (1-based) from the
 * position its message gives, "at the end of the body" when the text stops early, "at an
 * unexpected 'x'" when V8 names only the token (Node 20 does for most errors); undefined when the
 * message says none of these. Never more of the body than that one token.
 */
export function jsonErrorPlace(err: SyntaxError, text: string): string | undefined {
  if (/Unexpected end of JSON input/.test(err.message)) return "at the end of the body";
  const m = /at position (\d+)/.exec(err.message);
  if (m) {
    const at = Math.min(Number(m[1]), text.length);
    const before = text.slice(0, at);
    return `at line ${before.split("\n").length}, column ${at - before.lastIndexOf("\n")}`;
  }
  const token = /^Unexpected token '(.{1,2})'/u.exec(err.message);
  if (token) return `at an unexpected ${JSON.stringify(token[1])}`;
  if (/^Unexpected non-whitespace character after JSON/.test(err.message)) return "after the JSON value";
  return undefined;
}

/** An object or array met by `parseJsonBody`'s walk: where it sits (`key` in `parent`) and how deep. */
interface Node {
  value: Json[] | { [key: string]: Json };
  key: string | number | undefined;
  depth: number;
  parent: Node | undefined;
}

/** The keys from the body's root down to `node`. */
function pathOf(node: Node): (string | number)[] {
  const path: (string | number)[] = [];
  for (let n: Node | undefined = node; n?.key !== undefined; n = n.parent) path.push(n.key);
  return path.reverse();
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
  app.addHook("onRequest", (request, _reply, done) => {
    // The headers first: `routeOptions` builds an object each time it is read.
    if (
      request.headers["content-type"] !== undefined &&
      hasEmptyBody(request) &&
      request.routeOptions.schema?.body === undefined
    )
      delete request.raw.headers["content-type"];
    done();
  });
}
