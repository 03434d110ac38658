/**
 * A client generated from the committed OpenAPI document, as a user would make one
 * (openapi-typescript + openapi-fetch), must typecheck under `--strict` and work: train iris,
 * send the returned weights back to /gradients and /predict, create a job with `limit` and
 * `priority` as numbers. The program also states, in types, what must not regress: tensors are
 * not `any`, weights from /train are accepted as `weights` and `initialWeights`, the loss of
 * /gradients is a number, and query integers are numbers.
 */
import { execFile } from "node:child_process";
import { mkdtemp, readFile, realpath, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import type { FastifyInstance } from "fastify";
import openapiTS, { astToString } from "openapi-typescript";
import ts from "typescript";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { OPENAPI_PATH } from "../../src/http/openapi-document.js";
import { buildTestApp } from "../http/helper.js";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const KEY = "client-test-key-0123456789abcdef";

/** The program a user of the generated client would write (top-level await: an ES module). */
const PROGRAM = `
import createClient from "openapi-fetch";
import type { components, paths } from "./api.js";

type Schemas = components["schemas"];
type IsAny<T> = 0 extends 1 & T ? true : false;
// The tensor types are real types, not \`any\` (a recursive array type would be TS2502 and \`any\`).
const notAny: [IsAny<Schemas["NestedNumbersInput"]>, IsAny<Schemas["Weights"]>, IsAny<Schemas["TensorValue"]>] = [
  false,
  false,
  false,
];

const client = createClient<paths>({
  baseUrl: process.env.BASE_URL,
  headers: { authorization: \`Bearer \${process.env.API_KEY}\` },
});

const model: Schemas["ModelSpecInput"] = {
  inputShape: [4],
  layers: [
    { type: "dense", units: 8, activation: "tanh" },
    { type: "dense", units: 3, activation: "softmax" },
  ],
  loss: "sparseCategoricalCrossentropy",
};

const trained = await client.POST("/train", {
  body: { model, dataset: { name: "iris" }, optimizer: { type: "adam", learningRate: 0.02 }, epochs: 30, seed: 3 },
});
if (!trained.data) throw new Error(\`/train: \${JSON.stringify(trained.error)}\`);
// Without \`return\`, the answer has every part: a client that may send one checks.
if (!trained.data.weights || !trained.data.metrics) throw new Error("/train: weights or metrics left out");
// What /train answers is what /gradients, /predict and /jobs take.
const weights: Schemas["WeightsInput"] = trained.data.weights;

const inspected = await client.POST("/gradients", { body: { model, weights, x: [5.1, 3.5, 1.4, 0.2], y: 0 } });
if (!inspected.data) throw new Error(\`/gradients: \${JSON.stringify(inspected.error)}\`);
const loss: number = inspected.data.loss;

const predicted = await client.POST("/predict", {
  body: { model, weights: trained.data.weights, x: [[5.1, 3.5, 1.4, 0.2], [6.7, 3.0, 5.2, 2.3]] },
});
if (!predicted.data) throw new Error(\`/predict: \${JSON.stringify(predicted.error)}\`);

const created = await client.POST("/jobs", {
  params: { query: { priority: 7 } },
  body: {
    model,
    dataset: { name: "iris" },
    optimizer: { type: "sgd", learningRate: 0.05 },
    epochs: 5_000,
    initialWeights: trained.data.weights,
  },
});
if (!created.data) throw new Error(\`/jobs: \${JSON.stringify(created.error)}\`);
const listed = await client.GET("/jobs", { params: { query: { limit: 1 } } });
if (!listed.data) throw new Error(\`GET /jobs: \${JSON.stringify(listed.error)}\`);
const cancelled = await client.POST("/jobs/{id}/cancel", { params: { path: { id: created.data.id } } });
if (!cancelled.data) throw new Error(\`cancel: \${JSON.stringify(cancelled.error)}\`);

// What the client must refuse to compile.
// @ts-expect-error priority is an integer, not a string
void client.GET("/jobs", { params: { query: { limit: "1" } } });
// @ts-expect-error weights are nested numbers
void client.POST("/predict", { body: { model, weights: { "dense_0/bias": ["0"] }, x: [[1, 2, 3, 4]] } });
// @ts-expect-error a tensor in an answer may hold null: not a finite Weights
const fromOutput: Schemas["NestedNumbersInput"] = inspected.data.output;

console.log(
  JSON.stringify({
    notAny,
    loss,
    epochsRun: trained.data.epochsRun,
    accuracy: trained.data.metrics.accuracy,
    gradientKeys: Object.keys(inspected.data.gradients).sort(),
    outputs: predicted.data.outputs,
    created: { status: created.response.status, priority: created.data.priority, location: created.response.headers.get("location") },
    listed: listed.data.jobs.length,
    cancelled: cancelled.data.status,
    fromOutput: fromOutput !== undefined,
  }),
);
`;

let app: FastifyInstance;
let dir: string;

beforeAll(async () => {
  app = await buildTestApp({ POOL_SIZE: "1", API_KEYS: KEY });
  await app.listen({ port: 0, host: "127.0.0.1" });
  dir = await mkdtemp(join(tmpdir(), "openapi-client-"));
  await symlink(await realpath(join(ROOT, "node_modules")), join(dir, "node_modules"), "dir");
});
afterAll(async () => {
  await app.close();
  await rm(dir, { recursive: true, force: true });
});

/** Type errors of `file` under `--strict` (the generated types included, only packages skipped). */
function typeErrors(file: string): string[] {
  const program = ts.createProgram([file], {
    strict: true,
    noEmit: true,
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    types: ["node"],
    skipLibCheck: true,
  });
  return ts
    .getPreEmitDiagnostics(program)
    .map(
      (d) =>
        `${d.file?.fileName.split("/").at(-1) ?? ""}: ${ts.flattenDiagnosticMessageText(d.messageText, "\n")}`,
    );
}

describe("a client generated from the committed document", () => {
  it("typechecks under --strict and trains, inspects, predicts and queues with the weights it got", async () => {
    const doc = JSON.parse(await readFile(join(ROOT, OPENAPI_PATH), "utf8"));
    await writeFile(join(dir, "api.ts"), astToString(await openapiTS(doc)));
    await writeFile(join(dir, "package.json"), '{ "type": "module" }\n');
    await writeFile(join(dir, "client.ts"), PROGRAM);
    expect(typeErrors(join(dir, "client.ts"))).toEqual([]);

    const address = app.server.address();
    if (address === null || typeof address === "string") throw new Error("not listening on a port");
    const { stdout } = await promisify(execFile)(join(ROOT, "node_modules", ".bin", "tsx"), ["client.ts"], {
      cwd: dir,
      env: { ...process.env, BASE_URL: `http://127.0.0.1:${address.port}`, API_KEY: KEY },
      timeout: 60_000,
    });
    const result = JSON.parse(stdout);
    expect(result.notAny).toEqual([false, false, false]);
    expect(result.epochsRun).toBe(30);
    expect(result.accuracy).toBeGreaterThan(0.8);
    expect(result.loss).toBeGreaterThan(0);
    expect(result.gradientKeys).toEqual(["dense_0/bias", "dense_0/kernel", "dense_1/bias", "dense_1/kernel"]);
    expect(result.outputs).toHaveLength(2);
    for (const p of result.outputs) expect(p.reduce((a: number, b: number) => a + b, 0)).toBeCloseTo(1, 12);
    expect(result.created).toEqual({
      status: 202,
      priority: 7,
      location: expect.stringMatching(/^\/jobs\//),
    });
    expect(result.listed).toBe(1);
    expect(result.cancelled).toBe("cancelled");
  });
});
