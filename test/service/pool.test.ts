import { afterAll, describe, expect, it } from "vitest";
import type { ModelSpec } from "../../src/engine/index.js";
import { loadNativeKernels } from "../../src/native/kernels.js";
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
    expect(outcome).toEqual({ ok: true, json: '{"outputs":[[6],[7]],"dtype":"float64"}' });
  });

  it("runs the native matrix-product kernels in its threads where they were built", async () => {
    const native = loadNativeKernels();
    expect(await pool.kernels()).toBe(native ? native.kernels : "wasm");
    if (process.env.NATIVE_KERNELS !== "off") expect(await pool.kernels()).toMatch(/^native/);
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

describe("EnginePool with inlineMaxWork", () => {
  const inline = new EnginePool({ size: 1, maxQueue: 0, inlineMaxWork: 1000 });
  afterAll(async () => {
    await inline.close();
  });
  const longTrain = () => ({
    kind: "train" as const,
    options: {
      model,
      data: { n: 150, x: new Float64Array(150 * 2), y: new Float64Array(150) },
      optimizer: { type: "sgd" as const, learningRate: 0.01 },
      epochs: 10_000,
      batchSize: 1,
      seed: 1,
    },
  });

  it("runs a task of little work on the calling thread, with the worker's answer, while the worker is busy", async () => {
    const controller = new AbortController();
    const busy = inline.run(longTrain(), { signal: controller.signal });
    // The only worker is taken and no task may wait: a task that needs the pool is refused …
    await expect(
      inline.run({ kind: "predict", model, weights: weights(), x: new Float64Array(2), n: 1 }),
    ).rejects.toThrow(/busy|overload/i);
    // … and one of little work answers at once, as the worker answers it.
    const x = Float64Array.from([1, 1, 0, 2]);
    const here = await inline.run({ kind: "predict", model, weights: weights(), x, n: 2 }, { work: 4 });
    expect(here).toEqual({ ok: true, json: '{"outputs":[[6],[7]],"dtype":"float64"}' });
    expect(inline.inlineRuns).toBe(1);
    expect(x.byteLength).toBe(32); // nothing was transferred
    // Above the limit it needs the worker again.
    await expect(
      inline.run({ kind: "predict", model, weights: weights(), x, n: 2 }, { work: 1001 }),
    ).rejects.toThrow(/busy|overload/i);
    controller.abort();
    await expect(busy).rejects.toThrow(/abort/i);
  });

  it("gives the same answer inline and in a worker, bit for bit (training included)", async () => {
    const task = () => ({
      kind: "train" as const,
      options: {
        ...longTrain().options,
        data: { n: 4, x: Float64Array.from([0, 0, 0, 1, 1, 0, 1, 1]), y: Float64Array.from([0, 1, 1, 0]) },
        epochs: 20,
      },
    });
    const inWorker = await pool.run(task());
    const here = await inline.run(task(), { work: 0 });
    const strip = (o: typeof here) => (o.ok ? o.json.replace(/"durationMs":[\d.e+-]+/, "") : o);
    expect(strip(here)).toEqual(strip(inWorker));
    expect(here.ok && JSON.parse(here.json).weightsSha256).toMatch(/^[0-9a-f]{64}$/);
  });
});

describe("what the thread pool reports outside a task", () => {
  it("an aborted task's result arriving after its thread was stopped is dropped, not an uncaught error", async () => {
    const seen: [string, string][] = [];
    const quiet = new EnginePool({
      size: 1,
      maxQueue: 0,
      onError: (err, kind) => seen.push([kind, err.message]),
    });
    const piscina = (quiet as unknown as { piscina: import("node:events").EventEmitter }).piscina;
    // What piscina 5 emits when a task's message arrives after the task was aborted (its
    // thread terminated): without a listener, emit('error') throws, and the server stopped.
    const late = new Error("Unexpected message from Worker: { taskId: 19, result: { ok: true } }");
    expect(() => piscina.emit("error", late)).not.toThrow();
    expect(() => piscina.emit("error", new Error("Close operation timed out"))).not.toThrow();
    expect(seen).toEqual([
      ["lateResult", late.message],
      ["pool", "Close operation timed out"],
    ]);
    // No listener given: still no throw.
    const bare = new EnginePool({ size: 1, maxQueue: 0 });
    expect(() =>
      (bare as unknown as { piscina: import("node:events").EventEmitter }).piscina.emit("error", late),
    ).not.toThrow();
    await Promise.all([quiet.close(), bare.close()]);
  });
});
