import type { FastifyInstance } from "fastify";
import { afterEach } from "vitest";
import { loadConfig } from "../../src/config.js";
import { buildApp } from "../../src/http/app.js";
import type { Job } from "../../src/schemas/jobs.js";
import { ContractValidator } from "../contract/openapi-validator.js";

/** Answers that broke the served OpenAPI document since the last test ended. */
const violations: string[] = [];
/** `"<METHOD> <path> <status>"` of every answer checked against the document in this file. */
export const exercised = new Set<string>();
/** One validator per distinct document (the configuration changes it: API_KEYS, RATE_LIMIT_MAX). */
const validators = new Map<string, ContractValidator>();

// A test whose app answered outside its own OpenAPI document fails, whatever it asserted.
afterEach(() => {
  const found = violations.splice(0);
  if (found.length > 0) throw new Error(`answers outside the OpenAPI document:\n${found.join("\n")}`);
});

/**
 * Checks every answer the app sends against the document it serves (status, content type,
 * body schema, required headers), with ajv; a violation fails the running test. Streams (the
 * event stream, hijacked) and routes the document hides are not checked here.
 */
export function checkAnswersAgainstContract(app: FastifyInstance): void {
  let validator: ContractValidator | undefined;
  app.addHook("onSend", async (request, reply, payload) => {
    const route = request.routeOptions.url;
    if (route === undefined || request.method === "HEAD") return payload;
    if (!validator) {
      const doc = app.swagger() as unknown as ConstructorParameters<typeof ContractValidator>[0];
      const text = JSON.stringify(doc);
      validator = validators.get(text) ?? new ContractValidator(doc);
      validators.set(text, validator);
    }
    if (!validator.has(request.method, route)) return payload;
    // Fastify drops the payload of a 204 when it writes the answer.
    const text = typeof payload === "string" ? payload : Buffer.isBuffer(payload) ? payload.toString() : "";
    const body = reply.statusCode === 204 ? "" : text;
    const answer = {
      method: request.method,
      route,
      status: reply.statusCode,
      headers: reply.getHeaders(),
      body,
    };
    violations.push(...validator.check(answer));
    exercised.add(`${request.method} ${route.replace(/:(\w+)/g, "{$1}")} ${reply.statusCode}`);
    return payload;
  });
}

/**
 * The app as the tests use it: silent, two workers, an in-memory database, defaults otherwise
 * (`env` overrides; `DATA_DIR` for a test of persistence). Every answer is checked against the
 * OpenAPI document it serves (`checkAnswersAgainstContract`).
 */
export async function buildTestApp(env: Record<string, string> = {}): Promise<FastifyInstance> {
  const app = await buildApp({
    config: loadConfig({ POOL_SIZE: "2", DATA_DIR: ":memory:", ...env }),
    logger: false,
  });
  checkAnswersAgainstContract(app);
  await app.ready();
  return app;
}

/** A small classifier over 2 features, for the error cases. */
export function tinyModel(loss = "sparseCategoricalCrossentropy") {
  return {
    inputShape: [2],
    layers: [
      { type: "dense", units: 4, activation: "tanh" },
      { type: "dense", units: 3, activation: "softmax" },
    ],
    loss,
  };
}

export const sgd = { type: "sgd", learningRate: 0.1 };

/** Parsed problem+json, with its content type checked by the caller. */
export interface ProblemBody {
  type: string;
  title: string;
  status: number;
  detail: string;
  errors?: { path: string; message: string }[];
}

/** `GET /jobs/{id}`'s answer. */
export async function getJob(app: FastifyInstance, id: string): Promise<Job> {
  return (await app.inject({ method: "GET", url: `/jobs/${id}` })).json();
}

/** Polls until `until(job)` holds (default: the job has ended). */
export async function waitForJob(
  app: FastifyInstance,
  id: string,
  until: (j: Job) => boolean = (j) => !["queued", "running"].includes(j.status),
  timeoutMs = 20_000,
): Promise<Job> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const job = await getJob(app, id);
    if (until(job)) return job;
    if (performance.now() > deadline)
      throw new Error(`job ${id} still ${job.status} at epoch ${job.progress.epoch}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
