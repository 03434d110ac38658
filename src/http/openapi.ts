import type { SwaggerTransformObject } from "@fastify/swagger";
import { jsonSchemaTransformObject } from "fastify-type-provider-zod";
import { namedRequestExamples } from "../schemas/examples.js";
import { isPublicRoute } from "./plugins/security.js";

type Json = unknown;

/** Every `#/components/schemas/<name>` referenced under `value`. */
function refsIn(value: Json, found: Set<string>): void {
  if (Array.isArray(value)) for (const v of value) refsIn(v, found);
  else if (value !== null && typeof value === "object")
    for (const [k, v] of Object.entries(value)) {
      if (k === "$ref" && typeof v === "string" && v.startsWith("#/components/schemas/"))
        found.add(v.slice("#/components/schemas/".length));
      else refsIn(v, found);
    }
}

/**
 * fastify-type-provider-zod's components, minus the ones no route reaches: it emits every
 * registered schema twice (`X` for responses, `XInput` for requests) whether used or not.
 */
export const transformObject: SwaggerTransformObject = (documentObject) => {
  const doc = jsonSchemaTransformObject(documentObject) as {
    paths?: Json;
    components?: { schemas?: Record<string, Json> };
  };
  addNamedExamples(doc.paths);
  tidyMediaTypes(doc.paths);
  addSecurity(doc);
  const schemas = doc.components?.schemas;
  if (!schemas) return doc as ReturnType<SwaggerTransformObject>;
  const reached = new Set<string>();
  refsIn(doc.paths, reached);
  // Close over references between components.
  for (let queue = [...reached]; queue.length > 0; ) {
    const next = new Set<string>();
    for (const name of queue) refsIn(schemas[name], next);
    queue = [...next].filter((n) => !reached.has(n));
    for (const n of queue) reached.add(n);
  }
  const kept = Object.fromEntries(Object.entries(schemas).filter(([name]) => reached.has(name)));
  return { ...doc, components: { ...doc.components, schemas: kept } } as ReturnType<SwaggerTransformObject>;
};

/** Puts `namedRequestExamples` on each POST operation's JSON request body (Swagger UI's menu). */
function addNamedExamples(paths: Json): void {
  type Media = { example?: unknown; examples?: unknown };
  const table = paths as Record<string, { post?: { requestBody?: { content?: Record<string, Media> } } }>;
  for (const [path, examples] of Object.entries(namedRequestExamples)) {
    const media = table?.[path]?.post?.requestBody?.content?.["application/json"];
    if (!media) continue;
    // OpenAPI 3.0: `example` and `examples` exclude each other; the first named one is the default.
    delete media.example;
    media.examples = examples;
  }
}

/**
 * Media types zod cannot say per content type: a body offered as JSON or CSV (a union of an
 * object and a string) gets the object under application/json and the string under text/csv;
 * a 204 answer has no content.
 */
function tidyMediaTypes(paths: Json): void {
  type Schema = { anyOf?: Schema[]; type?: string };
  type Operation = {
    requestBody?: { content?: Record<string, { schema?: Schema }> };
    responses?: Record<string, { content?: unknown }>;
  };
  for (const item of Object.values((paths ?? {}) as Record<string, Record<string, Operation>>))
    for (const op of Object.values(item)) {
      if (op.responses?.["204"]) delete op.responses["204"].content;
      const content = op.requestBody?.content;
      const branches = content?.["text/csv"]?.schema?.anyOf;
      if (!content || !branches) continue;
      const text = branches.find((b) => b.type === "string");
      const json = branches.filter((b) => b !== text);
      if (!text || json.length !== 1) continue;
      content["text/csv"] = { schema: text };
      if (content["application/json"]) content["application/json"] = { schema: json[0]! };
    }
}

const problemRef = (description: string) => ({
  description,
  content: { "application/problem+json": { schema: { $ref: "#/components/schemas/Problem" } } },
});

/**
 * The API key (security plugin) in the document: two schemes, either accepted, required by
 * every operation but the public ones, which also document 401 and 429. Swagger UI's
 * "Authorize" button then sends the key with "Try it out".
 */
function addSecurity(doc: { paths?: Json; components?: Record<string, unknown> }): void {
  const only = "Required only when the server sets API_KEYS.";
  doc.components = {
    ...doc.components,
    securitySchemes: {
      bearerAuth: {
        type: "http",
        scheme: "bearer",
        description: `An API key, sent as \`Authorization: Bearer <key>\`. ${only}`,
      },
      apiKeyHeader: {
        type: "apiKey",
        in: "header",
        name: "x-api-key",
        description: `The same API key, sent as \`x-api-key: <key>\`. ${only}`,
      },
    },
  };
  type Operation = { security?: unknown; responses?: Record<string, unknown> };
  for (const [path, item] of Object.entries((doc.paths ?? {}) as Record<string, Record<string, Operation>>)) {
    if (isPublicRoute(path)) continue;
    for (const op of Object.values(item)) {
      op.security = [{ bearerAuth: [] }, { apiKeyHeader: [] }];
      op.responses = {
        ...op.responses,
        401: problemRef(`No valid API key (\`/problems/unauthorized\`, with WWW-Authenticate). ${only}`),
        429: problemRef(
          "More than RATE_LIMIT_MAX requests in RATE_LIMIT_WINDOW_MS from this API key (or IP address) " +
            "(`/problems/rate-limited`); see Retry-After. Only when the server sets RATE_LIMIT_MAX.",
        ),
      };
    }
  }
}
