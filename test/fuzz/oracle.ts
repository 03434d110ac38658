/**
 * What every answer must be, whatever was sent: a 2xx, or a 4xx problem+json whose 400/422
 * `errors[].path` names a field of the request (or its root) — never a 500, a hang or a crash.
 * Also: sending with a time limit,
 * the status tally printed after a run, and memory measured after a forced GC.
 */
import v8 from "node:v8";
import vm from "node:vm";
import type { FastifyInstance } from "fastify";
import type { z } from "zod";
import {
  DatasetsResponseSchema,
  GradientsResponseSchema,
  HealthResponseSchema,
  PredictResponseSchema,
  TrainAnswerSchema,
} from "../../src/schemas/responses.js";
import type { ModelPlan, WireRequest } from "./generators.js";
import { parsePath, resolvePath, tryParse } from "./json-text.js";
import { checkAnswerOptions } from "./oracle-answer.js";

export interface Answer {
  status: number;
  headers: Record<string, string | string[] | number | undefined>;
  body: string;
  ms: number;
}

/** Longest a single cheap request may take before it counts as a hang. */
export const HANG_MS = 20_000;

/** Sends `req` with `app.inject`; rejects when no answer comes within `HANG_MS`. */
export async function send(app: FastifyInstance, req: WireRequest): Promise<Answer> {
  const start = performance.now();
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${HANG_MS} ms (hang)`)), HANG_MS);
  });
  try {
    const res = await Promise.race([
      app.inject({
        method: req.method as "POST",
        url: req.url,
        headers: {
          ...req.headers,
          ...(req.contentType === undefined ? {} : { "content-type": req.contentType }),
        },
        ...(req.method === "GET" || req.method === "HEAD" ? {} : { payload: req.text }),
      }),
      timeout,
    ]);
    return { status: res.statusCode, headers: res.headers, body: res.body, ms: performance.now() - start };
  } finally {
    clearTimeout(timer);
  }
}

const header = (a: Answer, name: string) => {
  const v = a.headers[name];
  return v === undefined ? undefined : String(v);
};

const isCsv = (req: WireRequest) => /^text\/csv/i.test(req.contentType ?? "");

/**
 * Where an error path points: into the JSON body, or — prefixed `querystring.`, `params.`,
 * `headers.` — into those parts of the request, or for a CSV body at `line[n]` (1-based).
 */
function locate(req: WireRequest, path: string): "exists" | "missing-key" | "invalid" | "unknown" {
  const sent = tryParse(req.text);
  const segs = parsePath(path);
  if (!segs) return "invalid";
  const [first, second] = segs;
  const bodyHas =
    sent &&
    typeof sent.value === "object" &&
    sent.value !== null &&
    typeof first === "string" &&
    first in sent.value;
  if (!bodyHas && (first === "querystring" || first === "headers")) {
    if (segs.length === 1) return "exists";
    const names =
      first === "querystring"
        ? [...new URLSearchParams(req.url.split("?")[1] ?? "").keys()]
        : [...Object.keys(req.headers ?? {}), "content-type"].map((h) => h.toLowerCase());
    return names.includes(String(second)) ? "exists" : segs.length === 2 ? "missing-key" : "invalid";
  }
  if (!bodyHas && first === "params") return segs.length <= 2 ? "exists" : "invalid";
  if (isCsv(req)) {
    if (path === "") return "exists";
    const m = /^line\[(\d+)\]/.exec(path);
    const lines = req.text.split(/\r?\n/).length;
    return m && Number(m[1]) >= 1 && Number(m[1]) <= lines + 1 ? "exists" : "invalid";
  }
  if (!sent) return "unknown"; // not JSON: nothing to resolve against
  return resolvePath(sent.value, path);
}

// ---------------------------------------------------------------------------------------------
// The contract

const RESPONSE_SCHEMAS: Record<string, z.ZodType> = {
  "POST /train": TrainAnswerSchema,
  "POST /gradients": GradientsResponseSchema,
  "POST /predict": PredictResponseSchema,
  "GET /datasets": DatasetsResponseSchema,
  "GET /health": HealthResponseSchema,
};

export interface Verdict {
  /** Contract violations (empty: fine). */
  violations: string[];
  /** A known bug or gap that explains the answer. */
  known?: string;
}

/** Non-finite numbers and `null`s anywhere under `v`, as paths. */
function badNumbers(v: unknown, path: string, out: string[], allowNull: boolean): void {
  if (out.length > 5) return;
  if (v === null) {
    if (!allowNull) out.push(`${path} is null`);
  } else if (typeof v === "number") {
    if (!Number.isFinite(v)) out.push(`${path} is ${v}`);
  } else if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) badNumbers(v[i], `${path}[${i}]`, out, allowNull);
  } else if (typeof v === "object")
    for (const [k, e] of Object.entries(v)) badNumbers(e, `${path}.${k}`, out, allowNull);
}

function shapeOf(v: unknown): number[] {
  const shape: number[] = [];
  for (let a = v; Array.isArray(a); a = a[0]) shape.push(a.length);
  return shape;
}

/** Checks a 2xx answer of an engine route: schema, finite numbers, no null weights, keys. */
/** Checks a 2xx answer; returns the known bug it shows, if any. */
function checkSuccess(
  req: WireRequest,
  a: Answer,
  plan: ModelPlan | undefined,
  out: string[],
): string | undefined {
  let known: string | undefined;
  const route = `${req.method} ${req.url.split("?")[0]}`;
  const engineRoute = ["POST /train", "POST /gradients", "POST /predict"].includes(route);
  const json = /^application\/json/.test(header(a, "content-type") ?? "");
  if (engineRoute && !json) out.push(`2xx content-type ${header(a, "content-type")}`);
  // Other routes may answer text (metrics, an event stream, Swagger UI) or nothing (204, HEAD).
  if (!json || req.method === "HEAD" || a.status === 204) return;
  const parsed = tryParse(a.body);
  if (!parsed) {
    out.push("2xx body is not JSON");
    return;
  }
  const body = parsed.value as Record<string, unknown>;
  const schema = RESPONSE_SCHEMAS[route];
  if (schema) {
    const result = schema.safeParse(body);
    if (!result.success)
      out.push(
        `2xx body does not match the response schema: ${JSON.stringify(result.error.issues.slice(0, 3))}`,
      );
  }
  const infinite: string[] = [];
  badNumbers(body, "", infinite, true);
  if (infinite.length > 0) out.push(`non-finite numbers: ${infinite.join(", ")}`);
  if (route === "POST /train" || route === "POST /gradients") {
    const nulls: string[] = [];
    badNumbers(body.weights, "weights", nulls, false);
    if (nulls.length > 0) out.push(`weights hold null: ${nulls.join(", ")}`);
    const diverged = body.diverged !== undefined || body.nonFinite !== undefined;
    // /gradients has no divergence report: its schema lets loss, output and gradients be null
    // (an overflow at these weights, e.g. y = -1e308); only its weights must be finite.
    if (!diverged && route === "POST /train") {
      // Documented nulls: updateRatio is null when the weights started at 0 (‖W_start‖ = 0); the
      // meanSquaredError and r2 metrics where squared errors or targets overflow (beyond about
      // 1e154) while the loss does not (docs/backprop.md §20.3).
      const { telemetry, history, ...rest } = body;
      const { updateRatio: _documentedNulls, ...telemetryRest } = (telemetry ?? {}) as Record<
        string,
        unknown
      >;
      const {
        meanSquaredError: _mse,
        valMeanSquaredError: _valMse,
        r2: _r2,
        valR2: _valR2,
        ...historyRest
      } = (history ?? {}) as Record<string, unknown>;
      const all: string[] = [];
      badNumbers({ ...rest, history: historyRest, telemetry: telemetryRest }, "", all, false);
      if (all.length > 0) out.push(`null numbers without divergence: ${all.join(", ")}`);
    }
    // `return` and `saveModel` (POST /train): the parts it lists are checked as usual.
    const wants = checkAnswerOptions(route, tryParse(req.text)?.value, body, out);
    const wKeys = Object.keys((body.weights ?? {}) as object).sort();
    // Batch normalisation's moving statistics are weights without a gradient.
    const trainable = wKeys.filter((k) => !/\/moving_(mean|variance)$/.test(k));
    if (body.gradients !== undefined) {
      const gKeys = Object.keys(body.gradients as object).sort();
      if (wants("weights") && JSON.stringify(trainable) !== JSON.stringify(gKeys))
        out.push(
          `trainable weights keys ${JSON.stringify(trainable)} ≠ gradients keys ${JSON.stringify(gKeys)}`,
        );
    } else if (
      route === "POST /gradients" ||
      (wants("gradients") && !JSON.stringify(body.nonFinite ?? "").includes("gradients"))
    )
      out.push("gradients missing and not named in nonFinite");
    if (plan && wants("weights")) {
      const expected = plan.params.map((p) => p.key).sort();
      if (JSON.stringify(wKeys) !== JSON.stringify(expected))
        out.push(`weights keys ${JSON.stringify(wKeys)}, expected ${JSON.stringify(expected)}`);
      for (const p of plan.params) {
        const got = shapeOf((body.weights as Record<string, unknown>)[p.key]);
        if (JSON.stringify(got) !== JSON.stringify(p.shape))
          out.push(
            `weights["${p.key}"] has shape ${JSON.stringify(got)}, expected ${JSON.stringify(p.shape)}`,
          );
      }
    }
  }
  if (route === "POST /gradients" && plan) {
    // In training mode (the default) every batchNormalization layer with one value per channel
    // is named in warnings, and nothing else is; in inference there are none.
    const sent = tryParse(req.text)?.value as { training?: boolean } | undefined;
    const expected = sent?.training === false ? [] : plan.oneValueBatchNorm;
    const got = ((body.warnings ?? []) as { layer: string }[]).map((w) => w.layer);
    if (JSON.stringify(got) !== JSON.stringify(expected))
      out.push(`warnings name ${JSON.stringify(got)}, expected ${JSON.stringify(expected)}`);
  }
  if (route === "POST /train" && plan) {
    // The layer that drops a maskZero mask unread is named in warnings, and nothing else is.
    const got = ((body.warnings ?? []) as { code: string; layer: string }[]).map(
      (w) => `${w.code} ${w.layer}`,
    );
    const expected = (plan.maskDropped ?? []).map((l) => `maskDropped ${l}`);
    if (JSON.stringify(got) !== JSON.stringify(expected))
      out.push(`warnings ${JSON.stringify(got)}, expected ${JSON.stringify(expected)}`);
  }
  if (route === "POST /predict" && plan) {
    const x = (tryParse(req.text)?.value as { x?: unknown[] } | undefined)?.x ?? [];
    const outputs = body.outputs as unknown[];
    if (outputs.length !== x.length) out.push(`${outputs.length} outputs for ${x.length} samples`);
    const want = plan.outputShape.length === 1 && plan.outputShape[0] === 1 ? [[1], []] : [plan.outputShape];
    for (const o of outputs)
      if (!want.some((w) => JSON.stringify(w) === JSON.stringify(shapeOf(o)))) {
        out.push(
          `an output has shape ${JSON.stringify(shapeOf(o))}, expected ${JSON.stringify(plan.outputShape)}`,
        );
        break;
      }
  }
  return known;
}

/** Checks a problem answer: problem+json, status echoed, 400/422 name fields of the request. */
function checkProblem(req: WireRequest, a: Answer, out: string[]): string | undefined {
  const ct = header(a, "content-type") ?? "";
  if (!/^application\/problem\+json/.test(ct)) {
    out.push(`${a.status} with content-type ${ct || "(none)"}`);
  }
  if (req.method === "HEAD") return undefined;
  const parsed = tryParse(a.body);
  if (!parsed || typeof parsed.value !== "object" || parsed.value === null) {
    out.push(`${a.status} body is not a JSON object`);
    return undefined;
  }
  const p = parsed.value as Record<string, unknown>;
  if (p.status !== a.status) out.push(`problem.status ${String(p.status)} ≠ ${a.status}`);
  for (const field of ["type", "title", "detail"])
    if (typeof p[field] !== "string") out.push(`problem.${field} is not a string`);
  if (a.status === 503 && !/^\d+$/.test(header(a, "retry-after") ?? "")) out.push("503 without Retry-After");
  if (a.status !== 400 && a.status !== 422) return undefined;
  const errors = p.errors;
  if (!Array.isArray(errors) || errors.length === 0) {
    out.push(`${a.status} without errors[]`);
    return undefined;
  }
  for (const e of errors as Record<string, unknown>[]) {
    if (typeof e?.path !== "string" || typeof e.message !== "string") {
      out.push(`error without a path/message string: ${JSON.stringify(e)}`);
      continue;
    }
    if (locate(req, e.path) === "invalid")
      out.push(`errors[].path "${e.path}" names no field of the request`);
  }
  return undefined;
}

/**
 * The verdict on one answer. `plan`: the request is valid by construction and must get 200.
 * `burst`: a 503 with Retry-After is an acceptable answer (the queue was full).
 */
export function judge(
  req: WireRequest,
  a: Answer,
  opts: { plan?: ModelPlan; burst?: boolean; extreme?: boolean } = {},
): Verdict {
  const violations: string[] = [];
  let known: string | undefined;
  const s = a.status;
  if (opts.extreme) {
    if (s !== 200 && s !== 422) violations.push(`a schema-valid request got ${s}, not 200 or 422`);
  } else if (opts.plan && s !== 200) violations.push(`a valid request got ${s}, not 200`);
  if (s >= 200 && s < 300) known = checkSuccess(req, a, opts.plan, violations);
  else if (s >= 300 && s < 400) {
    if (!(req.method === "GET" || req.method === "HEAD") || !header(a, "location"))
      violations.push(`${s} to ${req.method} without Location`);
  } else if (s >= 400 && s < 500) known = checkProblem(req, a, violations);
  else if (s === 503 && opts.burst) known = checkProblem(req, a, violations);
  else {
    violations.push(`status ${s}`);
    checkProblem(req, a, []);
  }
  return { violations, known };
}

/** A failure message that reproduces the request. */
export function describe(req: WireRequest, a: Answer | undefined, violations: string[]): string {
  const text = req.text.length > 3000 ? `${req.text.slice(0, 3000)}… (${req.text.length} chars)` : req.text;
  return [
    `contract broken: ${violations.join("; ")}`,
    `request: ${req.method} ${req.url} content-type=${JSON.stringify(req.contentType)} kinds=${req.kinds.join(",")}`,
    `body: ${text}`,
    a ? `answer ${a.status} (${a.ms.toFixed(0)} ms): ${a.body.slice(0, 1500)}` : "no answer",
  ].join("\n");
}

// ---------------------------------------------------------------------------------------------
// Tally

export class Tally {
  private readonly rows = new Map<string, Map<string, number>>();
  private readonly kinds = new Map<string, Map<string, number>>();
  readonly statuses = new Set<string>();
  total = 0;
  slowest = 0;
  /** 200 answers of POST /train that report a diverged run (NaN forensics). */
  diverged = 0;

  record(
    req: WireRequest,
    a: Answer,
    known: string | undefined,
    group = `${req.method} ${req.url.split("?")[0]}`,
  ) {
    const col = known ? `${a.status} (${known})` : String(a.status);
    this.statuses.add(col);
    this.total++;
    this.slowest = Math.max(this.slowest, a.ms);
    if (a.status === 200 && req.url === "/train" && a.body.includes('"diverged":{')) this.diverged++;
    const bump = (m: Map<string, Map<string, number>>, row: string) => {
      const r = m.get(row) ?? new Map<string, number>();
      r.set(col, (r.get(col) ?? 0) + 1);
      m.set(row, r);
    };
    bump(this.rows, group);
    for (const k of new Set(req.kinds.length ? req.kinds : ["valid"])) bump(this.kinds, k);
  }

  private table(title: string, m: Map<string, Map<string, number>>): string {
    const cols = [...this.statuses].sort();
    const lines = [
      `| ${title} | ${cols.join(" | ")} | total |`,
      `| --- | ${cols.map(() => "---:").join(" | ")} | ---: |`,
    ];
    const totals = new Map<string, number>();
    for (const [row, counts] of [...m.entries()].sort(([a], [b]) => a.localeCompare(b))) {
      let sum = 0;
      const cells = cols.map((c) => {
        const n = counts.get(c) ?? 0;
        sum += n;
        totals.set(c, (totals.get(c) ?? 0) + n);
        return n ? String(n) : "";
      });
      lines.push(`| ${row} | ${cells.join(" | ")} | ${sum} |`);
    }
    if (m === this.rows)
      lines.push(`| **all** | ${cols.map((c) => String(totals.get(c) ?? 0)).join(" | ")} | ${this.total} |`);
    return lines.join("\n");
  }

  /** Markdown tables: answers by route and status, and by kind of breakage and status. */
  summary(): string {
    return [
      this.table("route", this.rows),
      "",
      this.table("breakage (a request may have several)", this.kinds),
    ].join("\n");
  }
}

// ---------------------------------------------------------------------------------------------
// Memory

/** `global.gc`, exposed at run time when node was started without `--expose-gc`. */
export function exposeGc(): (() => void) | undefined {
  const existing = (globalThis as { gc?: () => void }).gc;
  if (existing) return existing;
  try {
    v8.setFlagsFromString("--expose-gc");
    return vm.runInNewContext("gc") as () => void;
  } catch {
    return undefined;
  }
}

export interface MemorySample {
  heapUsed: number;
  external: number;
  arrayBuffers: number;
  rss: number;
}

/** Memory after a full GC (twice, with the event loop turned in between so finalisers run). */
export async function measure(gc: (() => void) | undefined): Promise<MemorySample> {
  for (let i = 0; i < 3; i++) {
    gc?.();
    await new Promise((resolve) => setImmediate(resolve));
  }
  const m = process.memoryUsage();
  return { heapUsed: m.heapUsed, external: m.external, arrayBuffers: m.arrayBuffers, rss: m.rss };
}

export const mb = (bytes: number) => `${(bytes / 2 ** 20).toFixed(1)} MB`;
