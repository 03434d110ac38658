import type { SwaggerTransform, SwaggerTransformObject } from "@fastify/swagger";
import { createJsonSchemaTransform, createJsonSchemaTransformObject } from "fastify-type-provider-zod";
import { MAX_TENSOR_RANK, queryIntegers } from "../schemas/common.js";
import { namedRequestExamples } from "../schemas/examples.js";
import {
  ANSWER_DESCRIPTIONS,
  type ContractOptions,
  EXTRA_PROBLEMS,
  HEADERS,
  type HeaderName,
  RESPONSE_EXAMPLES,
  RESPONSE_HEADERS,
} from "./openapi-responses.js";
import { isPublicRoute } from "./plugins/security.js";
import { MODEL_PART, WEIGHTS_PARTS } from "./routes/model-upload.js";

type Json = unknown;
type JsonObject = Record<string, unknown>;
interface Response {
  description?: string;
  content?: Record<string, { schema?: Json; examples?: unknown; example?: unknown }>;
  headers?: Record<string, unknown>;
}
interface Operation {
  security?: unknown;
  parameters?: { in?: string }[];
  requestBody?: { content?: Record<string, { schema?: { anyOf?: JsonObject[]; type?: string } }> };
  responses?: Record<string, Response>;
}
type Paths = Record<string, Record<string, Operation>>;
interface Document {
  info?: { description?: string };
  paths?: Paths;
  components?: { schemas?: Record<string, Json>; [key: string]: unknown };
}

/**
 * zod → JSON Schema adjustments (the `override` hook of zod's `toJSONSchema`):
 * - a query-string integer (`queryInt`, parsed from a string) is documented as what it means,
 *   `type: integer` with its bounds (and its default, which zod leaves out of an input schema
 *   that transforms);
 * - a union's empty branches are dropped (fastify-type-provider-zod's own default).
 */
function schemaOverride(ctx: { zodSchema: unknown; jsonSchema: JsonObject }): void {
  const { zodSchema, jsonSchema } = ctx;
  const def = (
    zodSchema as { _zod?: { def?: { type?: string; innerType?: unknown; defaultValue?: unknown } } }
  )._zod?.def;
  const bounds = queryIntegers.get(zodSchema as never);
  if (bounds) {
    for (const key of Object.keys(jsonSchema)) if (key !== "description") delete jsonSchema[key];
    Object.assign(jsonSchema, { type: "integer", ...bounds });
  } else if (def?.type === "default" && queryIntegers.get(def.innerType as never))
    jsonSchema.default = def.defaultValue;
  if (def?.type === "union" && Array.isArray(jsonSchema.anyOf))
    jsonSchema.anyOf = jsonSchema.anyOf.filter((s) => Object.keys(s as JsonObject).length > 0);
}

/** Per-route transform: the zod schemas of a route's parts as JSON Schema (OpenAPI 3.1). */
export const jsonSchemaTransform: SwaggerTransform = createJsonSchemaTransform({
  zodToJsonConfig: { override: schemaOverride as never },
});

const zodComponents = createJsonSchemaTransformObject({
  zodToJsonConfig: { override: schemaOverride as never },
});

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
 * The document-wide transform, for the configuration `options` describes: components from the
 * zod registry (minus those no route reaches), nested tensors spelled out, request and response
 * examples, media types, descriptions, headers, the statuses every route can send, and the API
 * key where it is needed.
 */
export function transformObject(options: ContractOptions): SwaggerTransformObject {
  return (documentObject) => {
    const doc = zodComponents(documentObject) as Document;
    const paths = (doc.paths ?? {}) as Paths;
    boundNestedTensors(doc.components?.schemas);
    tidyMediaTypes(paths); // first: it rewrites a JSON-or-CSV body's media types
    addNamedExamples(paths);
    describeUploads(paths);
    addStatuses(paths, options);
    addHeaders(paths, options);
    describeAnswers(paths);
    addSecurity(doc, options);
    doc.components = {
      ...doc.components,
      headers: HEADERS,
      responses: {
        MethodNotAllowed: {
          description:
            "Sent for any path of this document asked with a method it does not list (`Allow` names them).",
          headers: { Allow: headerRef("Allow"), "X-Request-Id": headerRef("X-Request-Id") },
          content: { "application/problem+json": { schema: { $ref: "#/components/schemas/Problem" } } },
        },
      },
    };
    const schemas = doc.components.schemas;
    if (!schemas) return doc as ReturnType<SwaggerTransformObject>;
    const reached = new Set<string>();
    refsIn(doc.paths, reached);
    refsIn(doc.components.responses, reached);
    // Close over references between components.
    for (let queue = [...reached]; queue.length > 0; ) {
      const next = new Set<string>();
      for (const name of queue) refsIn(schemas[name], next);
      queue = [...next].filter((n) => !reached.has(n));
      for (const n of queue) reached.add(n);
    }
    doc.components.schemas = Object.fromEntries(
      Object.entries(schemas).filter(([name]) => reached.has(name)),
    );
    return doc as ReturnType<SwaggerTransformObject>;
  };
}

/**
 * The multipart form of an import (POST /models): its file parts, as the route reads them, in place
 * of the JSON body's fields the route's one body schema would show (and without the JSON
 * examples, which Swagger UI would send as form fields).
 */
function describeUploads(paths: Paths): void {
  const content = (
    paths["/models"]?.post?.requestBody as { content?: Record<string, JsonObject> } | undefined
  )?.content;
  if (!content?.["multipart/form-data"]) return;
  const file = (description: string) => ({ type: "string", format: "binary", description });
  content["multipart/form-data"] = {
    schema: {
      type: "object",
      required: [MODEL_PART, WEIGHTS_PARTS[0]],
      properties: {
        [MODEL_PART]: file(
          "The TensorFlow.js model.json (JSON: modelTopology, weightsManifest, trainingConfig…).",
        ),
        [WEIGHTS_PARTS[0]!]: file(
          `Its weights, float32 little-endian in manifest order (tfjs' own save sends it as "${WEIGHTS_PARTS[1]}", also accepted).`,
        ),
      },
    },
  };
}

/**
 * The recursive tensor components (`NestedNumbers` in requests and finite answers, `TensorValue`
 * where `null` may appear) written as a number or arrays of it nested 1 … MAX_TENSOR_RANK deep.
 * Every tensor that can succeed fits, and a client generator can type it: TypeScript cannot
 * express an array type that contains itself inside an interface (openapi-typescript's recursive
 * output fails with TS2502, and the value becomes `any`).
 */
function boundNestedTensors(schemas: Record<string, Json> | undefined): void {
  if (!schemas) return;
  const leaves: Record<string, JsonObject> = {
    NestedNumbersInput: { type: "number" },
    NestedNumbers: { type: "number" },
    TensorValue: { type: ["number", "null"] },
    TensorValueInput: { type: ["number", "null"] },
  };
  for (const [name, leaf] of Object.entries(leaves)) {
    const existing = schemas[name] as JsonObject | undefined;
    if (!existing) continue;
    const levels: JsonObject[] = [leaf];
    for (let depth = 1; depth <= MAX_TENSOR_RANK; depth++)
      levels.push({ type: "array", items: levels.at(-1) });
    schemas[name] = { description: existing.description, anyOf: levels };
  }
}

/** Puts `namedRequestExamples` on each POST operation's JSON request body (Swagger UI's menu). */
function addNamedExamples(paths: Paths): void {
  for (const [path, examples] of Object.entries(namedRequestExamples)) {
    const media = paths[path]?.post?.requestBody?.content?.["application/json"] as JsonObject | undefined;
    if (!media) continue;
    // `example` and `examples` exclude each other; the first named one is the default.
    delete media.example;
    media.examples = examples;
  }
}

/**
 * Media types zod cannot say per content type: a body offered as JSON or CSV (a union of an
 * object and a string) gets the object under application/json and the string under text/csv;
 * a 204 answer has no content.
 */
function tidyMediaTypes(paths: Paths): void {
  for (const item of Object.values(paths))
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

const problem = (description: string): Response => ({
  description,
  content: { "application/problem+json": { schema: { $ref: "#/components/schemas/Problem" } } },
});

const headerRef = (name: HeaderName) => ({ $ref: `#/components/headers/${name}` });

/** Each operation as `[key "<METHOD> <path>", path, operation]`. */
function operations(paths: Paths): [string, string, Operation][] {
  return Object.entries(paths).flatMap(([path, item]) =>
    Object.entries(item).map(([method, op]): [string, string, Operation] => [
      `${method.toUpperCase()} ${path}`,
      path,
      op,
    ]),
  );
}

/**
 * Error statuses that come from what an operation has rather than from its handler: 500
 * anywhere; 400 for a path id over its length; 404 for a stored data set or model the body names; 401
 * and 429 on the operations that need a key, when the server has keys and a rate limit.
 */
function addStatuses(paths: Paths, options: ContractOptions): void {
  for (const [key, path, op] of operations(paths)) {
    op.responses ??= {};
    const responses = op.responses;
    // Fastify reads a body sent with POST or DELETE even where the route takes none.
    const unexpectedBody = /^(POST|DELETE) /.test(key) && op.requestBody === undefined;
    if (path.includes("{id}")) {
      const id = key === "GET /jobs/{id}/events" ? EXTRA_PROBLEMS.eventsBadRequest : EXTRA_PROBLEMS.idTooLong;
      responses["400"] = problem(unexpectedBody ? `${id} ${EXTRA_PROBLEMS.unexpectedBody}` : id);
    }
    if (unexpectedBody) {
      responses["400"] ??= problem(EXTRA_PROBLEMS.unexpectedBody);
      responses["413"] ??= problem(EXTRA_PROBLEMS[413]);
      responses["415"] ??= problem(EXTRA_PROBLEMS[415]);
    }
    if (key === "POST /train" || key === "POST /jobs")
      responses["404"] ??= problem(`${EXTRA_PROBLEMS.unknownDataset} ${EXTRA_PROBLEMS.unknownModel}`);
    if (key === "POST /predict" || key === "POST /gradients")
      responses["404"] ??= problem(EXTRA_PROBLEMS.unknownModel);
    responses["500"] ??= problem(EXTRA_PROBLEMS[500]);
    if (isPublicRoute(path)) continue;
    if (options.apiKeys) responses["401"] = problem(EXTRA_PROBLEMS[401]);
    if (options.rateLimit) responses["429"] = problem(EXTRA_PROBLEMS[429]);
  }
}

/** X-Request-Id on every answer; Location, Retry-After, WWW-Authenticate, X-RateLimit-* where sent. */
function addHeaders(paths: Paths, options: ContractOptions): void {
  for (const [key, path, op] of operations(paths))
    for (const [status, response] of Object.entries(op.responses ?? {})) {
      const names: HeaderName[] = ["X-Request-Id", ...(RESPONSE_HEADERS[`${key} ${status}`] ?? [])];
      const problemAnswer = response.content?.["application/problem+json"] !== undefined;
      if ((status === "503" && problemAnswer) || status === "429") names.push("Retry-After");
      if (status === "401") names.push("WWW-Authenticate");
      if (options.rateLimit && !isPublicRoute(path))
        names.push("X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset");
      response.headers = Object.fromEntries(names.map((name) => [name, headerRef(name)]));
    }
}

/** Success descriptions and examples in place of @fastify/swagger's "Default Response". */
function describeAnswers(paths: Paths): void {
  for (const [key, , op] of operations(paths))
    for (const [status, response] of Object.entries(op.responses ?? {})) {
      const description = ANSWER_DESCRIPTIONS[`${key} ${status}`];
      if (description) response.description = description;
      const examples = RESPONSE_EXAMPLES[`${key} ${status}`];
      const media = response.content?.["application/json"];
      if (examples && media) media.examples = examples;
    }
}

/**
 * The API key (security plugin) in the document, when the server has API_KEYS: two schemes,
 * either accepted, required by every operation but the public ones. Swagger UI's "Authorize"
 * button then sends the key with "Try it out". Without API_KEYS no operation needs a key.
 */
function addSecurity(doc: Document, options: ContractOptions): void {
  if (!options.apiKeys) return;
  doc.components = {
    ...doc.components,
    securitySchemes: {
      bearerAuth: {
        type: "http",
        scheme: "bearer",
        description: "An API key, sent as `Authorization: Bearer <key>`.",
      },
      apiKeyHeader: {
        type: "apiKey",
        in: "header",
        name: "x-api-key",
        description: "The same API key, sent as `x-api-key: <key>`.",
      },
    },
  };
  for (const [, path, op] of operations(doc.paths ?? {}))
    if (!isPublicRoute(path)) op.security = [{ bearerAuth: [] }, { apiKeyHeader: [] }];
}
