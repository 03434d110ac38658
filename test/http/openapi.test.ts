/** The OpenAPI document: committed copy up to date, valid OpenAPI 3.0, served with Swagger UI. */
import { readFile } from "node:fs/promises";
import SwaggerParser from "@apidevtools/swagger-parser";
import { describe, expect, it } from "vitest";
import { OPENAPI_PATH, renderOpenapi } from "../../src/http/openapi-document.js";
import { buildTestApp } from "./helper.js";

describe("OpenAPI", () => {
  it(`${OPENAPI_PATH} is what the routes produce (run \`npm run openapi\` after changing them)`, async () => {
    const committed = await readFile(new URL(`../../${OPENAPI_PATH}`, import.meta.url), "utf8");
    expect(committed).toBe(await renderOpenapi());
  });

  it("is a valid OpenAPI 3.0 document with named components and ready examples", async () => {
    const doc = JSON.parse(await renderOpenapi());
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
      "/predict",
      "/ready",
      "/train",
    ]);
    // One body, two media types: the object as JSON, the text as CSV.
    const upload = doc.paths["/datasets"].post.requestBody.content;
    expect(upload["application/json"].schema.$ref).toBe("#/components/schemas/StoreDatasetJsonInput");
    expect(upload["text/csv"].schema.type).toBe("string");
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
