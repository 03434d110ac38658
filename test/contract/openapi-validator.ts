/**
 * Checks real answers against an OpenAPI 3.1 document with a standard JSON Schema validator
 * (ajv, draft 2020-12): the operation must document the status, the content type, the body's
 * schema and its required headers. Used by the shared test app (test/http/helper.ts), so every
 * answer of the HTTP suites is checked, and by the contract tests.
 */
import { Ajv2020, type ValidateFunction } from "ajv/dist/2020.js";
import addFormats from "ajv-formats";

interface Header {
  $ref?: string;
  required?: boolean;
}
interface Response {
  content?: Record<string, { schema?: unknown }>;
  headers?: Record<string, Header>;
}
interface Document {
  paths: Record<string, Record<string, { responses?: Record<string, Response> }>>;
  components?: { headers?: Record<string, Header> };
}

/** One answer as a test saw it. */
export interface Answer {
  method: string;
  /** The matched route's pattern as Fastify writes it (`/jobs/:id`). */
  route: string;
  status: number;
  headers: Record<string, string | string[] | number | undefined>;
  /** The body as sent (JSON text for JSON media types). */
  body: string;
}

/** `/jobs/:id` → `/jobs/{id}`. */
export const toOpenapiPath = (route: string) => route.replace(/:(\w+)/g, "{$1}");

const pointerSegment = (s: string) => s.replace(/~/g, "~0").replace(/\//g, "~1");

/** Validators for one document, compiled once per (operation, status, media type). */
export class ContractValidator {
  private readonly ajv: Ajv2020;
  private readonly compiled = new Map<string, ValidateFunction>();

  constructor(private readonly doc: Document) {
    // `strict: false`: the document carries OpenAPI keywords (`example`) that are not JSON Schema.
    this.ajv = new Ajv2020({ strict: false, allErrors: false, validateFormats: true });
    // ajv-formats is CommonJS: its default export arrives as the module object under NodeNext.
    (addFormats as unknown as { default: (ajv: Ajv2020) => void }).default(this.ajv);
    this.ajv.addSchema(doc as object, "openapi.json");
  }

  /** Whether the document describes this operation (hidden routes are not in it). */
  has(method: string, route: string): boolean {
    return this.doc.paths[toOpenapiPath(route)]?.[method.toLowerCase()] !== undefined;
  }

  /** The operations and their 2xx statuses, as `"<METHOD> <path> <status>"`. */
  successes(): string[] {
    return Object.entries(this.doc.paths).flatMap(([path, item]) =>
      Object.entries(item).flatMap(([method, op]) =>
        Object.keys(op.responses ?? {})
          .filter((s) => s.startsWith("2"))
          .map((s) => `${method.toUpperCase()} ${path} ${s}`),
      ),
    );
  }

  /** Everything wrong with `answer` by the document (empty when it conforms). */
  check(answer: Answer): string[] {
    const path = toOpenapiPath(answer.route);
    const method = answer.method.toLowerCase();
    const where = `${answer.method} ${path} ${answer.status}`;
    const response = this.doc.paths[path]?.[method]?.responses?.[String(answer.status)];
    if (!response) return [`${where}: status not documented`];
    const problems: string[] = [];
    for (const [name, header] of Object.entries(response.headers ?? {})) {
      const resolved = header.$ref ? this.doc.components?.headers?.[header.$ref.split("/").at(-1)!] : header;
      if (resolved?.required && answer.headers[name.toLowerCase()] === undefined)
        problems.push(`${where}: required header ${name} missing`);
    }
    const contentType = String(answer.headers["content-type"] ?? "")
      .split(";")[0]!
      .trim();
    if (!response.content) {
      if (answer.body !== "")
        problems.push(`${where}: documented without a body, got ${answer.body.slice(0, 80)}`);
      return problems;
    }
    const media = response.content[contentType];
    if (!media) return [...problems, `${where}: content type ${contentType || "(none)"} not documented`];
    if (!contentType.endsWith("json")) return problems;
    const key = `${path}|${method}|${answer.status}|${contentType}`;
    let validate = this.compiled.get(key);
    if (!validate) {
      const pointer = [
        "paths",
        path,
        method,
        "responses",
        String(answer.status),
        "content",
        contentType,
        "schema",
      ]
        .map(pointerSegment)
        .join("/");
      validate = this.ajv.compile({ $ref: `openapi.json#/${pointer}` });
      this.compiled.set(key, validate);
    }
    let body: unknown;
    try {
      body = JSON.parse(answer.body);
    } catch {
      return [...problems, `${where}: body is not JSON: ${answer.body.slice(0, 80)}`];
    }
    if (!validate(body))
      problems.push(
        `${where}: body does not match the schema: ${this.ajv.errorsText(validate.errors, { dataVar: "body" })}`,
      );
    return problems;
  }
}
