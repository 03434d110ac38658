/** ExportCache: one encoding per model and kind, shared by concurrent requests; bounded; dropped on delete. */
import { describe, expect, it } from "vitest";
import { ExportCache } from "../../src/service/models/export-cache.js";

const bytes = (n: number) => new Uint8Array(n);

describe("ExportCache", () => {
  it("encodes once for concurrent and later requests, per kind", async () => {
    const cache = new ExportCache(1000);
    let calls = 0;
    const encode = async () => {
      calls++;
      return bytes(100);
    };
    const size = (b: Uint8Array) => b.byteLength;
    const [a, b] = await Promise.all([
      cache.get("onnx", "m1", encode, size),
      cache.get("onnx", "m1", encode, size),
    ]);
    expect(a).toBe(b);
    expect(await cache.get("onnx", "m1", encode, size)).toBe(a);
    expect(calls).toBe(1);
    await cache.get("tfjs", "m1", encode, size);
    expect(calls).toBe(2);
    expect(cache.bytes).toBe(200);
  });

  it("does not keep a failure", async () => {
    const cache = new ExportCache(1000);
    await expect(
      cache.get(
        "onnx",
        "m1",
        () => Promise.reject(new Error("422")),
        () => 0,
      ),
    ).rejects.toThrow("422");
    expect(
      await cache.get(
        "onnx",
        "m1",
        async () => bytes(10),
        (b) => b.byteLength,
      ),
    ).toHaveLength(10);
  });

  it("evicts the least recently used beyond its bound, and drops a deleted model's exports", async () => {
    const cache = new ExportCache(250);
    let calls = 0;
    const get = (kind: string, id: string) =>
      cache.get(
        kind,
        id,
        async () => {
          calls++;
          return bytes(100);
        },
        (b) => b.byteLength,
      );
    await get("onnx", "m1");
    await get("onnx", "m2");
    await get("onnx", "m1"); // m1 is now the most recently used
    await get("onnx", "m3"); // 300 bytes: m2 goes
    expect(cache.bytes).toBe(200);
    expect(calls).toBe(3);
    await get("onnx", "m1");
    expect(calls).toBe(3);
    await get("onnx", "m2");
    expect(calls).toBe(4);
    cache.delete("m2");
    expect(cache.bytes).toBe(100);
    await get("onnx", "m2");
    expect(calls).toBe(5);
  });
});
