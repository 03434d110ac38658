/**
 * `Expect: 100-continue` (curl's default for bodies over 1 KB): a Content-Length over BODY_LIMIT
 * gets the 413 problem+json at once, without `100 Continue` and without the body being read; a
 * body within the limit gets `100 Continue` and its usual answer.
 */
import { request } from "node:http";
import type { AddressInfo } from "node:net";
import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildTestApp } from "./helper.js";

let app: FastifyInstance;
let port: number;

beforeAll(async () => {
  app = await buildTestApp({ BODY_LIMIT: "2048" });
  await app.listen({ port: 0, host: "127.0.0.1" });
  port = (app.server.address() as AddressInfo).port;
});

afterAll(async () => {
  await app.close();
});

/** POSTs `body` to /train with `Expect: 100-continue`, sending it only once told to continue. */
function post(body: string): Promise<{ continued: boolean; status: number; type: string; text: string }> {
  return new Promise((resolve, reject) => {
    let continued = false;
    const req = request({
      host: "127.0.0.1",
      port,
      method: "POST",
      path: "/train",
      headers: {
        "content-type": "application/json",
        "content-length": Buffer.byteLength(body),
        expect: "100-continue",
      },
    });
    req.on("continue", () => {
      continued = true;
      req.end(body);
    });
    req.on("response", (res) => {
      let text = "";
      res.setEncoding("utf8");
      res.on("data", (c: string) => {
        text += c;
      });
      res.on("end", () =>
        resolve({ continued, status: res.statusCode!, type: String(res.headers["content-type"]), text }),
      );
    });
    req.on("error", reject);
    req.flushHeaders();
  });
}

describe("Expect: 100-continue", () => {
  it("a Content-Length over BODY_LIMIT: 413 problem+json, no 100 Continue", async () => {
    const r = await post(`{"pad":"${"x".repeat(10_000)}"}`);
    expect(r.continued).toBe(false);
    expect(r.status).toBe(413);
    expect(r.type).toBe("application/problem+json");
    const problem = JSON.parse(r.text) as { status: number; title: string; detail: string; instance: string };
    expect(problem).toMatchObject({
      status: 413,
      title: "Payload Too Large",
      detail: "the request body is larger than the server allows (BODY_LIMIT: 2048 bytes)",
      instance: "/train",
    });
  });

  it("a body within the limit: 100 Continue, then the route's own answer", async () => {
    const r = await post(JSON.stringify({ epochs: 1 }));
    expect(r.continued).toBe(true);
    expect(r.status).toBe(400);
    expect(JSON.parse(r.text).type).toBe("/problems/invalid-request");
  });
});
