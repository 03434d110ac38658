import { endianness } from "node:os";
import { z } from "zod";
import { type NamedTensors, OPTIMIZER_SLOTS, type OptimizerState } from "../../engine/index.js";
import { OptimizerTypeSchema } from "../../schemas/training.js";

// The blobs hold float64 values in the host's byte order, copied as they are; every platform
// Node.js runs on today is little-endian, and the format says so.
if (endianness() !== "LE") throw new Error("the checkpoint format assumes a little-endian host");

const HeaderSchema = z.object({
  /** Per tensor, in order: its key and shape; the values follow the header back to back. */
  tensors: z.array(z.object({ key: z.string(), shape: z.array(z.number().int().nonnegative()) })),
  meta: z.unknown().optional(),
});
type Header = z.output<typeof HeaderSchema>;

/** What an optimiser state's blob keeps as meta (its tensors are the rest). */
const OptimizerMetaSchema = z.object({
  type: OptimizerTypeSchema,
  iterations: z.number().int().nonnegative(),
  epochsCompleted: z.number().int().nonnegative(),
  shuffleRng: z.array(z.number().int()),
  /** A model with dropout: each dropout stream's generator state, dropout and recurrent layers (absent without). */
  dropoutRng: z.record(z.string(), z.array(z.number().int())).optional(),
});

/** `value` read through `schema`. @throws Error naming `what` and the first field that does not fit. */
function checked<S extends z.ZodType>(schema: S, value: unknown, what: string): z.output<S> {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  throw new Error(
    `${what} does not fit${issue ? ` at ${issue.path.join(".") || "(root)"}: ${issue.message}` : ""}`,
  );
}

/**
 * Named tensors (and optional JSON `meta`) as one blob, bit-exact: uint32 LE header length, the
 * header as UTF-8 JSON (`{tensors: [{key, shape}], meta}`), zero padding to a multiple of 8, then
 * each tensor's float64 LE values, row-major, in header order (a float32 tensor's as the float64
 * values of its float32 numbers).
 */
export function encodeTensors(tensors: NamedTensors, meta?: unknown): Buffer {
  const entries = Object.entries(tensors);
  const header: Header = { tensors: entries.map(([key, t]) => ({ key, shape: t.shape })) };
  if (meta !== undefined) header.meta = meta;
  const head = Buffer.from(JSON.stringify(header), "utf8");
  const start = Math.ceil((4 + head.length) / 8) * 8;
  const values = entries.reduce((n, [, t]) => n + t.data.length, 0);
  const out = Buffer.alloc(start + values * 8);
  out.writeUInt32LE(head.length, 0);
  head.copy(out, 4);
  let at = start;
  for (const [, t] of entries) {
    // A float32 run's values are stored as the doubles they are: exact (docs/precision.md §4).
    const data = t.data instanceof Float64Array ? t.data : Float64Array.from(t.data);
    const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    out.set(bytes, at);
    at += bytes.length;
  }
  return out;
}

/**
 * The inverse of `encodeTensors`: fresh (aligned, transferable) arrays.
 * @throws Error for a blob that is not in that format.
 */
export function decodeTensors(blob: Uint8Array): { tensors: NamedTensors; meta: unknown } {
  const buf = Buffer.from(blob.buffer, blob.byteOffset, blob.byteLength);
  const length = buf.readUInt32LE(0);
  if (4 + length > buf.length) throw new Error("tensor blob truncated in its header");
  const header = checked(HeaderSchema, JSON.parse(buf.toString("utf8", 4, 4 + length)), "tensor blob header");
  let at = Math.ceil((4 + length) / 8) * 8;
  const tensors: NamedTensors = {};
  for (const { key, shape } of header.tensors) {
    const size = shape.reduce((a, b) => a * b, 1);
    if (at + size * 8 > buf.length) throw new Error(`tensor blob truncated at ${key}`);
    const data = new Float64Array(size);
    new Uint8Array(data.buffer).set(buf.subarray(at, at + size * 8));
    at += size * 8;
    tensors[key] = { shape, data };
  }
  return { tensors, meta: header.meta };
}

/** An optimiser state as one blob: its per-parameter tensors (every `OPTIMIZER_SLOTS` entry) keyed `"<slot>:<weight key>"`, the rest as meta. */
export function encodeOptimizerState(state: OptimizerState): Buffer {
  const tensors: NamedTensors = {};
  for (const slot of OPTIMIZER_SLOTS)
    for (const [key, t] of Object.entries(state[slot] ?? {})) tensors[`${slot}:${key}`] = t;
  // The order can hold a million samples: as a tensor it is 8 bytes each rather than JSON digits.
  tensors["shuffleOrder"] = {
    shape: [state.shuffleOrder.length],
    data: Float64Array.from(state.shuffleOrder),
  };
  const { type, iterations, epochsCompleted, shuffleRng, dropoutRng } = state;
  return encodeTensors(tensors, {
    type,
    iterations,
    epochsCompleted,
    shuffleRng,
    ...(dropoutRng !== undefined ? { dropoutRng } : {}),
  });
}

/**
 * The inverse of `encodeOptimizerState`.
 * @throws Error for a blob that is not in that format, or whose meta or tensor keys do not fit.
 */
export function decodeOptimizerState(blob: Uint8Array): OptimizerState {
  const { tensors, meta } = decodeTensors(blob);
  const { dropoutRng, ...rest } = checked(OptimizerMetaSchema, meta, "optimizer state meta");
  const state: OptimizerState = {
    ...rest,
    ...(dropoutRng !== undefined ? { dropoutRng } : {}),
    shuffleOrder: Array.from(tensors["shuffleOrder"]?.data ?? []),
  };
  for (const [name, t] of Object.entries(tensors)) {
    const colon = name.indexOf(":");
    if (colon < 0) continue;
    const slot = OPTIMIZER_SLOTS.find((s) => s === name.slice(0, colon));
    if (slot === undefined) throw new Error(`optimizer state tensor ${name} is of no known slot`);
    state[slot] ??= {};
    state[slot][name.slice(colon + 1)] = t;
  }
  return state;
}
