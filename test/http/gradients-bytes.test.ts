/**
 * POST /gradients' answers pinned byte for byte: the SHA-256 of each body below was taken before
 * the service cached validated specs and built models and wrote the answer's JSON directly
 * (docs/performance.md, "/gradients"), and must not move. Each body is sent several times, in
 * interleaved orders, so every cache is both filled and hit; stored models stay their owner's,
 * and a deleted one is not answered from anything cached.
 */
import { createHash } from "node:crypto";
import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { gradientsExample, gradientsTrainingExample } from "../../src/schemas/examples.js";
import { ownerOf } from "../../src/service/auth.js";
import { buildTestApp } from "./helper.js";
import { storeModel } from "./models-helpers.js";

const seedNet = { ...gradientsExample, numericalCheck: false };
const weights = {
  "dense_0/kernel": [
    [0.1, -0.2, 0.3],
    [-0.4, 0.5, -0.6],
  ],
  "dense_0/bias": [0.01, -0.02, 0.03],
  "dense_1/kernel": [
    [0.7, -0.8, 0.9],
    [-1.0, 1.1, -1.2],
    [1.3, -1.4, 1.5],
  ],
  "dense_1/bias": [0, 0.1, -0.1],
};

/** An answer without its `dtype` field (added after the pins were taken, right after `seed`). */
const withoutAdded = (body: string) => body.replace(/,"dtype":"float(32|64)"/, "");

/** Body, status, answer length and the answer's SHA-256 (taken before the caches existed). */
const PINNED: [string, object, number, number, string][] = [
  [
    "the seed network",
    seedNet,
    200,
    1329,
    "23494618d30fa07745096039b824a24e85ba6162ee56efae632fb8ff26d98326",
  ],
  [
    "the seed network, checked numerically",
    gradientsExample,
    200,
    2125,
    "650d73ad6922dbbca9ccc0beac08b15a25427da59855a4b805eed4930401e54d",
  ],
  [
    "the seed network with given weights",
    { ...seedNet, weights, x: [1.5, -0.25] },
    200,
    1100,
    "0edc45bed294fc3b59a2193ef1831125b8adfac395dc29b0d5eabe21aaa4fd2c",
  ],
  [
    "the seed network in float32",
    { ...seedNet, dtype: "float32" },
    200,
    1327,
    "26ca2014baca1ba79a8638240f167da02f0962dc02a736d88d3aaca4bcb207ac",
  ],
  [
    "the CNN in training mode (dropout masks, batch statistics)",
    gradientsTrainingExample,
    200,
    4076,
    "dfc5921329348f5b41775272bbd71233f57e73a6057fb0412d578f4d85048be4",
  ],
  [
    "the CNN in inference",
    { ...gradientsTrainingExample, training: false, numericalCheck: false },
    200,
    2896,
    "71f692c1759b4d911b03321497b70ade179eace0f2a2d15e4ec6f66a669a069d",
  ],
  [
    "the CNN in float32, another seed",
    { ...gradientsTrainingExample, dtype: "float32", seed: 3 },
    200,
    3465,
    "9bea643a861ad1e56740eeb2899de43dbff7151db3b10e03f239cd022487449a",
  ],
  [
    "a layer of 0 units (400)",
    { ...seedNet, model: { ...seedNet.model, layers: [{ type: "dense", units: 0 }] } },
    400,
    328,
    "0c774f994389aaebad7438c597fe26795b92218c69af4a8ee9d34148c1b23b81",
  ],
  [
    "a sample of the wrong size (422)",
    { ...seedNet, x: [1, 2, 3] },
    422,
    245,
    "a2396066ce843c0743b185aa99c4989e8a552aa3a9083b04da9ad863f54392fc",
  ],
];

const sha256 = (b: Buffer) => createHash("sha256").update(b).digest("hex");

describe("POST /gradients answers, byte for byte", () => {
  let app: FastifyInstance;
  beforeAll(async () => {
    app = await buildTestApp();
  });
  afterAll(async () => {
    await app.close();
  });

  const send = (body: object) =>
    app.inject({ method: "POST", url: "/gradients", payload: body, headers: { "x-request-id": "pinned" } });

  it("answers every pinned body with the pinned bytes, first time and again, in any order", async () => {
    const order = [...PINNED, ...[...PINNED].reverse(), ...PINNED];
    for (const [name, body, status, length, hash] of order) {
      // A fresh copy each time: what a client sends again is parsed anew.
      const res = await send(JSON.parse(JSON.stringify(body)));
      expect(res.statusCode, `${name}: ${res.body}`).toBe(status);
      // Fields added since the pins were taken: `normRelError` in the numerical report (docs/backprop.md
      // §10.3), right after maxRelError, and `dtype`, right after seed; without them every other byte
      // is the pinned one.
      const added = /,"normRelError":[-0-9.e]+(?=,"worst")/;
      if ("numericalCheck" in body && body.numericalCheck) expect(res.body).toMatch(added);
      const dtype = "dtype" in body ? body.dtype : "float64";
      if (status === 200) expect(res.body, name).toMatch(new RegExp(`"seed":\\d+,"dtype":"${dtype}"`));
      const before = Buffer.from(withoutAdded(res.body.replace(added, "")));
      expect(before.length, name).toBe(length);
      expect(sha256(before), name).toBe(hash);
    }
  });

  it("sends the same headers, in the same order and spelling", async () => {
    const res = await send(seedNet);
    const raw = (res.raw.res as unknown as { getRawHeaderNames(): string[] }).getRawHeaderNames();
    expect(raw).toEqual([
      "Content-Security-Policy",
      "Cross-Origin-Opener-Policy",
      "Cross-Origin-Resource-Policy",
      "Origin-Agent-Cluster",
      "Referrer-Policy",
      "Strict-Transport-Security",
      "X-Content-Type-Options",
      "X-DNS-Prefetch-Control",
      "X-Download-Options",
      "X-Frame-Options",
      "X-Permitted-Cross-Domain-Policies",
      "X-XSS-Protection",
      "content-type",
      "x-request-id",
      "content-length",
    ]);
    expect(res.headers["content-type"]).toBe("application/json; charset=utf-8");
  });
});

describe("POST /gradients with stored models and two API keys", () => {
  const KEY_A = "key-a-gradients-0123456789";
  const KEY_B = "key-b-gradients-0123456789";
  let app: FastifyInstance;
  beforeAll(async () => {
    app = await buildTestApp({ API_KEYS: `${KEY_A},${KEY_B}` });
  });
  afterAll(async () => {
    await app.close();
  });

  const send = (body: object, key: string) =>
    app.inject({
      method: "POST",
      url: "/gradients",
      payload: body,
      headers: { "x-api-key": key, "x-request-id": "pinned" },
    });

  it("answers a stored model as its spec and weights sent inline; only to its owner; not once deleted", async () => {
    const id = await storeModel(app, seedNet.model as never, weights, ownerOf(KEY_A));
    const inline = { ...seedNet, weights, x: [1.5, -0.25] };
    const stored = { ...seedNet, model: { modelId: id }, x: [1.5, -0.25] };
    // The inline body's spec is validated (and cached) first, by both keys.
    const expected = await send(inline, KEY_A);
    expect(sha256(Buffer.from(withoutAdded(expected.body)))).toBe(PINNED[2]![4]);
    expect(sha256(Buffer.from(withoutAdded((await send(inline, KEY_B)).body)))).toBe(PINNED[2]![4]);
    for (let i = 0; i < 2; i++) {
      const res = await send(stored, KEY_A);
      expect(res.statusCode, res.body).toBe(200);
      expect(res.body).toBe(expected.body);
      // Another key names the same id: no such model of theirs, whatever was cached for it.
      const other = await send(stored, KEY_B);
      expect(other.statusCode).toBe(404);
      expect(other.json().errors[0].path).toBe("model.modelId");
    }
    const deleted = await app.inject({
      method: "DELETE",
      url: `/models/${id}`,
      headers: { "x-api-key": KEY_A },
    });
    expect(deleted.statusCode).toBe(204);
    const gone = await send(stored, KEY_A);
    expect(gone.statusCode).toBe(404);
    expect(gone.json().errors[0].path).toBe("model.modelId");
    // The same architecture sent inline still answers as before.
    expect((await send(inline, KEY_A)).body).toBe(expected.body);
  });
});
