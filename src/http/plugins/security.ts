import type { IncomingMessage, ServerResponse } from "node:http";
import fastifyCors from "@fastify/cors";
import fastifyRateLimit from "@fastify/rate-limit";
import type { FastifyInstance } from "fastify";
import fp from "fastify-plugin";
import helmet from "helmet";
import { Redis } from "ioredis";
import { ANONYMOUS, ApiKeys } from "../../service/auth.js";
import { redisErrors } from "../../service/distributed/connections.js";
import { RateLimitedError, UnauthorizedError } from "../../service/errors.js";

declare module "fastify" {
  interface FastifyRequest {
    /**
     * Whom the request acts for: the owner id of its API key (`key_…`, see `ownerOf`), or
     * "anonymous" when the service has no API_KEYS. Jobs and stored data sets belong to it.
     */
    owner: string;
  }
}

export interface SecurityPluginOptions {
  /** API_KEYS; empty: no authentication. */
  apiKeys: readonly string[];
  /** RATE_LIMIT_MAX requests per RATE_LIMIT_WINDOW_MS and client; undefined: no limit. */
  rateLimit?: { max: number; windowMs: number };
  /**
   * The distributed mode's Redis: rate limits are counted there (under `<prefix>:rate:`), so a
   * client's requests count together on every API process. Unset: counted in this process.
   */
  redis?: { url: string; prefix: string };
  /** CORS_ORIGINS (`*` for any); empty: same origin only (no CORS headers). */
  corsOrigins: readonly string[];
}

/**
 * Routes anyone may call, key or not, and that no rate limit counts: the probes, the API's
 * documentation (Swagger UI and the OpenAPI document) and the playground page with its assets
 * (the page asks for a key and sends it with its API calls). `url` is the matched route's
 * pattern, never the raw URL, so no spelling of a path reaches a protected route through here.
 */
export function isPublicRoute(url: string | undefined): boolean {
  if (url === undefined) return false; // no route matched: 404/405 only for those with a key
  return (
    url === "/health" ||
    url === "/ready" ||
    url === "/" ||
    url === "/docs" ||
    url.startsWith("/docs/") ||
    url.startsWith("/playground/")
  );
}

/**
 * Content-Security-Policy for every answer. The pages served here (Swagger UI, the playground)
 * load only scripts of this origin, so `script-src 'self'` holds with no inline script; styles
 * may be inline (Swagger UI writes style attributes); no `upgrade-insecure-requests`, which
 * would send a plain-HTTP deployment's assets to an https:// that does not exist.
 */
const CSP_DIRECTIVES = {
  defaultSrc: ["'self'"],
  baseUri: ["'self'"],
  connectSrc: ["'self'"],
  fontSrc: ["'self'", "data:"],
  formAction: ["'self'"],
  frameAncestors: ["'none'"],
  imgSrc: ["'self'", "data:"],
  objectSrc: ["'none'"],
  scriptSrc: ["'self'"],
  scriptSrcAttr: ["'none'"],
  styleSrc: ["'self'", "'unsafe-inline'"],
};

/** What helmet does to an answer's headers, in its order: set a header, or remove one. */
type HeaderOp = ["set", string, string] | ["remove", string, undefined];

/**
 * The headers helmet's middleware sets (and removes) with `options`, recorded from the middleware
 * itself on a stand-in answer, to be applied per request without running it. Its options here
 * are constant (no directive is a function of the request, no nonce), so every request gets the
 * same list.
 * @throws when the middleware reports an error, or does anything but set and remove headers.
 */
export function helmetHeaders(options: Parameters<typeof helmet>[0]): readonly HeaderOp[] {
  const ops: HeaderOp[] = [];
  const recorder = {
    setHeader: (name: string, value: unknown) => {
      if (typeof value !== "string") throw new Error(`helmet set ${name} to a non-string`);
      ops.push(["set", name, value]);
    },
    removeHeader: (name: string) => {
      ops.push(["remove", name, undefined]);
    },
  };
  let finished = false;
  helmet(options)({} as IncomingMessage, recorder as unknown as ServerResponse, (err?: unknown) => {
    if (err) throw err;
    finished = true;
  });
  if (!finished) throw new Error("helmet's middleware did not finish synchronously");
  return ops;
}

/** Request headers a browser client may send cross-origin, and answer headers it may read. */
const CORS_ALLOWED = [
  "content-type",
  "authorization",
  "x-api-key",
  "idempotency-key",
  "last-event-id",
  "x-request-id",
];
const CORS_EXPOSED = [
  "location",
  "retry-after",
  "x-request-id",
  "idempotent-replayed",
  "www-authenticate",
  "x-ratelimit-limit",
  "x-ratelimit-remaining",
  "x-ratelimit-reset",
];

/**
 * Security headers (helmet, its middleware built once), CORS, API keys and rate limits, in one `onRequest` hook that runs
 * before any body is read: a request without a valid key costs no parsing.
 *
 * Order per request: the key is resolved to its owner; public routes pass; the rate limit counts
 * the request (per owner, or per IP address without a valid key, so guessing keys is limited
 * too) and answers 429; then a protected route without a valid key answers 401.
 */
export default fp<SecurityPluginOptions>(
  async (app: FastifyInstance, opts) => {
    // helmet's headers, worked out once: @fastify/helmet rebuilt its middleware (parsing every CSP
    // directive) on each request, and even built once its chain of thirteen middlewares cost a few
    // per cent of a small POST /gradients (docs/performance.md). Same headers, same names, same order.
    const securityHeaders = helmetHeaders({
      contentSecurityPolicy: { useDefaults: false, directives: CSP_DIRECTIVES },
    });
    app.addHook("onRequest", (_request, reply, done) => {
      const res = reply.raw;
      for (let i = 0; i < securityHeaders.length; i++) {
        const op = securityHeaders[i]!;
        if (op[0] === "set") res.setHeader(op[1], op[2]);
        else res.removeHeader(op[1]);
      }
      done();
    });
    if (opts.corsOrigins.length > 0)
      await app.register(fastifyCors, {
        origin: opts.corsOrigins.includes("*") ? "*" : [...opts.corsOrigins],
        methods: ["GET", "HEAD", "POST", "DELETE"],
        allowedHeaders: CORS_ALLOWED,
        exposedHeaders: CORS_EXPOSED,
        maxAge: 600,
        // An OPTIONS request without Origin gets 204 too, not a text/plain 400.
        strictPreflight: false,
      });

    const keys = new ApiKeys(opts.apiKeys);
    app.decorateRequest("owner", ANONYMOUS);

    let limit: ReturnType<FastifyInstance["rateLimit"]> | undefined;
    const rate = opts.rateLimit;
    if (rate) {
      const redis =
        opts.redis && new Redis(opts.redis.url, { maxRetriesPerRequest: 1, enableOfflineQueue: false });
      if (redis) {
        redis.on("error", redisErrors(app.log, "rate limit").listener);
        app.addHook("onClose", async () => {
          redis.disconnect();
        });
      }
      await app.register(fastifyRateLimit, {
        global: false, // counted in the hook below, after the key is known
        ...(redis && opts.redis
          ? // Redis away: requests pass uncounted rather than fail (the limit protects; it must not take the API down).
            { redis, nameSpace: `${opts.redis.prefix}:rate:`, skipOnError: true }
          : {}),
        max: rate.max,
        timeWindow: rate.windowMs,
        keyGenerator: (request) => (request.owner !== ANONYMOUS ? request.owner : `ip:${request.ip}`),
        errorResponseBuilder: (_request, context) =>
          new RateLimitedError(rate.max, rate.windowMs, Math.max(1, Math.ceil(context.ttl / 1000))),
      });
      limit = app.rateLimit();
    }

    if (limit || keys.enabled) {
      app.addHook("onRequest", async (request, reply) => {
        const presented = ApiKeys.presented(request.headers);
        const owner = keys.enabled ? keys.ownerOf(presented) : ANONYMOUS;
        if (owner) request.owner = owner;
        if (isPublicRoute(request.routeOptions.url)) return;
        if (limit) await limit.call(app, request, reply);
        if (!owner) throw new UnauthorizedError(presented !== undefined);
      });
    }
    // Neither keys nor a limit: every request is the anonymous owner's (`owner`'s default) and
    // passes, so no hook runs.
  },
  { name: "security" },
);
