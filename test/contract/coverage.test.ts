/**
 * The served OpenAPI document against real answers: every operation's every documented success
 * is exercised here (each answer checked with ajv by the shared test app), the response examples
 * are real answers, a path id over its length is a 400 with the usual headers, and security is
 * documented only when the server has API keys.
 */
import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  gradientsExample,
  importNativeExample,
  namedRequestExamples,
  predictExample,
  trainXorExample,
} from "../../src/schemas/examples.js";
import {
  importModelJsonExample,
  modelGradientsExample,
  modelPredictExample,
} from "../../src/schemas/examples-models.js";
import { responseExamples } from "../../src/schemas/response-examples.js";
import { tuningExample } from "../../src/schemas/tuning-examples.js";
import { buildTestApp, exercised, sgd } from "../http/helper.js";
import { storeModel } from "../http/models-helpers.js";
import { ContractValidator } from "./openapi-validator.js";

let app: FastifyInstance;
let validator: ContractValidator;

beforeAll(async () => {
  app = await buildTestApp({ POOL_SIZE: "1" });
  validator = new ContractValidator(app.swagger() as never);
});
afterAll(async () => {
  await app.close();
});

const xorJob = {
  model: {
    inputShape: [2],
    layers: [{ type: "dense", units: 1, activation: "sigmoid" }],
    loss: "binaryCrossentropy",
  },
  dataset: { name: "xor" },
  optimizer: sgd,
};

/** Polls a job until it has finished. */
async function finished(id: string): Promise<{ status: string }> {
  for (let i = 0; i < 200; i++) {
    const job = (await app.inject({ method: "GET", url: `/jobs/${id}` })).json();
    if (["succeeded", "failed", "cancelled"].includes(job.status)) return job;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`job ${id} did not finish`);
}

describe("the served document, against every operation's answers", () => {
  it("sees every documented success of every operation, each answer valid by the document", async () => {
    const ok = async (method: "GET" | "POST" | "DELETE", url: string, status: number, payload?: object) => {
      const res = await app.inject({ method, url, ...(payload ? { payload } : {}) });
      expect(res.statusCode, `${method} ${url}: ${res.body.slice(0, 300)}`).toBe(status);
      return res;
    };
    await ok("GET", "/health", 200);
    await ok("GET", "/ready", 200);
    await ok("GET", "/metrics", 200);
    await ok("GET", "/datasets?limit=5", 200);
    const stored = (await ok("POST", "/datasets", 201, { x: [[0], [1]], y: [0, 1] })).json();
    await ok("GET", `/datasets/${stored.id}`, 200);
    await ok("DELETE", `/datasets/${stored.id}`, 204);
    await ok("POST", "/train", 200, trainXorExample);
    await ok("POST", "/gradients", 200, gradientsExample);
    await ok("POST", "/predict", 200, predictExample);

    const done = (await ok("POST", "/jobs?priority=5", 202, { ...xorJob, epochs: 2 })).json();
    await ok("GET", "/jobs?limit=10", 200);
    expect((await finished(done.id)).status).toBe("succeeded");
    await ok("GET", `/jobs/${done.id}`, 200);
    const long = (await ok("POST", "/jobs", 202, { ...xorJob, epochs: 1_000 })).json();
    await ok("POST", `/jobs/${long.id}/cancel`, 200);
    await ok("GET", `/jobs/${done.id}/events?lastEventId=3`, 204);

    // A tuning job: the Swagger example, two short trials; and one cancelled.
    const search = { ...tuningExample, base: { ...tuningExample.base, epochs: 2 }, maxTrials: 2 };
    const tuned = (await ok("POST", "/tuning-jobs", 202, search)).json();
    await ok("GET", "/tuning-jobs?limit=5", 200);
    for (let i = 0; i < 400; i++) {
      if ((await ok("GET", `/tuning-jobs/${tuned.id}`, 200)).json().status !== "running") break;
      await new Promise((r) => setTimeout(r, 25));
    }
    expect((await ok("GET", `/tuning-jobs/${tuned.id}`, 200)).json().status).toBe("succeeded");
    const tuningStream = await ok("GET", `/tuning-jobs/${tuned.id}/events`, 200);
    expect(tuningStream.body).toContain("event: succeeded");
    expect(
      validator.check({
        method: "GET",
        route: "/tuning-jobs/:id/events",
        status: 200,
        headers: tuningStream.headers,
        body: tuningStream.body,
      }),
    ).toEqual([]);
    exercised.add("GET /tuning-jobs/{id}/events 200");
    const events = tuningStream.body.match(/^id: \d+$/gm)!.length;
    await ok("GET", `/tuning-jobs/${tuned.id}/events?lastEventId=${events}`, 204);
    const longSearch = (
      await ok("POST", "/tuning-jobs", 202, { ...search, base: { ...search.base, epochs: 1_000 } })
    ).json();
    await ok("POST", `/tuning-jobs/${longSearch.id}/cancel`, 200);

    // The registry: a stored model, its exports, and the import of its own export.
    const spec = structuredClone(predictExample.model) as unknown as Parameters<typeof storeModel>[1];
    const id = await storeModel(
      app,
      spec,
      structuredClone(predictExample.weights) as unknown as Parameters<typeof storeModel>[2],
    );
    await ok("GET", "/models?limit=5", 200);
    await ok("GET", `/models/${id}`, 200);
    await ok("POST", `/models/${id}/predict`, 200, { x: predictExample.x });
    await ok("POST", `/models/${id}/gradients`, 200, { x: predictExample.x[0]!, y: 1, training: false });
    const modelJson = (await ok("GET", `/models/${id}/tfjs/model.json`, 200)).json();
    const weightsBin = (await ok("GET", `/models/${id}/tfjs/weights.bin`, 200)).rawPayload;
    await ok("GET", `/models/${id}/onnx`, 200);
    const imported = (
      await ok("POST", "/models", 201, { ...modelJson, weightData: weightsBin.toString("base64") })
    ).json();
    await ok("DELETE", `/models/${imported.id}`, 204);

    // The Swagger examples of the registry: POST /models in both forms predicts XOR as
    // predictExample's weights do; the model /train's saveLean example stores takes the iris ones.
    for (const body of [importNativeExample, importModelJsonExample]) {
      const model = (await ok("POST", "/models", 201, body)).json();
      const outputs = (await ok("POST", `/models/${model.id}/predict`, 200, { x: predictExample.x })).json();
      expect(outputs.outputs.map(([o]: number[]) => Math.round(o!))).toEqual([0, 1, 1, 0]);
      await ok("DELETE", `/models/${model.id}`, 204);
    }
    const saveLean = namedRequestExamples["/train"]!.saveLean!.value as object;
    const lean = (await ok("POST", "/train", 200, { ...saveLean, epochs: 1 })).json();
    const predicted = (await ok("POST", `/models/${lean.modelId}/predict`, 200, modelPredictExample)).json();
    expect(predicted.outputs[0]).toHaveLength(3);
    await ok("POST", `/models/${lean.modelId}/gradients`, 200, modelGradientsExample);

    // Webhooks: a public address (no name to resolve), subscribed to an event no job here has.
    const hook = (
      await ok("POST", "/webhooks", 201, { url: "https://8.8.8.8/hook", events: ["job.failed"] })
    ).json();
    await ok("GET", "/webhooks", 200);
    await ok("GET", `/webhooks/${hook.id}`, 200);
    await ok("POST", `/webhooks/${hook.id}/rotate-secret`, 200);
    await ok("GET", `/webhooks/${hook.id}/deliveries?limit=5`, 200);
    await ok("DELETE", `/webhooks/${hook.id}`, 204);

    // The event stream is hijacked (no hook sees it): checked here.
    const stream = await ok("GET", `/jobs/${done.id}/events`, 200);
    expect(stream.body).toContain("event: succeeded");
    const answer = {
      method: "GET",
      route: "/jobs/:id/events",
      status: 200,
      headers: stream.headers,
      body: stream.body,
    };
    expect(validator.check(answer)).toEqual([]);
    exercised.add("GET /jobs/{id}/events 200");

    expect([...exercised].filter((e) => / 2\d\d$/.test(e)).sort()).toEqual(validator.successes().sort());
  });

  it("finds an undocumented status, a body off its schema and a missing required header", () => {
    const headers = { "content-type": "application/json", "x-request-id": "r" };
    const health = { method: "GET", route: "/health", headers };
    expect(validator.check({ ...health, status: 200, body: '{"status":"ok"}' })).toEqual([]);
    expect(validator.check({ ...health, status: 418, body: "{}" })).toEqual([
      "GET /health 418: status not documented",
    ]);
    expect(validator.check({ ...health, status: 200, body: '{"status":"fine"}' })[0]).toMatch(
      /^GET \/health 200: body does not match the schema: body\/status must be equal to constant/,
    );
    expect(
      validator.check({
        ...health,
        status: 200,
        headers: { "content-type": "application/json" },
        body: '{"status":"ok"}',
      }),
    ).toEqual(["GET /health 200: required header X-Request-Id missing"]);
    // Weights with a null cannot come back from /train: the document says they are finite.
    const train = { method: "POST", route: "/train", status: 200, headers };
    const withNull = { ...responseExamples.train, weights: { "dense_1/bias": [null] } };
    expect(validator.check({ ...train, body: JSON.stringify(withNull) })[0]).toMatch(/body\/weights/);
  });

  it("shows real answers as its response examples", async () => {
    const train = (await app.inject({ method: "POST", url: "/train", payload: trainXorExample })).json();
    expect({ ...train, durationMs: 0 }).toEqual({ ...responseExamples.train, durationMs: 0 });
    const gradients = await app.inject({ method: "POST", url: "/gradients", payload: gradientsExample });
    expect(gradients.json()).toEqual(responseExamples.gradients);
    const predict = await app.inject({ method: "POST", url: "/predict", payload: predictExample });
    expect(predict.json()).toEqual(responseExamples.predict);
    const doc = app.swagger() as unknown as {
      paths: Record<
        string,
        { post: { responses: Record<string, { content: Record<string, { examples: object }> }> } }
      >;
    };
    for (const [path, example] of [
      ["/train", responseExamples.train],
      ["/gradients", responseExamples.gradients],
      ["/predict", responseExamples.predict],
    ] as const) {
      const examples = Object.values(
        doc.paths[path]!.post.responses["200"]!.content["application/json"]!.examples,
      );
      expect(examples).toEqual([expect.objectContaining({ value: example })]);
      const answer = { method: "POST", route: path, status: 200, body: JSON.stringify(example) };
      expect(
        validator.check({ ...answer, headers: { "content-type": "application/json", "x-request-id": "r" } }),
      ).toEqual([]);
    }
  });

  it("answers a path id over 100 characters with a 400 naming params.id, with the usual headers", async () => {
    for (const url of [
      `/jobs/${"x".repeat(101)}`,
      `/jobs/${"x".repeat(101)}/events`,
      `/datasets/${"x".repeat(5000)}`,
    ]) {
      const res = await app.inject({ method: "GET", url, headers: { "x-request-id": "long-id" } });
      expect(res.statusCode, url).toBe(400);
      expect(res.headers["content-type"]).toMatch(/^application\/problem\+json/);
      expect(res.headers["x-request-id"]).toBe("long-id");
      expect(res.headers["x-content-type-options"]).toBe("nosniff");
      expect(res.json().errors).toEqual([{ path: "params.id", message: expect.stringMatching(/100/) }]);
    }
  });

  it("documents what a body sent to an operation that takes none gets (a non-empty one is still read)", async () => {
    const cases = [
      ["DELETE", "/datasets/ds_none", "text/plain", "hi", 415],
      ["DELETE", "/datasets/ds_none", "application/json", "{", 400],
      ["POST", "/jobs/none/cancel", "text/plain", "x", 415],
      ["POST", "/jobs/none/cancel", "application/json", "{bad", 400],
    ] as const;
    for (const [method, url, type, payload, status] of cases) {
      const res = await app.inject({ method, url, headers: { "content-type": type }, payload });
      expect(res.statusCode, `${method} ${url} ${type}`).toBe(status);
    }
    // An empty body is no body, whatever its Content-Type (what many clients send by default).
    for (const type of ["application/json", "application/x-www-form-urlencoded", "text/plain"]) {
      for (const [method, url] of [
        ["DELETE", "/datasets/ds_none"],
        ["POST", "/jobs/none/cancel"],
      ] as const) {
        const res = await app.inject({
          method,
          url,
          headers: { "content-type": type, "content-length": "0" },
        });
        expect(res.statusCode, `${method} ${url} ${type}, empty`).toBe(404);
      }
    }
    // The shared app checked each answer against the document; these are the entries it saw.
    for (const seen of [
      "DELETE /datasets/{id} 415",
      "DELETE /datasets/{id} 400",
      "POST /jobs/{id}/cancel 415",
    ])
      expect(exercised).toContain(seen);
  });

  it("asks for an API key only when the server has API_KEYS", async () => {
    const open = app.swagger() as unknown as {
      paths: Record<string, Record<string, { security?: unknown; responses: object }>>;
      components: object;
    };
    const operations = Object.values(open.paths).flatMap((item) => Object.values(item));
    expect(operations.filter((op) => op.security !== undefined)).toEqual([]);
    expect(operations.filter((op) => "401" in op.responses || "429" in op.responses)).toEqual([]);
    expect(open.components).not.toHaveProperty("securitySchemes");

    const keyed = await buildTestApp({
      POOL_SIZE: "1",
      API_KEYS: "contract-test-key-0123456789",
      RATE_LIMIT_MAX: "1000",
    });
    try {
      const doc = keyed.swagger() as unknown as typeof open;
      expect(doc.paths["/train"]!.post!.security).toEqual([{ bearerAuth: [] }, { apiKeyHeader: [] }]);
      expect(doc.paths["/train"]!.post!.responses).toHaveProperty("401");
      expect(doc.paths["/train"]!.post!.responses).toHaveProperty("429");
      expect(doc.paths["/health"]!.get!.security).toBeUndefined();
      // A 401 and a rate-limited answer, checked against that document by the shared app.
      const denied = await keyed.inject({ method: "GET", url: "/jobs" });
      expect(denied.statusCode).toBe(401);
      expect(denied.headers["www-authenticate"]).toMatch(/^Bearer/);
      const allowed = await keyed.inject({
        method: "GET",
        url: "/jobs",
        headers: { authorization: "Bearer contract-test-key-0123456789" },
      });
      expect(allowed.statusCode).toBe(200);
      expect(allowed.headers["x-ratelimit-limit"]).toBe("1000");
    } finally {
      await keyed.close();
    }
  });
});
