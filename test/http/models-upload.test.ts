/**
 * How POST /models reads what clients send: multipart errors name the part as sent (`weights.bin`,
 * `model.weights.bin`), base64 wrapped by line-breaking encoders is accepted, and every route's
 * 415 names the types it accepts.
 */
import http from "node:http";
import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildTestApp, type ProblemBody } from "./helper.js";
import { denseImport } from "./models-helpers.js";

const { topology, manifest, weightBytes } = denseImport;
const modelJson = JSON.stringify({
  format: "layers-model",
  modelTopology: topology,
  weightsManifest: manifest,
});

/** An OpenAPI media type, as far as the test reads it. */
interface MediaType {
  examples?: unknown;
  schema: { required: string[]; properties: Record<string, unknown> };
}

describe("POST /models as clients send it", () => {
  let app: FastifyInstance;
  let base: string;

  beforeAll(async () => {
    app = await buildTestApp();
    await app.listen({ host: "127.0.0.1", port: 0 });
    const address = app.server.address();
    if (typeof address !== "object" || address === null) throw new Error("not listening");
    base = `http://127.0.0.1:${address.port}`;
  });
  afterAll(async () => {
    await app.close();
  });

  async function upload(parts: Record<string, string | Uint8Array>) {
    const body = new FormData();
    for (const [name, value] of Object.entries(parts)) body.append(name, new Blob([value]), name);
    const res = await fetch(`${base}/models`, { method: "POST", body });
    return { status: res.status, problem: (await res.json()) as ProblemBody };
  }

  it("names the weights' part, as sent, when its size does not fit the manifest", async () => {
    for (const part of ["weights.bin", "model.weights.bin"]) {
      const res = await upload({ "model.json": modelJson, [part]: weightBytes.subarray(0, 20) });
      expect(res.status).toBe(422);
      expect(res.problem.errors).toEqual([
        { path: part, message: "the manifest describes 24 bytes (6 float32 values), the data has 20" },
      ]);
      expect(res.problem.detail).toBe(
        `${part}: the manifest describes 24 bytes (6 float32 values), the data has 20`,
      );
    }
    const ok = await upload({ "model.json": modelJson, "model.weights.bin": weightBytes });
    expect(ok.status).toBe(201);
  });

  it("documents the multipart form as its file parts, and a form built from the document is imported", async () => {
    const doc = (await (await fetch(`${base}/docs/json`)).json()) as {
      paths: Record<string, Record<string, { requestBody: { content: Record<string, MediaType> } }>>;
    };
    const form = doc.paths["/models"]!.post!.requestBody.content["multipart/form-data"]!;
    expect(form.examples).toBeUndefined();
    expect(form.schema.required).toEqual(["model.json", "weights.bin"]);
    const parts = Object.keys(form.schema.properties);
    expect(parts).toEqual(["model.json", "weights.bin"]);
    for (const p of parts)
      expect(form.schema.properties[p]).toMatchObject({ type: "string", format: "binary" });
    const res = await upload({ [parts[0]!]: modelJson, [parts[1]!]: weightBytes });
    expect(res.status).toBe(201);
  });

  it("lists every accepted part for an unknown one", async () => {
    const res = await upload({ "model.json": modelJson, "weights.bin": weightBytes, "model.weights": "x" });
    expect(res.status).toBe(400);
    expect(res.problem.errors).toEqual([
      {
        path: "model.weights",
        message:
          'unknown part: an import has the parts "model.json" and "weights.bin" (or "model.weights.bin")',
      },
    ]);
  });

  it("keeps weightData as the JSON form's path", async () => {
    const res = await app.inject({
      method: "POST",
      url: "/models",
      payload: { ...JSON.parse(modelJson), weightData: weightBytes.subarray(0, 20).toString("base64") },
    });
    expect(res.statusCode).toBe(422);
    expect((res.json() as ProblemBody).errors?.[0]?.path).toBe("weightData");
  });

  it("accepts base64 wrapped with line breaks (base64 CLI, Python's encodebytes)", async () => {
    const b64 = weightBytes.toString("base64");
    for (const wrapped of [
      `${b64.slice(0, 12)}\n${b64.slice(12)}\n`,
      `${b64.slice(0, 8)}\r\n${b64.slice(8, 20)} ${b64.slice(20)}`,
    ]) {
      const res = await app.inject({
        method: "POST",
        url: "/models",
        payload: { ...JSON.parse(modelJson), weightData: wrapped },
      });
      expect(res.statusCode).toBe(201);
      const predicted = await app.inject({
        method: "POST",
        url: `/models/${res.json().id}/predict`,
        payload: { x: [[1, 0]] },
      });
      // [1, 0]·[[1, 2], [-0.5, 0.25]] + [0.5, -1]
      expect(predicted.json().outputs).toEqual([[1.5, 1]]);
    }
    const bad = await app.inject({
      method: "POST",
      url: "/models",
      payload: { ...JSON.parse(modelJson), weightData: `${b64.slice(0, 10)}\n${b64.slice(11)}` },
    });
    expect(bad.statusCode).toBe(400);
    expect((bad.json() as ProblemBody).errors?.[0]).toEqual({
      path: "weightData",
      message: "expected base64 whose length (without whitespace) is a multiple of 4 (padded with =)",
    });
  });

  it("serves an export again from one encoding, and not once its model is deleted", async () => {
    const res = await app.inject({
      method: "POST",
      url: "/models",
      payload: { ...JSON.parse(modelJson), weightData: weightBytes.toString("base64") },
    });
    const id = res.json().id;
    const first = await app.inject({ method: "GET", url: `/models/${id}/tfjs/weights.bin` });
    expect(first.rawPayload.equals(weightBytes)).toBe(true);
    const onnx = await app.inject({ method: "GET", url: `/models/${id}/onnx` });
    const again = await app.inject({ method: "GET", url: `/models/${id}/onnx` });
    expect(again.rawPayload.equals(onnx.rawPayload)).toBe(true);
    expect((await app.inject({ method: "DELETE", url: `/models/${id}` })).statusCode).toBe(204);
    for (const url of [
      `/models/${id}/onnx`,
      `/models/${id}/tfjs/model.json`,
      `/models/${id}/tfjs/weights.bin`,
    ])
      expect((await app.inject({ method: "GET", url })).statusCode).toBe(404);
  });

  it("answers 415 naming the types the route accepts", async () => {
    const cases: [string, string, string][] = [
      ["/models", "text/plain", "application/json or multipart/form-data"],
      ["/models", "application/octet-stream", "application/json or multipart/form-data"],
      ["/train", "text/plain", "application/json"],
      ["/models/mdl_x/predict", "application/octet-stream", "application/json"],
      ["/datasets", "text/plain", "application/json or text/csv"],
    ];
    for (const [url, type, accepted] of cases) {
      const res = await app.inject({
        method: "POST",
        url,
        headers: { "content-type": type },
        payload: "hello",
      });
      expect(res.statusCode).toBe(415);
      const route = url.replace("mdl_x", ":id");
      expect((res.json() as ProblemBody).detail).toBe(
        `Content-Type ${type} is not accepted by POST ${route}: send ${accepted}`,
      );
    }
    const multipart = await fetch(`${base}/train`, { method: "POST", body: new FormData() });
    expect(multipart.status).toBe(415);
    expect(((await multipart.json()) as ProblemBody).detail).toMatch(
      /^Content-Type multipart\/form-data; boundary=\S+ is not accepted by POST \/train: send application\/json$/,
    );
  });
});

describe("a multipart import refused before its end", () => {
  it("reads and drops the parts still on their way: the client gets the 400, its connection serves the next request, and the app closes", async () => {
    const app = await buildTestApp({ BODY_LIMIT: String(1 << 20) });
    await app.listen({ host: "127.0.0.1", port: 0 });
    const { port } = app.server.address() as { port: number };
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    try {
      // An unknown part first, then three more of 900 kB each that nobody reads.
      const form = new FormData();
      form.append("model.json", new Blob([modelJson]), "model.json");
      for (let i = 0; i < 4; i++) form.append(`extra${i}`, new Blob([new Uint8Array(900_000)]), "w");
      const request = new Request("http://x/", { method: "POST", body: form });
      const body = Buffer.from(await request.arrayBuffer());
      const contentType = request.headers.get("content-type")!;
      const send = (method: string, path: string, payload?: Buffer) =>
        new Promise<{ status: number; body: string }>((resolve, reject) => {
          const req = http.request(
            {
              host: "127.0.0.1",
              port,
              method,
              path,
              agent,
              headers: payload ? { "content-type": contentType } : {},
            },
            (res) => {
              let text = "";
              res.setEncoding("utf8");
              res.on("data", (c: string) => {
                text += c;
              });
              res.on("end", () => resolve({ status: res.statusCode ?? 0, body: text }));
            },
          );
          req.on("error", reject);
          req.end(payload);
        });
      const refused = await send("POST", "/models", body);
      expect(refused.status).toBe(400);
      expect(JSON.parse(refused.body).errors[0].path).toBe("extra0");
      // The same (only) socket: it was left mid-body before, and this request never got an answer.
      const health = await send("GET", "/health");
      expect(health).toEqual({ status: 200, body: '{"status":"ok"}' });
    } finally {
      agent.destroy();
      await app.close();
    }
  });
});
