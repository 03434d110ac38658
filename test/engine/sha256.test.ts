/**
 * SHA-256 against FIPS 180-4's examples and node:crypto, and the canonical weight digest.
 */
import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import {
  ENGINE_VERSION,
  type ModelSpec,
  type NamedTensors,
  Sha256,
  sha256Hex,
  train,
  weightsSha256,
} from "../../src/engine/index.js";
import { randomBatch } from "./helpers.js";

describe("sha256", () => {
  // FIPS 180-4 examples (NIST CSRC "SHA256.pdf", "SHA2_Additional.pdf").
  it.each([
    ["", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"],
    ["abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"],
    [
      "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
      "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1",
    ],
    [
      "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu",
      "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1",
    ],
  ])("%j", (message, digest) => {
    expect(sha256Hex(message)).toBe(digest);
  });

  it("one million 'a'", () => {
    expect(sha256Hex("a".repeat(1_000_000))).toBe(
      "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0",
    );
  });

  it("agrees with node:crypto on every length around the block and padding boundaries", () => {
    for (let n = 0; n <= 200; n++) {
      const bytes = Uint8Array.from({ length: n }, (_, i) => (i * 131 + n * 7) & 255);
      expect(sha256Hex(bytes), `length ${n}`).toBe(createHash("sha256").update(bytes).digest("hex"));
    }
  });

  it("gives the same digest however the message is split into updates", () => {
    const bytes = Uint8Array.from({ length: 1000 }, (_, i) => (i * 37) & 255);
    const whole = sha256Hex(bytes);
    for (const step of [1, 3, 63, 64, 65, 127, 999]) {
      const h = new Sha256();
      for (let i = 0; i < bytes.length; i += step) h.update(bytes.subarray(i, i + step));
      expect(h.digestHex(), `chunks of ${step}`).toBe(whole);
    }
  });

  it("refuses to be used after digest", () => {
    const h = new Sha256();
    h.digest();
    expect(() => h.update(new Uint8Array(1))).toThrow(/after digest/);
    expect(() => h.digest()).toThrow(/twice/);
  });
});

describe("weightsSha256", () => {
  const weights: NamedTensors = {
    "dense_1/bias": { shape: [2], data: Float64Array.from([0.5, -0]) },
    "dense_0/kernel": { shape: [1, 2], data: Float64Array.from([1, -2.25]) },
  };

  it("is SHA-256 of the documented encoding: keys in code-point order, lengths, dims, float64 LE", () => {
    const parts: Buffer[] = [];
    for (const key of ["dense_0/kernel", "dense_1/bias"]) {
      const t = weights[key]!;
      const k = Buffer.from(key, "utf8");
      const head = Buffer.alloc(4 + k.length + 4 + 4 * t.shape.length);
      head.writeUInt32LE(k.length, 0);
      k.copy(head, 4);
      head.writeUInt32LE(t.shape.length, 4 + k.length);
      t.shape.forEach((d, i) => {
        head.writeUInt32LE(d, 8 + k.length + 4 * i);
      });
      const values = Buffer.alloc(8 * t.data.length);
      t.data.forEach((v, i) => {
        values.writeDoubleLE(v, 8 * i);
      });
      parts.push(head, values);
    }
    expect(weightsSha256(weights)).toBe(createHash("sha256").update(Buffer.concat(parts)).digest("hex"));
  });

  it("hashes a view into a larger array (an offset, more values than one 4 KiB chunk) as its values alone", () => {
    const whole = Float64Array.from({ length: 1200 }, (_, i) => Math.sin(i) * 1e3);
    const view = whole.subarray(7, 7 + 1100);
    const k = Buffer.from("k", "utf8");
    const head = Buffer.alloc(4 + k.length + 8);
    head.writeUInt32LE(k.length, 0);
    k.copy(head, 4);
    head.writeUInt32LE(1, 4 + k.length);
    head.writeUInt32LE(1100, 8 + k.length);
    const values = Buffer.alloc(8 * 1100);
    view.forEach((v, i) => {
      values.writeDoubleLE(v, 8 * i);
    });
    const expected = createHash("sha256")
      .update(Buffer.concat([head, values]))
      .digest("hex");
    expect(weightsSha256({ k: { shape: [1100], data: view } })).toBe(expected);
    expect(weightsSha256({ k: { shape: [1100], data: Float64Array.from(view) } })).toBe(expected);
  });

  it("does not depend on the object's key order, and sorts by code point, not UTF-16 unit", () => {
    const reordered = {
      "dense_0/kernel": weights["dense_0/kernel"]!,
      "dense_1/bias": weights["dense_1/bias"]!,
    };
    expect(weightsSha256(reordered)).toBe(weightsSha256(weights));
    // U+FF5E (one UTF-16 unit 0xFF5E) sorts before U+1F600 (surrogates 0xD83D…) by code point,
    // after it by UTF-16 unit: the digest must follow code points.
    const t = { shape: [1], data: Float64Array.from([1]) };
    const a = { "\u{ff5e}": t, "\u{1f600}": { shape: [1], data: Float64Array.from([2]) } };
    const manual = Buffer.concat(
      ["\u{ff5e}", "\u{1f600}"].map((key, i) => {
        const k = Buffer.from(key, "utf8");
        const b = Buffer.alloc(4 + k.length + 8 + 8);
        b.writeUInt32LE(k.length, 0);
        k.copy(b, 4);
        b.writeUInt32LE(1, 4 + k.length);
        b.writeUInt32LE(1, 8 + k.length);
        b.writeDoubleLE(i + 1, 12 + k.length);
        return b;
      }),
    );
    expect(weightsSha256(a)).toBe(createHash("sha256").update(manual).digest("hex"));
  });

  it("changes with one ulp, with the sign of zero, with the shape and with a key", () => {
    const base = weightsSha256(weights);
    const bump = (f: (w: NamedTensors) => void) => {
      const w: NamedTensors = structuredClone(weights);
      f(w);
      return weightsSha256(w);
    };
    const digests = [
      base,
      bump((w) => {
        w["dense_0/kernel"]!.data[0] = 1 + Number.EPSILON;
      }),
      bump((w) => {
        w["dense_1/bias"]!.data[1] = 0;
      }),
      bump((w) => {
        w["dense_0/kernel"]!.shape = [2, 1];
      }),
      bump((w) => {
        w["dense_0/kernels"] = w["dense_0/kernel"]!;
        delete w["dense_0/kernel"];
      }),
    ];
    expect(new Set(digests).size).toBe(digests.length);
  });

  describe("on training results", () => {
    const spec: ModelSpec = {
      inputShape: [3],
      layers: [
        { type: "dense", units: 4, activation: "tanh" },
        { type: "dense", units: 2, activation: "softmax" },
      ],
      loss: "categoricalCrossentropy",
    };
    const opts = {
      model: spec,
      data: randomBatch(spec, 30, 2, 4),
      optimizer: { type: "adam", learningRate: 0.01 } as const,
      epochs: 5,
      batchSize: 7,
      seed: 12,
    };

    it("every result carries the engine version, the seed and the digest of its weights", () => {
      const r = train(opts);
      expect(r.engineVersion).toBe(ENGINE_VERSION);
      expect(r.seed).toBe(12);
      expect(r.weightsSha256).toMatch(/^[0-9a-f]{64}$/);
      expect(r.weightsSha256).toBe(weightsSha256(r.weights));
    });

    it("the same run gives the same digest; another seed or one more epoch another", () => {
      const a = train(opts).weightsSha256;
      expect(train(opts).weightsSha256).toBe(a);
      expect(train({ ...opts, seed: 13 }).weightsSha256).not.toBe(a);
      expect(train({ ...opts, epochs: 6 }).weightsSha256).not.toBe(a);
    });

    it("normalEquation results carry them too", () => {
      const linear: ModelSpec = {
        inputShape: [3],
        layers: [{ type: "dense", units: 1 }],
        loss: "meanSquaredError",
      };
      const r = train({
        ...opts,
        model: linear,
        data: randomBatch(linear, 20, 1, 2),
        optimizer: { type: "normalEquation" },
      });
      expect(r.engineVersion).toBe(ENGINE_VERSION);
      expect(r.weightsSha256).toBe(weightsSha256(r.weights));
    });
  });
});
