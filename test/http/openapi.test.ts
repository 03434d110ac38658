/** The OpenAPI document: committed copy up to date, valid OpenAPI 3.1, served with Swagger UI. */
import { readFile } from "node:fs/promises";
import SwaggerParser from "@apidevtools/swagger-parser";
import { describe, expect, it } from "vitest";
import pkg from "../../package.json" with { type: "json" };
import { ENGINE_VERSION } from "../../src/engine/index.js";
import { OPENAPI_PATH, renderOpenapi } from "../../src/http/openapi-document.js";
import { buildTestApp } from "./helper.js";

describe("OpenAPI", () => {
  it(`${OPENAPI_PATH} is what the routes produce (run \`npm run openapi\` after changing them)`, async () => {
    const committed = await readFile(new URL(`../../${OPENAPI_PATH}`, import.meta.url), "utf8");
    expect(committed).toBe(await renderOpenapi());
  });

  it("is a valid OpenAPI 3.1 document with named components and ready examples", async () => {
    const doc = JSON.parse(await renderOpenapi());
    expect(doc.openapi).toBe("3.1.0");
    await SwaggerParser.validate(structuredClone(doc));
    expect(Object.keys(doc.paths).sort()).toEqual([
      "/datasets",
      "/datasets/{id}",
      "/gradients",
      "/health",
      "/jobs",
      "/jobs/{id}",
      "/jobs/{id}/cancel",
      "/jobs/{id}/events",
      "/metrics",
      "/models",
      "/models/{id}",
      "/models/{id}/gradients",
      "/models/{id}/onnx",
      "/models/{id}/predict",
      "/models/{id}/tfjs/model.json",
      "/models/{id}/tfjs/weights.bin",
      "/predict",
      "/ready",
      "/train",
      "/tuning-jobs",
      "/tuning-jobs/{id}",
      "/tuning-jobs/{id}/cancel",
      "/tuning-jobs/{id}/events",
      "/webhooks",
      "/webhooks/{id}",
      "/webhooks/{id}/deliveries",
      "/webhooks/{id}/rotate-secret",
    ]);
    // One body, two media types: the object as JSON, the text as CSV.
    const upload = doc.paths["/datasets"].post.requestBody.content;
    expect(upload["application/json"].schema.$ref).toBe("#/components/schemas/StoreDatasetJsonInput");
    expect(upload["text/csv"].schema.type).toBe("string");
    expect(Object.keys(upload["application/json"].examples)).toEqual(["xor", "taggedSequences"]);
    expect(doc.paths["/jobs/{id}/events"].get.responses["200"].content).toHaveProperty("text/event-stream");
    for (const name of [
      "ModelSpecInput",
      "LayerInput",
      "DenseLayerInput",
      "OptimizerInput",
      "Problem",
      "TrainResponse",
    ])
      expect(doc.components.schemas).toHaveProperty(name);
    for (const path of ["/train", "/gradients", "/predict"]) {
      const op = doc.paths[path].post;
      const examples = Object.values(op.requestBody.content["application/json"].examples);
      expect(examples.length).toBeGreaterThan(0);
      for (const e of examples as { summary: string; value: unknown }[]) {
        expect(e.summary).toBeTypeOf("string");
        expect(e.value).toBeTypeOf("object");
      }
      expect(op.responses["422"].content["application/problem+json"].schema.$ref).toBe(
        "#/components/schemas/Problem",
      );
    }
  });

  it("says what it means: no nullable, integers, real descriptions, headers, every status", async () => {
    const text = await renderOpenapi();
    const doc = JSON.parse(text);
    // OpenAPI 3.1: null is a type (`["number", "null"]`); 3.0's `nullable` appears nowhere.
    expect(text).not.toContain('"nullable"');
    expect(text).not.toContain("Default Response");
    expect(text).not.toContain("additionalProp1");
    expect(doc.components.schemas.TensorValue.anyOf[0]).toEqual({ type: ["number", "null"] });
    expect(doc.components.schemas.GradientsResponse.properties.loss.type).toBe("number");
    expect(doc.components.schemas.TrainResponse.properties.weights.$ref).toBe("#/components/schemas/Weights");
    const param = (path: string, method: string, name: string) =>
      doc.paths[path][method].parameters.find((p: { name: string }) => p.name === name).schema;
    expect(param("/jobs", "post", "priority")).toEqual({
      type: "integer",
      minimum: 1,
      maximum: 1000,
      default: 100,
    });
    expect(param("/jobs", "get", "limit")).toEqual({
      type: "integer",
      minimum: 1,
      maximum: 100,
      default: 20,
    });
    expect(param("/datasets", "get", "limit")).toEqual({
      type: "integer",
      minimum: 1,
      maximum: 100,
      default: 20,
    });
    expect(param("/jobs/{id}/events", "get", "lastEventId")).toEqual({
      type: "integer",
      minimum: 0,
      maximum: 999_999_999,
    });
    for (const [path, item] of Object.entries(doc.paths) as [
      string,
      Record<string, { responses: Record<string, { description: string; headers: object }> }>,
    ][])
      for (const [method, op] of Object.entries(item))
        for (const [status, response] of Object.entries(op.responses)) {
          const where = `${method} ${path} ${status}`;
          expect(response.description, where).toMatch(/\w/);
          expect(response.headers, where).toHaveProperty("X-Request-Id");
          if (path !== "/health" && path !== "/ready") {
            expect(op.responses, `${method} ${path}`).toHaveProperty("401");
            expect(response.headers, where).toHaveProperty("X-RateLimit-Remaining");
          }
          if (path.includes("{id}")) expect(op.responses, `${method} ${path}`).toHaveProperty("400");
          if (status === "401") expect(response.headers, where).toHaveProperty("WWW-Authenticate");
          if (status === "429") expect(response.headers, where).toHaveProperty("Retry-After");
        }
    expect(doc.paths["/jobs"].post.responses["202"].headers).toHaveProperty("Location");
    expect(doc.paths["/jobs"].post.responses["202"].headers).toHaveProperty("Idempotent-Replayed");
    expect(doc.paths["/datasets"].post.responses["201"].headers).toHaveProperty("Location");
    expect(doc.paths["/train"].post.responses["503"].headers).toHaveProperty("Retry-After");
    expect(doc.components.responses.MethodNotAllowed.headers).toHaveProperty("Allow");
    expect(doc.paths["/jobs/{id}/events"].get.responses["400"].description).toMatch(/Last-Event-ID/);
    expect(doc.info.description).toMatch(
      /committed copy \(openapi\/openapi.json\) is rendered with both set/,
    );
    // Two versions, each said once: the API's is the package's, the engine's is every answer's engineVersion.
    expect(doc.info.version).toBe(pkg.version);
    expect(doc.info.description).toContain(
      `\`info.version\` (${pkg.version}) is the service's, package.json's, and versions this API. ` +
        `The engine that trains has its own, ${ENGINE_VERSION}: every training answer's \`engineVersion\``,
    );
    expect(text).not.toContain("openapi-document-placeholder-key");
    // The weights map example is a real one, not Swagger UI's `additionalProp1`.
    const example = doc.paths["/train"].post.responses["200"].content["application/json"].examples.xor.value;
    expect(Object.keys(example.weights)).toEqual([
      "dense_0/kernel",
      "dense_0/bias",
      "dense_1/kernel",
      "dense_1/bias",
    ]);
  });

  it("is served at /docs/json with Swagger UI at /docs", async () => {
    const app = await buildTestApp({ POOL_SIZE: "1" });
    try {
      const json = await app.inject({ method: "GET", url: "/docs/json" });
      expect(json.statusCode).toBe(200);
      expect(json.json().paths).toHaveProperty("/train");
      const ui = await app.inject({ method: "GET", url: "/docs" });
      expect(ui.statusCode).toBe(200);
      expect(ui.body).toContain("swagger");
    } finally {
      await app.close();
    }
  });
});
