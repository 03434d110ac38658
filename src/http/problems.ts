import { STATUS_CODES } from "node:http";
import type { FastifyError, FastifyReply, FastifyRequest } from "fastify";
import type { Problem } from "../schemas/problem.js";
import { ProblemError } from "../service/errors.js";
import { SchemaValidationError } from "./validation.js";

export const PROBLEM_CONTENT_TYPE = "application/problem+json";

/** Fastify's own 4xx errors with a more specific problem type than `about:blank`. */
const FASTIFY_PROBLEMS: Record<string, { type: string; title: string; detail: string }> = {
  FST_ERR_CTP_INVALID_JSON_BODY: {
    type: "/problems/malformed-json",
    title: "Malformed JSON",
    detail: "the request body is not valid JSON",
  },
  FST_ERR_CTP_BODY_TOO_LARGE: {
    type: "about:blank",
    title: "Payload Too Large",
    // The limit's value is added where the request is known (`toProblem`).
    detail: "the request body is larger than the server allows",
  },
  FST_ERR_CTP_EMPTY_JSON_BODY: {
    type: "/problems/malformed-json",
    title: "Malformed JSON",
    detail: "the request body is empty but the content type is application/json",
  },
};

/** The largest body the request's route accepts, bytes (BODY_LIMIT unless the route sets its own). */
function bodyLimit(request: FastifyRequest): number | undefined {
  return request.routeOptions.bodyLimit ?? request.server.initialConfig.bodyLimit;
}

/**
 * A 415's detail: the type sent and those the route accepts (its schema's `consumes`, which the
 * routes that take more than JSON declare; JSON otherwise, the only parser outside them).
 */
function unsupportedType(request: FastifyRequest): string {
  const accepted = (request.routeOptions.schema?.consumes as string[] | undefined) ?? ["application/json"];
  const sent = (request.headers["content-type"] ?? "none").slice(0, 100);
  const route = `${request.method} ${request.routeOptions.url ?? request.url}`;
  return `Content-Type ${sent} is not accepted by ${route}: send ${accepted.join(" or ")}`;
}

/** "the request body does not", "the request headers do not": the subject of a schema error's message. */
function subject(context: string): string {
  return `the request ${context} ${context === "headers" ? "do" : "does"} not`;
}

/**
 * Turns any error into RFC 9457 problem details plus extra headers. 5xx details are hidden
 * (they are logged under the request id instead).
 */
export function toProblem(
  err: unknown,
  request: FastifyRequest,
): { problem: Problem; headers: Record<string, string> } {
  const base = { instance: request.url, requestId: String(request.id) };
  if (err instanceof SchemaValidationError) {
    const { errors, total } = err.fieldErrors();
    const first = errors[0] ? `${errors[0].path || "(root)"}: ${errors[0].message}` : "invalid";
    const more = total > 1 ? ` (and ${total - 1} more, see errors)` : "";
    return {
      problem: {
        type: "/problems/invalid-request",
        title: "Invalid request",
        status: 400,
        detail: `${subject(err.validationContext ?? "body")} match the schema: ${first}${more}`,
        ...base,
        errors,
      },
      headers: {},
    };
  }
  if (err instanceof ProblemError) {
    // A 400/422 always says where: the request as a whole (`""`) when no field is to blame.
    const errors =
      err.errors ?? (err.status === 400 || err.status === 422 ? rootError(err.message) : undefined);
    return {
      problem: {
        type: err.type,
        title: err.title,
        status: err.status,
        detail: err.message,
        ...base,
        ...(errors ? { errors } : {}),
      },
      headers: err.headers,
    };
  }
  if (err instanceof Error && err.name === "AbortError") {
    // Only a client that went away aborts a job; nobody reads this answer.
    return {
      problem: {
        type: "/problems/cancelled",
        title: "Request cancelled",
        status: 503,
        detail: "the client closed the connection; its job was stopped",
        ...base,
      },
      headers: {},
    };
  }
  const fe = err as Partial<FastifyError>;
  const status = typeof fe.statusCode === "number" ? fe.statusCode : 500;
  if (status >= 400 && status < 500) {
    const known = fe.code ? FASTIFY_PROBLEMS[fe.code] : undefined;
    const detail =
      fe.code === "FST_ERR_CTP_BODY_TOO_LARGE"
        ? `${known?.detail} (BODY_LIMIT: ${bodyLimit(request)} bytes)`
        : fe.code === "FST_ERR_CTP_INVALID_MEDIA_TYPE"
          ? unsupportedType(request)
          : fe.code === "FST_ERR_CTP_INVALID_JSON_BODY" &&
              typeof (err as { where?: unknown }).where === "string"
            ? `${known?.detail} (${(err as { where: string }).where})`
            : known?.detail;
    return {
      problem: {
        type: known?.type ?? "about:blank",
        title: known?.title ?? STATUS_CODES[status] ?? "Client error",
        status,
        detail: detail ?? fe.message ?? "client error",
        ...base,
        ...(status === 400 ? { errors: rootError(detail ?? fe.message ?? "client error") } : {}),
      },
      headers: {},
    };
  }
  return internalError(request);
}

/** The answer to a bug: a plain 500 that says only where it is logged. */
function internalError(request: FastifyRequest): { problem: Problem; headers: Record<string, string> } {
  return {
    problem: {
      type: "about:blank",
      title: STATUS_CODES[500] as string,
      status: 500,
      detail: `an internal error occurred; it is logged under request id ${request.id}`,
      instance: request.url,
      requestId: String(request.id),
    },
    headers: {},
  };
}

/**
 * `toProblem`, or the plain 500 when working the answer out fails (then logged, with the error
 * it was for): an error handler that throws would leave the answer to Fastify's own handler,
 * which sends application/json with the error's message.
 */
export function toProblemOrInternal(
  err: unknown,
  request: FastifyRequest,
): { problem: Problem; headers: Record<string, string> } {
  try {
    return toProblem(err, request);
  } catch (failure) {
    request.log.error({ err: failure, cause: err }, "the error's answer could not be worked out");
    return internalError(request);
  }
}

/** Sends `problem` as application/problem+json (already serialised: no response schema applies). */
export function sendProblem(
  reply: FastifyReply,
  problem: Problem,
  headers: Record<string, string> = {},
): FastifyReply {
  return reply.code(problem.status).headers(headers).type(PROBLEM_CONTENT_TYPE).send(JSON.stringify(problem));
}

/** The one field error of a fault that is the whole request's (malformed JSON, an empty CSV). */
function rootError(message: string): { path: string; message: string }[] {
  return [{ path: "", message }];
}
