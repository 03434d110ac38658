import { randomUUID } from "node:crypto";
import type { IncomingMessage } from "node:http";
import fastifySwagger from "@fastify/swagger";
import fastifySwaggerUi from "@fastify/swagger-ui";
import Fastify, {
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
  type FastifyServerOptions,
  LogController,
} from "fastify";
import { serializerCompiler, type ZodTypeProvider } from "fastify-type-provider-zod";
import pkg from "../../package.json" with { type: "json" };
import type { Config } from "../config.js";
import { ENGINE_VERSION } from "../engine/index.js";
import { answerExpectContinue } from "./expect-continue.js";
import { acceptEmptyBodies, jsonErrorPlace, parseJsonBody } from "./json-body.js";
import { jsonSchemaTransform, transformObject } from "./openapi.js";
import enginePlugin from "./plugins/engine.js";
import jobsPlugin from "./plugins/jobs.js";
import metricsPlugin from "./plugins/metrics.js";
import securityPlugin from "./plugins/security.js";
import storePlugin from "./plugins/store.js";
import tuningPlugin from "./plugins/tuning.js";
import webhooksPlugin from "./plugins/webhooks.js";
import { sendProblem, toProblemOrInternal } from "./problems.js";
import datasetsRoutes from "./routes/datasets.js";
import gradientsRoutes from "./routes/gradients.js";
import healthRoutes from "./routes/health.js";
import jobsRoutes from "./routes/jobs.js";
import modelsRoutes from "./routes/models.js";
import operationsRoutes from "./routes/operations.js";
import playgroundRoutes from "./routes/playground.js";
import predictRoutes from "./routes/predict.js";
import storedDatasetsRoutes from "./routes/stored-datasets.js";
import trainRoutes from "./routes/train.js";
import tuningRoutes from "./routes/tuning.js";
import webhooksRoutes from "./routes/webhooks.js";
import { validatorCompiler } from "./validation.js";

declare module "fastify" {
  interface FastifyInstance {
    /** Requests received and not yet answered (event streams included): what a shutdown waits for. */
    readonly requestsInFlight: number;
  }
}

/** Counts the requests in flight (`app.requestsInFlight`), from their arrival until their connection's answer ends. */
function countRequests(app: FastifyInstance): void {
  let inFlight = 0;
  app.decorate("requestsInFlight", {
    getter: () => inFlight,
  });
  const ended = () => {
    inFlight--;
  };
  // Hooks here and below take `done` rather than being async: no promise and microtask per request.
  app.addHook("onRequest", (_request, reply, done) => {
    inFlight++;
    // An answer closes once: `on` holds no per-request wrapper, as `once` would.
    reply.raw.on("close", ended);
    done();
  });
}

export interface AppOptions {
  config: Config;
  /** Fastify's logger option; by default pino at `config.logLevel`. */
  logger?: FastifyServerOptions["logger"];
  /** Worker threads started eagerly (default 1; 0 for scripts that never train). */
  minThreads?: number;
}

const REQUEST_ID = /^[\w.:-]{1,128}$/;

/**
 * The router's bound on a path parameter: above Node's 16 KiB limit on a request's head, so over
 * HTTP it never answers first (a route's schema bounds its ids).
 */
const MAX_PATH_PARAM_LENGTH = 65_536;

/**
 * The document's introduction: what it covers, what this server's configuration adds (or leaves
 * out: no key without API_KEYS, no 429 without RATE_LIMIT_MAX), and the two versions: the API's
 * (`info.version`, package.json's) and the engine's (`ENGINE_VERSION`, each answer's `engineVersion`).
 */
function openapiDescription(config: Config): string {
  const keys = config.apiKeys.length > 0;
  const limit = config.rateLimit !== undefined;
  return (
    "Training as a service over its own back-propagation engine. Errors are RFC 9457 problem details " +
    "(application/problem+json). Shapes are per sample (no batch axis). A path asked with a method it does " +
    "not list answers 405 with Allow (`components.responses.MethodNotAllowed`); an unknown path 404.\n\n" +
    `This document describes a server ${keys ? "with" : "without"} API_KEYS and ${limit ? "with" : "without"} ` +
    `RATE_LIMIT_MAX: ${
      keys
        ? "every operation but /health and /ready needs an API key (401 without one)"
        : "no operation needs an API key"
    }${limit ? ", and the operations that need one are rate-limited (429, X-RateLimit-* headers)" : ""}. ` +
    "The committed copy (openapi/openapi.json) is rendered with both set, so it lists every status and header " +
    "a deployment can send; a server serves its own at /docs/json.\n\n" +
    `Versions: \`info.version\` (${pkg.version}) is the service's, package.json's, and versions this API. The ` +
    `engine that trains has its own, ${ENGINE_VERSION}: every training answer's \`engineVersion\` ` +
    `(\`${ENGINE_VERSION}+float32\` for a float32 run), bumped whenever a change can alter a trained weight, so ` +
    "that with the request and its seed it identifies a run."
  );
}

/**
 * One log line per request, when it is answered (`request completed` with the request, the status
 * and the time), instead of Fastify's two (`incoming request`, then `request completed`). Fastify's
 * other lines (errors, 404s, …) are unchanged.
 */
class OneLinePerRequest extends LogController {
  override incomingRequest(): void {}

  override requestCompleted(error: Error | null, request: FastifyRequest, reply: FastifyReply): void {
    if (error) {
      reply.log.error(
        { req: request, res: reply, err: error, responseTime: reply.elapsedTime },
        "request errored",
      );
    } else reply.log.info({ req: request, res: reply, responseTime: reply.elapsedTime }, "request completed");
  }
}

/** A client's `x-request-id` when it looks sane, else a fresh UUID. */
function requestId(req: IncomingMessage): string {
  const given = req.headers["x-request-id"];
  return typeof given === "string" && REQUEST_ID.test(given) ? given : randomUUID();
}

/**
 * Builds the HTTP app — routes, OpenAPI document and Swagger UI, error handling, the engine's
 * worker pool — without listening. `app.close()` drains the pool.
 */
export async function buildApp(options: AppOptions): Promise<FastifyInstance> {
  const { config } = options;
  const app = Fastify({
    logger: options.logger ?? { level: config.logLevel },
    logController: new OneLinePerRequest(),
    bodyLimit: config.bodyLimit,
    genReqId: requestId,
    // Path ids are checked by their route's schema (at most 100 characters: a 400 naming
    // `params.id`, with the usual headers); the router's own limit would answer 414 first.
    routerOptions: { maxParamLength: MAX_PATH_PARAM_LENGTH },
    // Errors the router raises before any handler (a bad percent-encoding, a path parameter
    // over its length limit) get the same problem+json as every other error.
    frameworkErrors: (err, request, reply) => {
      const { problem, headers } = toProblemOrInternal(err, request);
      // No route, so no hook adds the request id: say it here.
      sendProblem(reply, problem, { ...headers, "x-request-id": String(request.id) });
    },
  }).withTypeProvider<ZodTypeProvider>();

  answerExpectContinue(app.server, config.bodyLimit, requestId);
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  // JSON only: anything else is 415 rather than a string that fails the schema.
  app.removeContentTypeParser("text/plain");
  app.removeContentTypeParser("application/json");
  app.addContentTypeParser("application/json", { parseAs: "string" }, (_request, body, done) => {
    if (body === "") {
      done(Object.assign(new Error("empty body"), { statusCode: 400, code: "FST_ERR_CTP_EMPTY_JSON_BODY" }));
      return;
    }
    try {
      done(null, parseJsonBody(body as string));
    } catch (err) {
      if (err instanceof SyntaxError)
        done(
          Object.assign(err, {
            statusCode: 400,
            code: "FST_ERR_CTP_INVALID_JSON_BODY",
            where: jsonErrorPlace(err, body as string),
          }),
        );
      else done(err as Error);
    }
  });

  acceptEmptyBodies(app);
  countRequests(app);

  // Once the app closes (SIGTERM), answers close their connection: a keep-alive client would
  // otherwise hold the shutdown open until its idle timeout.
  let closing = false;
  app.addHook("preClose", async () => {
    closing = true;
  });
  app.addHook("onSend", (request, reply, _payload, done) => {
    reply.header("x-request-id", request.id);
    if (closing) reply.header("connection", "close");
    done();
  });

  app.setErrorHandler((err, request, reply) => {
    const { problem, headers } = toProblemOrInternal(err, request);
    if (problem.status === 500) request.log.error({ err }, "request failed");
    else
      request.log.info({ problem: { status: problem.status, detail: problem.detail } }, "request rejected");
    return sendProblem(reply, problem, headers);
  });
  app.setNotFoundHandler((request, reply) => {
    const path = request.url.split("?")[0] ?? "/";
    // A route that exists under other methods is 405 with Allow (RFC 9110 §15.5.6), not 404.
    const allowed = ["GET", "POST", "PUT", "PATCH", "DELETE"].filter((method) =>
      app.findRoute({ method: method as "GET", url: path }),
    );
    if (allowed.length > 0)
      return sendProblem(
        reply,
        {
          type: "about:blank",
          title: "Method Not Allowed",
          status: 405,
          detail: `${path} answers ${allowed.join(", ")}, not ${request.method}`,
          instance: request.url,
          requestId: String(request.id),
        },
        { allow: allowed.join(", ") },
      );
    return sendProblem(reply, {
      type: "about:blank",
      title: "Not Found",
      status: 404,
      detail: `no route ${request.method} ${path}`,
      instance: request.url,
      requestId: String(request.id),
    });
  });

  // Before every route: headers, CORS, API keys and rate limits apply to all of them.
  await app.register(securityPlugin, {
    apiKeys: config.apiKeys,
    rateLimit: config.rateLimit,
    corsOrigins: config.corsOrigins,
    ...(config.distributed
      ? { redis: { url: config.distributed.redisUrl, prefix: config.distributed.prefix } }
      : {}),
  });
  await app.register(fastifySwagger, {
    openapi: {
      openapi: "3.1.0",
      info: {
        title: "backprop-service",
        description: openapiDescription(config),
        version: pkg.version,
      },
      tags: [
        { name: "training", description: "Fit a model" },
        { name: "inspection", description: "Look inside a model: gradients, predictions" },
        { name: "jobs", description: "Asynchronous training: create, follow, cancel" },
        {
          name: "tuning",
          description: "Hyperparameter search: trials as jobs, grid, random or TPE, the median rule",
        },
        {
          name: "models",
          description:
            "Stored models: list, predict, export to TensorFlow.js and ONNX, import from TensorFlow.js.\n\n" +
            '**Train, save, load in the browser.** `POST /train` with `"saveModel": true` (every succeeded job ' +
            "saves too) answers `modelId`; then, in a page or in Node:\n\n" +
            "```js\n" +
            'import * as tf from "@tensorflow/tfjs";\n' +
            'const model = await tf.loadLayersModel("<this server>/models/<modelId>/tfjs/model.json");\n' +
            "model.predict(tf.tensor([[5.1, 3.5, 1.4, 0.2]])).print();\n" +
            "```\n\n" +
            'With API keys, pass `{ requestInit: { headers: { "x-api-key": key } } }` as the second argument. ' +
            "The formats hold float32 (the engine's float64 weights rounded once); `GET /models/{id}/onnx` is the " +
            "same model for onnxruntime.",
        },
        { name: "data", description: "Built-in and stored data sets" },
        {
          name: "webhooks",
          description:
            "Signed callbacks when this API key's jobs end (Standard Webhooks: `webhook-id`, `webhook-timestamp`, " +
            "`webhook-signature` = `v1,<base64 HMAC-SHA256 of id.timestamp.body>`), retried for a day until a 2xx.",
        },
        { name: "meta", description: "Service status" },
      ],
    },
    transform: jsonSchemaTransform,
    transformObject: transformObject({
      apiKeys: config.apiKeys.length > 0,
      rateLimit: config.rateLimit !== undefined,
    }),
  });
  await app.register(fastifySwaggerUi, { routePrefix: "/docs" });

  await app.register(metricsPlugin);
  await app.register(storePlugin, {
    dataDir: config.dataDir,
    ...(config.distributed
      ? { distributed: { databaseUrl: config.distributed.databaseUrl, schema: config.distributed.schema } }
      : {}),
  });
  await app.register(enginePlugin, {
    pool: {
      size: config.poolSize,
      maxQueue: config.maxQueue,
      minThreads: options.minThreads ?? 1,
      maxHeapMb: config.workerMaxHeapMb,
      timeoutMs: config.syncTimeoutMs,
      inlineMaxWork: config.inlineMaxWork,
    },
    maxParams: config.maxParams,
    maxWork: config.maxWork,
    maxJobWork: config.maxJobWork,
    maxBatchBytes: config.maxBatchBytes,
    storedDatasets: (id) => app.store.datasets.load(id),
    models: app.store.models,
  });
  await app.register(jobsPlugin, {
    maxConcurrent: config.maxConcurrentJobs,
    maxPerOwner: config.maxJobsPerClient,
    checkpointEvery: config.checkpointEvery,
    checkpointMinMs: config.checkpointMinMs,
    retentionMs: config.jobRetentionMs,
    modelRetentionMs: config.modelRetentionMs,
    ...(config.distributed ? { distributed: config.distributed } : {}),
  });
  await app.register(webhooksPlugin, config.webhooks);
  await app.register(tuningPlugin, { retentionMs: config.jobRetentionMs });

  await app.register(healthRoutes);
  await app.register(datasetsRoutes);
  await app.register(trainRoutes);
  await app.register(gradientsRoutes);
  await app.register(predictRoutes);
  await app.register(jobsRoutes);
  await app.register(tuningRoutes);
  await app.register(modelsRoutes);
  await app.register(storedDatasetsRoutes);
  await app.register(webhooksRoutes);
  await app.register(operationsRoutes);
  await app.register(playgroundRoutes);

  return app;
}
