import type { FieldError } from "../schemas/problem.js";

/**
 * An error the client can act on, answered as RFC 9457 problem details by the HTTP error
 * handler. Thrown where the fault is found; `errors` name the bad fields.
 */
export class ProblemError extends Error {
  constructor(
    readonly status: number,
    readonly type: string,
    readonly title: string,
    detail: string,
    readonly errors?: FieldError[],
    readonly headers: Record<string, string> = {},
  ) {
    super(detail);
  }
}

/** 400: the request is malformed on its own, whatever the model (e.g. a ragged weight array). */
export class InvalidRequestError extends ProblemError {
  override readonly name = "InvalidRequestError";
  constructor(detail: string, errors?: FieldError[]) {
    super(400, "/problems/invalid-request", "Invalid request", detail, errors);
  }
}

/**
 * 422: well-formed but impossible — shapes that do not fit the model, labels out of range,
 * weights for another model, a request over the compute budget.
 */
export class UnprocessableError extends ProblemError {
  override readonly name = "UnprocessableError";
  constructor(detail: string, errors?: FieldError[]) {
    super(422, "/problems/unprocessable", "Unprocessable request", detail, errors);
  }
}

/** 503: every worker is busy and the queue (MAX_QUEUE requests) is full; retry later. */
export class OverloadedError extends ProblemError {
  override readonly name = "OverloadedError";
  constructor(retryAfterSeconds: number) {
    super(
      503,
      "/problems/overloaded",
      "Service overloaded",
      "every worker is busy and the queue is full (MAX_QUEUE requests waiting); retry later",
      undefined,
      { "retry-after": String(retryAfterSeconds) },
    );
  }
}

/** One error at `path` (segments into the request body). */
export function fieldError(path: readonly (string | number)[], message: string): FieldError {
  return { path: formatPath(path), message };
}

const IDENTIFIER = /^[A-Za-z_$][\w$]*$/;

/**
 * Formats a path into the request body the way a JavaScript reader writes it:
 * `["model", "layers", 1, "units"]` → `model.layers[1].units`,
 * `["weights", "dense_0/kernel", 2]` → `weights["dense_0/kernel"][2]`. The root is `""`.
 */
export function formatPath(path: readonly (string | number | symbol)[]): string {
  let out = "";
  for (const seg of path) {
    if (typeof seg === "number") out += `[${seg}]`;
    else {
      const key = String(seg);
      if (IDENTIFIER.test(key)) out += out === "" ? key : `.${key}`;
      else out += `[${JSON.stringify(key)}]`;
    }
  }
  return out;
}

/** 404: no job or stored data set has this id. */
export class NotFoundError extends ProblemError {
  override readonly name = "NotFoundError";
  /** @param errors the request field that named the missing resource, when it was in the body */
  constructor(detail: string, errors?: FieldError[]) {
    super(404, "/problems/not-found", "Not found", detail, errors);
  }
}

/** 409: the resource is in the wrong state for this (cancel a finished job, delete a data set in use). */
export class ConflictError extends ProblemError {
  override readonly name = "ConflictError";
  constructor(detail: string) {
    super(409, "/problems/conflict", "Conflict", detail);
  }
}

/**
 * 504: a synchronous request ran past `SYNC_TIMEOUT_MS` (waiting for a worker included); its
 * worker was stopped. Retrying the same request will not help: a job has no such limit.
 */
export class SyncTimeoutError extends ProblemError {
  override readonly name = "SyncTimeoutError";
  constructor(timeoutMs: number) {
    super(
      504,
      "/problems/timeout",
      "Request timed out",
      `the request did not finish within ${timeoutMs} ms (SYNC_TIMEOUT_MS) and was stopped; ` +
        "run long trainings as a job: POST /jobs takes the same body and has no time limit",
    );
  }
}

/**
 * 503: the worker thread running the request died (over `WORKER_MAX_HEAP_MB`, say). Only this
 * request fails; the pool starts a new thread. Not a 500: the service has no bug, it lacked room.
 */
export class WorkerFailedError extends ProblemError {
  override readonly name = "WorkerFailedError";
  constructor(reason: string) {
    super(
      503,
      "/problems/worker-failed",
      "Worker failed",
      `the worker thread running this request stopped (${reason}); other requests are unaffected. ` +
        "A smaller model, fewer samples or a higher WORKER_MAX_HEAP_MB may fit",
    );
  }
}

/** 401: no API key, or not one of `API_KEYS`. */
export class UnauthorizedError extends ProblemError {
  override readonly name = "UnauthorizedError";
  constructor(given: boolean) {
    super(
      401,
      "/problems/unauthorized",
      "Unauthorized",
      given
        ? "the API key is not valid"
        : "this service requires an API key: send `Authorization: Bearer <key>` or `x-api-key: <key>`",
      undefined,
      // RFC 6750 §3
      { "www-authenticate": given ? 'Bearer realm="api", error="invalid_token"' : 'Bearer realm="api"' },
    );
  }
}

/** 429: this client (API key, or IP address) sent more than `RATE_LIMIT_MAX` requests in the window. */
export class RateLimitedError extends ProblemError {
  override readonly name = "RateLimitedError";
  constructor(max: number, windowMs: number, retryAfterSeconds: number) {
    super(
      429,
      "/problems/rate-limited",
      "Too many requests",
      `more than ${max} requests in ${windowMs / 1000} s from this client (RATE_LIMIT_MAX / RATE_LIMIT_WINDOW_MS); ` +
        `retry after ${retryAfterSeconds} s`,
      undefined,
      { "retry-after": String(retryAfterSeconds) },
    );
  }
}
