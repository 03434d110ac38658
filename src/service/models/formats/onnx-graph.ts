/**
 * A small builder of ONNX graphs over onnx-proto's message types (docs/onnx.md): nodes in the
 * order they are added, the engine's weights as float32 initializers, every other constant a
 * `Constant` node, and the NHWC ↔ NCHW bookkeeping of the values that flow between layers.
 */
import pkg from "onnx-proto";
import type { Tensor } from "../../../engine/index.js";

const { onnx } = pkg;
type INodeProto = pkg.onnx.INodeProto;
type ITensorProto = pkg.onnx.ITensorProto;
type IAttributeProto = pkg.onnx.IAttributeProto;

const FLOAT = onnx.TensorProto.DataType.FLOAT;
const INT64 = onnx.TensorProto.DataType.INT64;
const ATTR = onnx.AttributeProto.AttributeType;

/**
 * A value between layers: its tensor name and its per-sample shape in the engine's order
 * (`[h, w, c]` for images). `nchw` says the tensor itself is laid out `[batch, c, h, w]` (the
 * layout of ONNX's Conv and pooling), so a rank-3 sample's axes sit at positions 2, 3, 1.
 */
export interface Value {
  name: string;
  shape: number[];
  nchw: boolean;
}

/** An attribute value: a number is an INT unless listed as a float by `{ f }`. */
export type AttrValue = number | number[] | string | { f: number };

/** Float32 little-endian bytes of `values` (rounded once from float64). */
function float32Bytes(values: ArrayLike<number>): Uint8Array {
  const out = new Uint8Array(values.length * 4);
  const view = new DataView(out.buffer);
  for (let i = 0; i < values.length; i++) view.setFloat32(i * 4, values[i]!, true);
  return out;
}

/** Int64 little-endian bytes of `values` (integers). */
function int64Bytes(values: readonly number[]): Uint8Array {
  const out = new Uint8Array(values.length * 8);
  const view = new DataView(out.buffer);
  for (let i = 0; i < values.length; i++) view.setBigInt64(i * 8, BigInt(values[i]!), true);
  return out;
}

function attribute(name: string, v: AttrValue): IAttributeProto {
  if (typeof v === "string") return { name, type: ATTR.STRING, s: new TextEncoder().encode(v) };
  if (Array.isArray(v)) return { name, type: ATTR.INTS, ints: v };
  if (typeof v === "number") return { name, type: ATTR.INT, i: v };
  return { name, type: ATTR.FLOAT, f: v.f };
}

/** Position of sample axis `k` (0-based, engine order) in the full tensor of `v`, batch at 0. */
export function positionOf(v: Value, k: number): number {
  if (!v.nchw) return k + 1;
  return k === 2 ? 1 : k + 2;
}

/**
 * The graph under construction. Names of intermediate tensors are `<layer>:<what>`: layer names
 * hold no ':' (`LayerNameSchema`), so they never meet a weight key (`<layer>/<param>`).
 */
export class OnnxGraph {
  readonly nodes: INodeProto[] = [];
  readonly initializers: ITensorProto[] = [];
  private readonly used = new Set<string>();

  /** A fresh tensor name `<prefix>:<what>` (suffixed `_2`, `_3`… when taken). */
  fresh(prefix: string, what: string): string {
    const base = `${prefix}:${what}`;
    let name = base;
    for (let k = 2; this.used.has(name); k++) name = `${base}_${k}`;
    this.used.add(name);
    return name;
  }

  /** Adds `op` over `inputs` and returns its one output, named `<prefix>:<what>` (default the op in lower case). */
  op(
    type: string,
    prefix: string,
    inputs: string[],
    attrs: Record<string, AttrValue> = {},
    what = type.toLowerCase(),
  ): string {
    const out = this.fresh(prefix, what);
    this.nodes.push({
      opType: type,
      name: out,
      input: inputs,
      output: [out],
      attribute: Object.entries(attrs).map(([k, v]) => attribute(k, v)),
    });
    return out;
  }

  /** Adds `op` with several outputs, named `<prefix>:<what>` for each of `whats`, and returns them. */
  opOutputs(
    type: string,
    prefix: string,
    inputs: string[],
    attrs: Record<string, AttrValue | { floats: number[] } | { strings: string[] }>,
    whats: string[],
  ): string[] {
    const outs = whats.map((w) => this.fresh(prefix, w));
    this.nodes.push({
      opType: type,
      name: outs[0]!,
      input: inputs,
      output: outs,
      attribute: Object.entries(attrs).map(([k, v]) =>
        typeof v === "object" && "floats" in v
          ? { name: k, type: ATTR.FLOATS, floats: v.floats }
          : typeof v === "object" && "strings" in v
            ? { name: k, type: ATTR.STRINGS, strings: v.strings.map((s) => new TextEncoder().encode(s)) }
            : attribute(k, v),
      ),
    });
    return outs;
  }

  /** A weight as a float32 initializer named by its engine key, in the engine's shape. */
  weight(key: string, t: Tensor): string {
    this.used.add(key);
    this.initializers.push({ name: key, dims: [...t.shape], dataType: FLOAT, rawData: float32Bytes(t.data) });
    return key;
  }

  /** A float32 constant of `shape` (a scalar for `[]`), as a `Constant` node. */
  floats(prefix: string, what: string, values: ArrayLike<number>, shape: number[] = []): string {
    return this.constant(prefix, what, { dims: shape, dataType: FLOAT, rawData: float32Bytes(values) });
  }

  /** An int64 vector constant (shapes, axes, pads), as a `Constant` node. */
  ints(prefix: string, what: string, values: number[]): string {
    return this.constant(prefix, what, {
      dims: [values.length],
      dataType: INT64,
      rawData: int64Bytes(values),
    });
  }

  private constant(prefix: string, what: string, t: ITensorProto): string {
    const out = this.fresh(prefix, what);
    this.nodes.push({
      opType: "Constant",
      name: out,
      input: [],
      output: [out],
      attribute: [{ name: "value", type: ATTR.TENSOR, t: { ...t, name: out } }],
    });
    return out;
  }

  /** `v` laid out `[batch, c, h, w]` (a Transpose when it is `[batch, h, w, c]`); rank-3 samples only. */
  toNchw(v: Value, prefix: string): Value {
    if (v.nchw) return v;
    return {
      ...v,
      name: this.op("Transpose", prefix, [v.name], { perm: [0, 3, 1, 2] }, "to_nchw"),
      nchw: true,
    };
  }

  /** `v` in the engine's order `[batch, ...shape]` (a Transpose back from NCHW when needed). */
  toNhwc(v: Value, prefix: string): Value {
    if (!v.nchw) return v;
    return {
      ...v,
      name: this.op("Transpose", prefix, [v.name], { perm: [0, 2, 3, 1] }, "to_nhwc"),
      nchw: false,
    };
  }

  /** Renames the output `name` of the last node to `to`; false when the last node does not produce `name`. */
  renameOutput(name: string, to: string): boolean {
    const last = this.nodes.at(-1);
    if (!last || last.output?.[0] !== name) return false;
    last.output = [to];
    last.name = to;
    return true;
  }
}
