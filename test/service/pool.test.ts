import { afterAll, describe, expect, it } from "vitest";
import type { ModelSpec } from "../../src/engine/index.js";
import { EnginePool } from "../../src/service/pool.js";

const pool = new EnginePool({ size: 1, maxQueue: 4 });
afterAll(async () => {
  await pool.close();
});

const model: ModelSpec = { inputShape: [2], layers: [{ type: "dense", units: 1 }], loss: "meanSquaredError" };
const weights = () => ({
  "dense_0/kernel": { shape: [2, 1], data: Float64Array.from([2, 3]) },
  "dense_0/bias": { shape: [1], data: Float64Array.from([1]) },
});

describe("EnginePool", () => {
  it("runs the engine in a worker, transferring the inputs, and answers with JSON text", async () => {
    const x = Float64Array.from([1, 1, 0, 2]);
    const outcome = await pool.run(
      { kind: "predict", model, weights: weights(), x, n: 2 },
      { transfer: [x.buffer] },
    );
    expect(x.byteLength).toBe(0); // moved to the worker
    expect(outcome).toEqual({ ok: true, json: '{"outputs":[[6],[7]]}' });
  });

  it("brings an engine error back as data, path intact", async () => {
    const w = weights();
    w["dense_0/kernel"] = { shape: [1, 1], data: Float64Array.from([1]) };
    const outcome = await pool.run({ kind: "predict", model, weights: w, x: new Float64Array(2), n: 1 });
    expect(outcome).toEqual({
      ok: false,
      error: { message: expect.any(String), path: ["weights", "dense_0/kernel"] },
    });
  });

  it("stops a task when its signal aborts", async () => {
    const controller = new AbortController();
    const data = { n: 150, x: new Float64Array(150 * 2), y: new Float64Array(150) };
    const running = pool.run(
      {
        kind: "train",
        options: {
          model,
          data,
          optimizer: { type: "sgd", learningRate: 0.01 },
          epochs: 10_000,
          batchSize: 1,
          seed: 1,
        },
      },
      { signal: controller.signal },
    );
    setTimeout(() => controller.abort(), 50);
    await expect(running).rejects.toThrow(/abort/i);
    expect(pool.pending).toBe(0);
    // The pool replaces the terminated thread.
    const again = await pool.run({
      kind: "predict",
      model,
      weights: weights(),
      x: new Float64Array(2),
      n: 1,
    });
    expect(again.ok).toBe(true);
  });
});
