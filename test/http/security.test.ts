/**
 * Access control and protective headers: API keys (API_KEYS) with per-key ownership of jobs and
 * stored data sets, rate limits (RATE_LIMIT_MAX), security headers (helmet) and CORS.
 */
import { IncomingMessage, ServerResponse } from "node:http";
import { Socket } from "node:net";
import type { FastifyInstance, InjectOptions } from "fastify";
import helmet from "helmet";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { renderOpenapi } from "../../src/http/openapi-document.js";
import { helmetHeaders } from "../../src/http/plugins/security.js";
import { ownerOf } from "../../src/service/auth.js";
import { xor } from "../fixtures.js";
import { buildTestApp, type ProblemBody } from "./helper.js";

const KEY_A = "key-a-0123456789abcdef";
const KEY_B = "key-b-0123456789abcdef";
const bearer = (key: string) => ({ authorization: `Bearer ${key}` });

const xorTrain = (dataset: object) => ({
  model: {
    inputShape: [2],
    layers: [
      { type: "dense", units: 4, activation: "tanh" },
      { type: "dense", units: 2, activation: "softmax" },
    ],
    loss: "sparseCategoricalCrossentropy",
  },
  dataset,
  optimizer: { type: "adam", learningRate: 0.05 },
  epochs: 3,
  seed: 5,
});

function expectProblem(
  res: { statusCode: number; headers: Record<string, unknown>; json(): unknown },
  status: number,
  type: string,
) {
  expect(res.statusCode).toBe(status);
  expect(res.headers["content-type"]).toMatch(/^application\/problem\+json/);
  expect(res.json()).toMatchObject({ status, type });
}

describe("API keys (API_KEYS set)", () => {
  let app: FastifyInstance;
  beforeAll(async () => {
    app = await buildTestApp({ API_KEYS: `${KEY_A}, ${KEY_B}`, MAX_CONCURRENT_JOBS: "1" });
  });
  afterAll(async () => {
    await app.close();
  });
  const as = (key: string | undefined, opts: InjectOptions) =>
    app.inject({ ...opts, headers: { ...opts.headers, ...(key ? bearer(key) : {}) } });

  it("answers 401 problem+json without a valid key, before reading the body", async () => {
    const none = await app.inject({ method: "GET", url: "/jobs" });
    expectProblem(none, 401, "/problems/unauthorized");
    expect(none.headers["www-authenticate"]).toBe('Bearer realm="api"');
    expect((none.json() as ProblemBody).detail).toMatch(/Authorization: Bearer <key>.*x-api-key/);
    for (const headers of [
      bearer("not-a-key-0123456789"),
      { authorization: `Basic ${Buffer.from(`u:${KEY_A}`).toString("base64")}` },
      { authorization: "Bearer" },
      { "x-api-key": `${KEY_A}x` },
    ]) {
      const wrong = await app.inject({ method: "GET", url: "/jobs", headers });
      expectProblem(wrong, 401, "/problems/unauthorized");
      expect(wrong.headers["www-authenticate"]).toMatch(/error="invalid_token"/);
      expect(wrong.body).not.toContain(KEY_A);
    }
    // Malformed JSON with no key is a 401, not a 400: nothing is parsed for an anonymous client.
    const unparsed = await app.inject({
      method: "POST",
      url: "/train",
      payload: "{not json",
      headers: { "content-type": "application/json" },
    });
    expectProblem(unparsed, 401, "/problems/unauthorized");
    for (const url of ["/metrics", "/datasets", "/no-such-route"])
      expect((await app.inject({ method: "GET", url })).statusCode, url).toBe(401);
    // With a key, an unknown route is an ordinary 404.
    expect((await as(KEY_A, { method: "GET", url: "/no-such-route" })).statusCode).toBe(404);
  });

  it("accepts the key as Authorization: Bearer or x-api-key", async () => {
    const train = xorTrain({ name: "xor" });
    const viaBearer = await as(KEY_A, { method: "POST", url: "/train", payload: train });
    expect(viaBearer.statusCode, viaBearer.body).toBe(200);
    const viaHeader = await app.inject({
      method: "POST",
      url: "/train",
      payload: train,
      headers: { "x-api-key": KEY_B },
    });
    expect(viaHeader.statusCode).toBe(200);
    expect(viaHeader.json().weightsSha256).toBe(viaBearer.json().weightsSha256);
    expect((await as(KEY_A, { method: "GET", url: "/metrics" })).statusCode).toBe(200);
  });

  it("keeps the probes, the documentation and the playground public", async () => {
    for (const url of [
      "/health",
      "/ready",
      "/docs",
      "/docs/json",
      "/docs/static/swagger-ui.css",
      "/",
      "/playground/app.css",
    ]) {
      const res = await app.inject({ method: "GET", url });
      expect(res.statusCode, url).toBe(200);
    }
  });

  it("gives each key its own jobs and stored data sets: another key gets 404, lists show only one's own", async () => {
    const stored = await as(KEY_A, { method: "POST", url: "/datasets", payload: { name: "xor-a", ...xor } });
    expect(stored.statusCode).toBe(201);
    const dsId = stored.json().id as string;
    const job = await as(KEY_A, {
      method: "POST",
      url: "/jobs",
      payload: xorTrain({ id: dsId }),
      headers: { "idempotency-key": "same-key" },
    });
    expect(job.statusCode, job.body).toBe(202);
    const jobId = job.json().id as string;

    // The owner sees them.
    expect((await as(KEY_A, { method: "GET", url: `/jobs/${jobId}` })).statusCode).toBe(200);
    expect((await as(KEY_A, { method: "GET", url: `/datasets/${dsId}` })).statusCode).toBe(200);
    expect(
      (await as(KEY_A, { method: "GET", url: "/jobs" })).json().jobs.map((j: { id: string }) => j.id),
    ).toEqual([jobId]);
    expect((await as(KEY_A, { method: "GET", url: "/datasets" })).json().stored).toHaveLength(1);

    // Another key: 404 everywhere, empty lists, and the data set cannot be trained on.
    for (const opts of [
      { method: "GET", url: `/jobs/${jobId}` },
      { method: "GET", url: `/jobs/${jobId}/events` },
      { method: "POST", url: `/jobs/${jobId}/cancel` },
      { method: "GET", url: `/datasets/${dsId}` },
      { method: "DELETE", url: `/datasets/${dsId}` },
      { method: "POST", url: "/train", payload: xorTrain({ id: dsId }) },
      { method: "POST", url: "/jobs", payload: xorTrain({ id: dsId }) },
    ] as InjectOptions[]) {
      expectProblem(await as(KEY_B, opts), 404, "/problems/not-found");
    }
    expect((await as(KEY_B, { method: "GET", url: "/jobs" })).json().jobs).toEqual([]);
    expect((await as(KEY_B, { method: "GET", url: "/datasets" })).json().stored).toEqual([]);
    expect((await as(KEY_B, { method: "GET", url: `/jobs?after=${jobId}` })).statusCode).toBe(400);

    // Idempotency keys are per owner: B's "same-key" makes B's own job, not a replay of A's.
    const other = await as(KEY_B, {
      method: "POST",
      url: "/jobs",
      payload: xorTrain({ name: "xor" }),
      headers: { "idempotency-key": "same-key" },
    });
    expect(other.statusCode).toBe(202);
    expect(other.headers["idempotent-replayed"]).toBeUndefined();
    expect(other.json().id).not.toBe(jobId);
    const replay = await as(KEY_A, {
      method: "POST",
      url: "/jobs",
      payload: xorTrain({ id: dsId }),
      headers: { "idempotency-key": "same-key" },
    });
    expect(replay.headers["idempotent-replayed"]).toBe("true");
    expect(replay.json().id).toBe(jobId);

    // The database holds a hash of each key, never the key.
    const owners = app.store.db
      .prepare("SELECT owner FROM jobs UNION SELECT owner FROM datasets")
      .pluck()
      .all();
    expect(owners.sort()).toEqual([ownerOf(KEY_A), ownerOf(KEY_B)].sort());
    expect(JSON.stringify(owners)).not.toContain("0123456789abcdef");
  });
});

describe("without API_KEYS", () => {
  it("needs no key and everything belongs to anonymous", async () => {
    const app = await buildTestApp();
    try {
      const res = await app.inject({ method: "POST", url: "/datasets", payload: xor });
      expect(res.statusCode).toBe(201);
      // A key sent anyway is ignored.
      expect(
        (await app.inject({ method: "GET", url: "/datasets", headers: bearer("whatever") })).statusCode,
      ).toBe(200);
      expect(app.store.db.prepare("SELECT owner FROM datasets").pluck().all()).toEqual(["anonymous"]);
    } finally {
      await app.close();
    }
  });
});

describe("rate limits (RATE_LIMIT_MAX)", () => {
  it("answers 429 problem+json with Retry-After past the limit, per key, never on the probes", async () => {
    const app = await buildTestApp({
      API_KEYS: `${KEY_A},${KEY_B}`,
      RATE_LIMIT_MAX: "3",
      RATE_LIMIT_WINDOW_MS: "60000",
    });
    try {
      const get = (headers: Record<string, string>, url = "/datasets") =>
        app.inject({ method: "GET", url, headers });
      for (let i = 0; i < 3; i++) {
        const ok = await get(bearer(KEY_A));
        expect(ok.statusCode).toBe(200);
        expect(ok.headers["x-ratelimit-remaining"]).toBe(String(2 - i));
      }
      const limited = await get(bearer(KEY_A));
      expectProblem(limited, 429, "/problems/rate-limited");
      expect(Number(limited.headers["retry-after"])).toBeGreaterThan(0);
      expect(Number(limited.headers["retry-after"])).toBeLessThanOrEqual(60);
      expect((limited.json() as ProblemBody).detail).toContain("RATE_LIMIT_MAX");
      // x-api-key is the same client as Bearer.
      expect((await get({ "x-api-key": KEY_A })).statusCode).toBe(429);
      // Another key has its own budget; probes are never limited.
      expect((await get(bearer(KEY_B))).statusCode).toBe(200);
      for (let i = 0; i < 5; i++) expect((await get({}, "/health")).statusCode).toBe(200);
      // Without a valid key the client is its IP address, limited before the 401: guessing keys is slow too.
      const guesses = [];
      for (let i = 0; i < 4; i++) guesses.push((await get(bearer(`guess-${i}-0123456789abcdef`))).statusCode);
      expect(guesses).toEqual([401, 401, 401, 429]);
    } finally {
      await app.close();
    }
  });
});

/** The names of an answer's headers as set, in order and spelling (Node's `getRawHeaderNames`). */
const rawNames = (res: ServerResponse) =>
  (res as unknown as { getRawHeaderNames(): string[] }).getRawHeaderNames();

describe("security headers and CORS", () => {
  let app: FastifyInstance;
  beforeAll(async () => {
    app = await buildTestApp({ CORS_ORIGINS: "https://app.example", API_KEYS: KEY_A });
  });
  afterAll(async () => {
    await app.close();
  });

  it("sends helmet's headers with a CSP that Swagger UI and the playground satisfy", async () => {
    for (const url of ["/docs", "/", "/health"]) {
      const res = await app.inject({ method: "GET", url });
      expect(res.statusCode, url).toBe(200);
      const csp = String(res.headers["content-security-policy"]);
      expect(csp).toContain("default-src 'self'");
      expect(csp).toContain("script-src 'self'");
      expect(csp).not.toContain("script-src 'self' 'unsafe-inline'");
      expect(csp).toContain("frame-ancestors 'none'");
      expect(csp).not.toContain("upgrade-insecure-requests");
      expect(res.headers["x-content-type-options"]).toBe("nosniff");
      expect(res.headers["strict-transport-security"]).toMatch(/max-age=\d+/);
      expect(res.headers["x-powered-by"]).toBeUndefined();
    }
    // Swagger UI's page loads only scripts of this origin (no inline script the CSP would block).
    const page = await app.inject({ method: "GET", url: "/docs" });
    expect(page.body).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
    const scripts = [...page.body.matchAll(/<script[^>]*\bsrc="([^"]+)"/g)].map((m) => m[1]!);
    expect(scripts.length).toBeGreaterThan(0);
    for (const src of scripts) {
      expect(src).not.toMatch(/^(https?:)?\/\//);
      const res = await app.inject({ method: "GET", url: new URL(src, "http://x/docs").pathname });
      expect(res.statusCode, src).toBe(200);
    }
    // Problems carry the headers too.
    const problem = await app.inject({ method: "GET", url: "/jobs" });
    expect(problem.headers["x-content-type-options"]).toBe("nosniff");
  });

  it("sets exactly what helmet's own middleware sets, in its order and spelling, without running it", async () => {
    const options = {
      contentSecurityPolicy: {
        useDefaults: false,
        directives: { defaultSrc: ["'self'"], imgSrc: ["data:"] },
      },
    };
    for (const opts of [options, {}]) {
      const byHelmet = new ServerResponse(new IncomingMessage(new Socket()));
      byHelmet.setHeader("X-Powered-By", "something");
      helmet(opts)(byHelmet.req, byHelmet, () => {});
      const recorded = new ServerResponse(new IncomingMessage(new Socket()));
      recorded.setHeader("X-Powered-By", "something");
      for (const [op, name, value] of helmetHeaders(opts))
        if (op === "set") recorded.setHeader(name, value);
        else recorded.removeHeader(name);
      expect(rawNames(recorded)).toEqual(rawNames(byHelmet));
      expect(recorded.getHeaders()).toEqual(byHelmet.getHeaders());
      expect(recorded.hasHeader("x-powered-by")).toBe(false);
    }
    // The app's answers start with them.
    const res = await app.inject({ method: "GET", url: "/health" });
    const names = rawNames(res.raw.res as unknown as ServerResponse);
    expect(names.slice(0, 3)).toEqual([
      "Content-Security-Policy",
      "Cross-Origin-Opener-Policy",
      "Cross-Origin-Resource-Policy",
    ]);
  });

  it("answers CORS preflights for allowed origins without a key, and exposes the headers clients need", async () => {
    const preflight = await app.inject({
      method: "OPTIONS",
      url: "/train",
      headers: {
        origin: "https://app.example",
        "access-control-request-method": "POST",
        "access-control-request-headers": "content-type, authorization",
      },
    });
    expect(preflight.statusCode).toBe(204);
    expect(preflight.headers["access-control-allow-origin"]).toBe("https://app.example");
    expect(String(preflight.headers["access-control-allow-headers"])).toMatch(
      /authorization.*x-api-key.*idempotency-key/,
    );
    expect(String(preflight.headers["access-control-allow-methods"])).toContain("POST");
    const get = await app.inject({
      method: "GET",
      url: "/datasets",
      headers: { origin: "https://app.example", ...bearer(KEY_A) },
    });
    expect(get.headers["access-control-allow-origin"]).toBe("https://app.example");
    expect(String(get.headers["access-control-expose-headers"])).toMatch(
      /location.*retry-after.*x-request-id/,
    );
    const foreign = await app.inject({
      method: "GET",
      url: "/health",
      headers: { origin: "https://evil.example" },
    });
    expect(foreign.headers["access-control-allow-origin"]).toBeUndefined();
  });

  it("sends no CORS headers by default (same origin only)", async () => {
    const plain = await buildTestApp();
    try {
      const res = await plain.inject({
        method: "GET",
        url: "/health",
        headers: { origin: "https://app.example" },
      });
      expect(res.headers["access-control-allow-origin"]).toBeUndefined();
    } finally {
      await plain.close();
    }
  });
});

describe("the OpenAPI document", () => {
  it("documents the key (bearer and x-api-key) on every protected operation, not on the public ones", async () => {
    const doc = JSON.parse(await renderOpenapi());
    expect(doc.components.securitySchemes).toEqual({
      bearerAuth: expect.objectContaining({ type: "http", scheme: "bearer" }),
      apiKeyHeader: expect.objectContaining({ type: "apiKey", in: "header", name: "x-api-key" }),
    });
    for (const [path, item] of Object.entries(
      doc.paths as Record<string, Record<string, { security?: unknown; responses: Record<string, unknown> }>>,
    ))
      for (const [method, op] of Object.entries(item)) {
        const isPublic = path === "/health" || path === "/ready";
        if (isPublic) expect(op.security, `${method} ${path}`).toBeUndefined();
        else {
          expect(op.security, `${method} ${path}`).toEqual([{ bearerAuth: [] }, { apiKeyHeader: [] }]);
          expect(op.responses).toHaveProperty("401");
          expect(op.responses).toHaveProperty("429");
        }
      }
    expect(doc.paths["/train"].post.responses).toHaveProperty("504");
    expect(doc.paths["/jobs"].post.responses).not.toHaveProperty("504");
  });
});
