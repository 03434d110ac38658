import { describe, expect, it } from "vitest";
import { type ModelSpec, type TrainOptions, train } from "../../src/engine/index.js";
import {
  currentScope,
  POOL_MAX_BYTES,
  pooledBytes,
  takeStore,
  withRecycledBuffers,
} from "../../src/engine/layers/buffer-pool.js";
import { Buffer } from "../../src/engine/layers/layer.js";
import { randomBatch } from "./helpers.js";

describe("the layers' buffer pool", () => {
  it("outside a scope every store is new; inside, a finished scope's stores come back zeroed", () => {
    expect(currentScope()).toBeUndefined();
    const a = takeStore(64, undefined);
    expect(takeStore(64, undefined)).not.toBe(a);
    let first: ArrayBuffer | undefined;
    withRecycledBuffers(() => {
      first = takeStore(80, currentScope());
      new Float64Array(first).fill(7);
    });
    expect(pooledBytes()).toBeGreaterThanOrEqual(80);
    withRecycledBuffers(() => {
      // The smallest free store that fits: the same memory, zeroed.
      const again = takeStore(72, currentScope());
      expect(again).toBe(first);
      expect(Array.from(new Float64Array(again))).toEqual(new Array(10).fill(0));
      // Taken stores leave the free list until their scope ends.
      expect(takeStore(72, currentScope())).not.toBe(first);
    });
  });

  it("a Buffer's view has exactly batch · size values whatever store it got", () => {
    withRecycledBuffers(() => {
      new Float64Array(takeStore(1000 * 8, currentScope())).fill(1);
    });
    withRecycledBuffers(() => {
      const b = new Buffer(3);
      const v = b.get(5);
      expect(v.length).toBe(15);
      expect(v.every((x) => x === 0)).toBe(true);
      expect(b.get(2).length).toBe(6);
      expect(b.get(2).buffer).toBe(v.buffer);
    });
  });

  it("a Buffer built outside a scope never takes pooled memory, even when it grows inside one", () => {
    const longLived = new Buffer(5);
    let pooled: ArrayBuffer | undefined;
    withRecycledBuffers(() => {
      pooled = takeStore(400, currentScope());
    });
    const before = pooledBytes();
    withRecycledBuffers(() => {
      const v = longLived.get(10);
      expect(v.buffer).not.toBe(pooled);
      // A store taken for a scope that has ended is new and recorded nowhere.
      let inner: ReturnType<typeof currentScope>;
      withRecycledBuffers(() => {
        inner = currentScope();
      });
      expect(takeStore(16, inner)).not.toBe(pooled);
    });
    expect(pooledBytes()).toBe(before);
    withRecycledBuffers(() => {
      expect(takeStore(400, currentScope())).toBe(pooled);
    });
  });

  it("keeps at most POOL_MAX_BYTES", () => {
    withRecycledBuffers(() => {
      takeStore(POOL_MAX_BYTES / 2 + 8, currentScope());
      takeStore(POOL_MAX_BYTES / 2 + 8, currentScope());
    });
    expect(pooledBytes()).toBeLessThanOrEqual(POOL_MAX_BYTES);
  });

  it("train() gives the same bits on fresh memory and on memory a different model left dirty", () => {
    const cnn: ModelSpec = {
      inputShape: [9, 9, 2],
      layers: [
        { type: "conv2d", filters: 3, kernelSize: 3, activation: "relu" },
        { type: "maxPooling2d", poolSize: 2 },
        { type: "dropout", rate: 0.25 },
        { type: "flatten" },
        { type: "dense", units: 4, activation: "softmax" },
      ],
      loss: "categoricalCrossentropy",
    };
    const opts: TrainOptions = {
      model: cnn,
      data: randomBatch(cnn, 300, 4, 3),
      optimizer: { type: "adam", learningRate: 0.01 },
      epochs: 2,
      batchSize: 20,
      seed: 9,
      validationSplit: 0.1,
    };
    const fresh = train(opts);
    // Another model of the same layer sizes, different values, fills the pooled stores.
    const other = train({ ...opts, seed: 10, data: randomBatch(cnn, 300, 4, 4) });
    expect(other.weightsSha256).not.toBe(fresh.weightsSha256);
    expect(pooledBytes()).toBeGreaterThan(0);
    const reused = train(opts);
    expect(reused.weightsSha256).toBe(fresh.weightsSha256);
    expect(reused.history).toEqual(fresh.history);
    expect(reused.metrics).toEqual(fresh.metrics);
    expect(reused.gradients).toEqual(fresh.gradients);
  });
});
