import { Sha256 } from "./sha256.js";
import type { Dtype, NamedTensors } from "./tensor.js";

/**
 * The engine's version, carried by every `TrainResult`. It names the numerics: a change that can
 * alter any trained weight (an update rule, the order of a sum, initialisation, shuffling) bumps it,
 * so `engineVersion` + options + `seed` identify a run and `weightsSha256` proves its outcome.
 */
export const ENGINE_VERSION = "0.3.0";

/**
 * `engineVersion` of a run in `dtype`: `ENGINE_VERSION` plus `+float32` for a float32 run
 * (`0.3.0+float32`), the bare version for float64 (docs/precision.md §3).
 */
export function engineVersionOf(dtype: Dtype = "float64"): string {
  return dtype === "float32" ? `${ENGINE_VERSION}+float32` : ENGINE_VERSION;
}

/**
 * SHA-256 (FIPS 180-4) of weights over a canonical byte encoding, lowercase hex. The encoding,
 * tensor by tensor in the order of their keys compared by Unicode code point (the byte order of
 * their UTF-8 encodings):
 *
 *   uint32 LE  byte length of the key's UTF-8 encoding
 *   bytes      the key, UTF-8
 *   uint32 LE  rank r
 *   r × uint32 LE  the dimensions
 *   n × float64 LE the values, row-major (n = product of the dimensions), IEEE 754 bits as stored;
 *                  for a float32 tensor (a float32 run) n × float32 LE instead (docs/precision.md §3)
 *
 * Lengths in front make the encoding unambiguous whatever the keys contain. Values are hashed
 * bit for bit: `-0` and `0` differ, and any difference in the last bit changes the digest.
 * Independent of the platform's byte order and of the object's key order.
 *
 * @param weights keyed `"<layer>/kernel"` etc.; a tensor's `data` must hold product(shape) values.
 * @throws Error when a tensor's data length does not match its shape.
 */
export function weightsSha256(weights: NamedTensors): string {
  const encoder = new TextEncoder();
  const entries = Object.keys(weights).map((key) => ({ key, bytes: encoder.encode(key) }));
  entries.sort((a, b) => compareBytes(a.bytes, b.bytes));
  const hash = new Sha256();
  const chunk = new Uint8Array(4096);
  const view = new DataView(chunk.buffer);
  for (const { key, bytes } of entries) {
    const t = weights[key]!;
    const n = t.shape.reduce((p, d) => p * d, 1);
    if (n !== t.data.length)
      throw new Error(`weight "${key}" has ${t.data.length} values for shape [${t.shape.join(", ")}]`);
    const header = new Uint8Array(4 + bytes.length + 4 + 4 * t.shape.length);
    const hv = new DataView(header.buffer);
    hv.setUint32(0, bytes.length, true);
    header.set(bytes, 4);
    hv.setUint32(4 + bytes.length, t.shape.length, true);
    t.shape.forEach((d, i) => {
      hv.setUint32(8 + bytes.length + 4 * i, d, true);
    });
    hash.update(header);
    if (LITTLE_ENDIAN) {
      // The values' bytes as stored (float64, or float32 in a float32 run) are already the encoding's.
      hash.update(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength));
      continue;
    }
    const width = t.data instanceof Float32Array ? 4 : 8;
    for (let start = 0; start < n; start += chunk.length / width) {
      const count = Math.min(chunk.length / width, n - start);
      if (width === 4) for (let i = 0; i < count; i++) view.setFloat32(i * 4, t.data[start + i]!, true);
      else for (let i = 0; i < count; i++) view.setFloat64(i * 8, t.data[start + i]!, true);
      hash.update(chunk.subarray(0, count * width));
    }
  }
  return hash.digestHex();
}

/** Whether this platform stores a float64 least significant byte first (every current one does). */
const LITTLE_ENDIAN = new Uint8Array(Float64Array.of(1).buffer)[7] === 0x3f;

/** Lexicographic order of byte strings; for UTF-8 it is the code-point order of the strings. */
function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return a.length - b.length;
}
