/**
 * POST /gradients reuses what it built for a model sent again (docs/performance.md, "/gradients"):
 * the same `model` in a new body gets the validated spec the model field remembered, so the engine
 * answers with the model it kept for that spec (src/engine/model-cache.ts), counted here on the
 * main thread, which runs a task this small inline. A different model, or the same one in another
 * dtype, builds its own; the answer is the same as a fresh model's (test/http/gradients-bytes).
 */
import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { modelCacheCounts } from "../../src/engine/model-cache.js";
import { buildTestApp } from "./helper.js";

/** A seed-network-like model of `units` hidden units, unique to this file (no other test sends it). */
const model = (units: number) => ({
  inputShape: [2],
  layers: [
    { type: "dense", units, activation: "tanh" },
    { type: "dense", units: 3, activation: "softmax" },
  ],
  loss: "categoricalCrossentropy",
});

describe("POST /gradients with a model sent before", () => {
  let app: FastifyInstance;
  beforeAll(async () => {
    app = await buildTestApp();
  });
  afterAll(async () => {
    await app.close();
  });

  /** Sends a body (a fresh parse each time, as a client's) and returns the cache counts it moved. */
  async function counted(body: object): Promise<{ hits: number; builds: number; text: string }> {
    const before = modelCacheCounts();
    const res = await app.inject({
      method: "POST",
      url: "/gradients",
      payload: JSON.stringify(body),
      headers: { "content-type": "application/json" },
    });
    expect(res.statusCode, res.body).toBe(200);
    const after = modelCacheCounts();
    return { hits: after.hits - before.hits, builds: after.builds - before.builds, text: res.body };
  }

  it("builds a model once per spec and dtype, and answers the same body the same", async () => {
    const body = { model: model(7), x: [0.5, -1.2], y: [0, 1, 0], seed: 11 };
    const first = await counted(body);
    expect([first.hits, first.builds]).toEqual([0, 1]);
    for (let i = 0; i < 3; i++) {
      const again = await counted(body);
      expect([again.hits, again.builds]).toEqual([1, 0]);
      expect(again.text).toBe(first.text);
    }
    // Another sample, seed or mode: the same spec, so the same kept model.
    expect(await counted({ ...body, x: [2, 3], seed: 12, training: false })).toMatchObject({
      hits: 1,
      builds: 0,
    });
    // A different spec, or the same in float32: a model of its own.
    expect(await counted({ ...body, model: model(8) })).toMatchObject({ hits: 0, builds: 1 });
    expect(await counted({ ...body, dtype: "float32" })).toMatchObject({ hits: 0, builds: 1 });
    expect(await counted({ ...body, dtype: "float32" })).toMatchObject({ hits: 1, builds: 0 });
    // The same spec written with its keys in another order is another spec (a miss, never a wrong hit).
    const { loss, layers, inputShape } = model(7);
    expect(await counted({ ...body, model: { loss, layers, inputShape } })).toMatchObject({
      hits: 0,
      builds: 1,
    });
  });
});
