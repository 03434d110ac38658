/**
 * The recurrent layers (docs/backprop.md §22) and `bidirectional` (§23.1) as ONNX opset-18 `RNN`,
 * `LSTM` and `GRU` nodes (docs/onnx.md, "Recurrent layers"): the sequence made time-major, the
 * Keras kernels transposed and their gates reordered into ONNX's W, R and B, the outputs put back
 * in the engine's order, and a `maskZero` mask applied exactly by moving the real steps first.
 */
import type {
  BidirectionalSpec,
  CellActivationName,
  LayerSpec,
  MergeMode,
  RecurrentSpec,
} from "../../../engine/index.js";
import type { OnnxGraph, Value } from "./onnx-graph.js";
import type { LayerContext } from "./onnx-layers.js";

const FLOAT = 1;
const INT32 = 6;
const INT64 = 7;

/** Gates per cell, and ONNX's operator. */
const CELLS = {
  simpleRNN: { gates: 1, op: "RNN" },
  lstm: { gates: 4, op: "LSTM" },
  gru: { gates: 3, op: "GRU" },
} as const;

/** Keras' gate block feeding each of ONNX's: LSTM i, o, f, c from Keras' i, f, c, o; GRU z, r, h as Keras. */
const GATE_ORDER = { simpleRNN: [0], lstm: [0, 3, 1, 2], gru: [0, 1, 2] } as const;

/**
 * The engine's cell activations that ONNX's recurrent operators name (docs/onnx.md, "Recurrent
 * layers"), with the α and β they read: hardSigmoid is tfjs' `clip(0.2x + 0.5, 0, 1)`
 * (docs/backprop.md §13.1), linear is Affine `1·x + 0`.
 */
const CELL_ACTIVATIONS: Partial<Record<CellActivationName, { name: string; alpha?: number; beta?: number }>> =
  {
    tanh: { name: "Tanh" },
    sigmoid: { name: "Sigmoid" },
    relu: { name: "Relu" },
    hardSigmoid: { name: "HardSigmoid", alpha: 0.2, beta: 0.5 },
    linear: { name: "Affine", alpha: 1, beta: 0 },
    elu: { name: "Elu", alpha: 1 },
    softsign: { name: "Softsign" },
    softplus: { name: "Softplus" },
  };

/** The activation fields of a cell spec with their values (tfjs-layers' defaults filled in). */
function cellActivations(ls: RecurrentSpec): [field: string, value: CellActivationName][] {
  const activation = ls.activation ?? "tanh";
  if (ls.type === "simpleRNN") return [["activation", activation]];
  const gates = ls.recurrentActivation ?? "hardSigmoid";
  // ONNX's lists: LSTM f (gates), g (candidate), h (output); GRU f (gates), g (candidate).
  return ls.type === "lstm"
    ? [
        ["recurrentActivation", gates],
        ["activation", activation],
        ["activation", activation],
      ]
    : [
        ["recurrentActivation", gates],
        ["activation", activation],
      ];
}

/**
 * Why a recurrent or bidirectional layer cannot be written, with the field at fault (relative to
 * the layer), or undefined when it can: an activation ONNX's recurrent operators do not have
 * (selu, gelu, swish, mish, relu6).
 */
export function recurrentRefusal(ls: LayerSpec): { field: string[]; why: string } | undefined {
  if (ls.type !== "simpleRNN" && ls.type !== "lstm" && ls.type !== "gru" && ls.type !== "bidirectional")
    return undefined;
  const cell = ls.type === "bidirectional" ? ls.layer : ls;
  const at = ls.type === "bidirectional" ? ["layer"] : [];
  for (const [field, a] of cellActivations(cell))
    if (!CELL_ACTIVATIONS[a])
      return {
        field: [...at, field],
        why: `ONNX's ${CELLS[cell.type].op} operator has no ${a} activation (it has ${Object.keys(CELL_ACTIVATIONS).join(", ")}; docs/onnx.md)`,
      };
  return undefined;
}

/**
 * The nodes of a `simpleRNN`, `lstm`, `gru` or `bidirectional` layer on `x` `[batch, T, F]`
 * (the engine's order); the returned value is the layer's output `[batch, T, width]` with
 * `returnSequences`, else `[batch, width]`.
 * @param need the weight `<layer>/<param>` as an initializer (throws when absent); `optional`
 *   gives undefined instead.
 * @param ids the graph input holding the token ids, read for the mask when `ctx.masked`.
 */
export function emitRecurrent(
  g: OnnxGraph,
  ls: RecurrentSpec | BidirectionalSpec,
  ctx: LayerContext,
  x: Value,
  need: (param: string) => string,
  optional: (param: string) => string | undefined,
  ids: string,
): Value {
  const p = ctx.name;
  const cell = ls.type === "bidirectional" ? ls.layer : ls;
  const T = ctx.inShape[0]!;
  const u = cell.units;
  const backwards = cell.goBackwards ?? false;
  // ONNX direction 0 reads forwards, 1 backwards: which copy's weights go to each (§23.1).
  const copies =
    ls.type === "bidirectional"
      ? backwards
        ? [`backward_${cell.name ?? cell.type}/`, `forward_${cell.name ?? cell.type}/`]
        : [`forward_${cell.name ?? cell.type}/`, `backward_${cell.name ?? cell.type}/`]
      : [""];
  const dirs = copies.length;
  const { W, R, B } = weightsOf(g, p, cell, copies, need, optional);

  let xs = g.toNhwc(x, p).name;
  const mask = ctx.masked ? compaction(g, p, ids, T, xs) : undefined;
  if (mask) xs = mask.x;
  const timeMajor = g.op("Transpose", p, [xs], { perm: [1, 0, 2] }, "time_major");
  const acts = cellActivations(cell).map(([, a]) => CELL_ACTIVATIONS[a]!);
  const all = Array.from({ length: dirs }, () => acts).flat();
  const attrs: Parameters<OnnxGraph["opOutputs"]>[3] = {
    hidden_size: u,
    direction: ls.type === "bidirectional" ? "bidirectional" : backwards ? "reverse" : "forward",
    activations: { strings: all.map((a) => a.name) },
  };
  const alphas = all.flatMap((a) => (a.alpha === undefined ? [] : [a.alpha]));
  const betas = all.flatMap((a) => (a.beta === undefined ? [] : [a.beta]));
  if (alphas.length) attrs.activation_alpha = { floats: alphas };
  if (betas.length) attrs.activation_beta = { floats: betas };
  if (cell.type === "gru" && cell.resetAfter === true) attrs.linear_before_reset = 1;
  const [Y = "", Yh = ""] = g.opOutputs(
    CELLS[cell.type].op,
    p,
    [timeMajor, W, R, B ?? "", mask?.lens ?? ""],
    attrs,
    ["y", "y_h"],
  );

  const returnSequences = cell.returnSequences ?? false;
  const out = (name: string): Value => ({ name, shape: ctx.outShape, nchw: false });
  // Reverses axis `axis` (time, or the two directions) of a tensor of `n` along it.
  const reverse = (name: string, axis: number, n: number) =>
    g.op(
      "Slice",
      p,
      [
        name,
        g.ints(p, "starts", [n - 1]),
        g.ints(p, "ends", [-(n + 1)]),
        g.ints(p, "axes", [axis]),
        g.ints(p, "steps", [-1]),
      ],
      {},
      "reverse",
    );
  // Bidirectional over a goBackwards layer: its forward copy is ONNX's direction 1 (swap back).
  const swapDirs = ls.type === "bidirectional" && backwards;
  if (!returnSequences) {
    // Y_h [dirs, batch, u]: each direction's state after its last (real) step.
    let h = g.op("Transpose", p, [Yh], { perm: [1, 0, 2] }, "last_state");
    if (swapDirs) h = reverse(h, 1, 2);
    return out(
      ls.type === "bidirectional"
        ? merge(g, p, h, 1, ls.mergeMode ?? "concat", [0, 2 * u])
        : g.op("Squeeze", p, [h, g.ints(p, "axes", [1])]),
    );
  }
  // Y [T, dirs, batch, u] → [batch, T, dirs, u]: ONNX's states in input order, each direction's.
  let y = g.op("Transpose", p, [Y], { perm: [2, 0, 1, 3] }, "states");
  if (mask) y = mask.spread(y, ls.type === "bidirectional" ? [0, 1] : [backwards ? 1 : 0]);
  if (ls.type !== "bidirectional") {
    // goBackwards: Keras' outputs are in processing order, ONNX's in input order.
    const seq = g.op("Squeeze", p, [y, g.ints(p, "axes", [2])]);
    return out(backwards ? reverse(seq, 1, T) : seq);
  }
  // Bidirectional reverses its backward copy's outputs into input order: ONNX's order already,
  // unless the wrapped layer goes backwards (then both copies' orders flip, §23.1).
  if (swapDirs) y = reverse(reverse(y, 2, 2), 1, T);
  return out(merge(g, p, y, 2, ls.mergeMode ?? "concat", [0, T, 2 * u]));
}

/** The two directions along `axis` merged: concat as a Reshape to `shape`, else a reduction. */
function merge(g: OnnxGraph, p: string, y: string, axis: number, mode: MergeMode, shape: number[]): string {
  if (mode === "concat") return g.op("Reshape", p, [y, g.ints(p, "shape", shape)], {}, "concat");
  const op = { sum: "ReduceSum", mul: "ReduceProd", ave: "ReduceMean" }[mode];
  return g.op(op, p, [y, g.ints(p, "axes", [axis])], { keepdims: 0 }, mode);
}

/**
 * ONNX's W `[dirs, g·u, F]`, R `[dirs, g·u, u]` and B `[dirs, 2·g·u]` from the Keras kernels of
 * each copy (`<layer>/<copy>kernel` `[F, g·u]`, `recurrent_kernel` `[u, g·u]`, `bias`): columns
 * gathered into ONNX's gate order, transposed, stacked by direction. Keras' bias is ONNX's Wb with
 * zeros for Rb, but gru's `resetAfter` bias `[2, g·u]`, whose second row is Rb (the `b'` of
 * docs/backprop.md §22.4). No B without biases.
 */
function weightsOf(
  g: OnnxGraph,
  p: string,
  cell: RecurrentSpec,
  copies: string[],
  need: (param: string) => string,
  optional: (param: string) => string | undefined,
): { W: string; R: string; B?: string } {
  const u = cell.units;
  const width = CELLS[cell.type].gates * u;
  const order = GATE_ORDER[cell.type].flatMap((b) => Array.from({ length: u }, (_, k) => b * u + k));
  const reordered = cell.type === "lstm";
  const gates = (name: string, axis: number) =>
    reordered ? g.op("Gather", p, [name, g.ints(p, "gate_order", order)], { axis }, "onnx_gates") : name;
  const stack = (parts: string[], what: string) =>
    parts.length === 1 ? parts[0]! : g.op("Concat", p, parts, { axis: 0 }, what);
  const matrix = (param: string) =>
    stack(
      copies.map((c) =>
        g.op(
          "Unsqueeze",
          p,
          [
            g.op("Transpose", p, [gates(need(c + param), 1)], { perm: [1, 0] }, `${param}_t`),
            g.ints(p, "axes", [0]),
          ],
          {},
          param,
        ),
      ),
      `${param}_dirs`,
    );
  const W = matrix("kernel");
  const R = matrix("recurrent_kernel");
  const biases = copies.map((c) => optional(`${c}bias`));
  if (biases.some((b) => b === undefined)) return { W, R };
  const resetAfter = cell.type === "gru" && cell.resetAfter === true;
  const zeros = resetAfter ? "" : g.floats(p, "zeros", new Array<number>(width).fill(0), [width]);
  const B = stack(
    biases.map((b) =>
      resetAfter
        ? g.op("Reshape", p, [b!, g.ints(p, "shape", [1, 2 * width])], {}, "bias")
        : g.op(
            "Unsqueeze",
            p,
            [g.op("Concat", p, [gates(b!, 0), zeros], { axis: 0 }, "wb_rb"), g.ints(p, "axes", [0])],
            {},
            "bias",
          ),
    ),
    "bias_dirs",
  );
  return { W, R, B };
}

/**
 * The time-step mask of an embedding with `maskZero` (docs/backprop.md §22.6) made exact for
 * ONNX's `sequence_lens`, which only cuts the padding at the end: with `m = (id ≠ 0)` `[batch, T]`,
 * the real steps are moved first in their order (TopK of `m·T + T−1−t`, a stable key), so that
 * ONNX runs them alone, `lens = Σ m` of them. `spread` then puts the states back where the engine
 * has them: at input step t, the forward direction's state after the last real step ≤ t
 * (`c_t − 1` with `c` the inclusive count of real steps, 0 before the first), the backward one's
 * after the real steps ≥ t (index `c_t − m_t`, 0 after the last).
 */
function compaction(
  g: OnnxGraph,
  p: string,
  ids: string,
  T: number,
  x: string,
): { x: string; lens: string; spread(y: string, dirs: number[]): string } {
  const real = g.op("Not", p, [g.op("Equal", p, [ids, g.floats(p, "zero", [0])])]);
  const m = g.op("Cast", p, [real], { to: FLOAT }, "mask");
  const later = Array.from({ length: T }, (_, t) => T - 1 - t);
  const key = g.op(
    "Add",
    p,
    [g.op("Mul", p, [m, g.floats(p, "steps", [T])]), g.floats(p, "later", later, [T])],
    {},
    "key",
  );
  const [, order] = g.opOutputs("TopK", p, [key, g.ints(p, "k", [T])], { axis: 1, largest: 1, sorted: 1 }, [
    "key_sorted",
    "order",
  ]);
  const along = (index: string, like: string, unsqueezeAt: number[]) =>
    g.op("Expand", p, [
      g.op("Unsqueeze", p, [index, g.ints(p, "axes", unsqueezeAt)]),
      g.op("Shape", p, [like]),
    ]);
  const xc = g.op("GatherElements", p, [x, along(order!, x, [2])], { axis: 1 }, "real_first");
  const count = g.op("ReduceSum", p, [m, g.ints(p, "axes", [1])], { keepdims: 0 }, "count");
  const lens = g.op("Cast", p, [count], { to: INT32 }, "lens");
  const spread = (y: string, dirs: number[]) => {
    const cIncl = g.op("CumSum", p, [m, g.ints(p, "axis", [1])], {}, "c_incl");
    const cExcl = g.op("Sub", p, [cIncl, m], {}, "c_excl");
    const lastT = g.floats(p, "last_t", [T - 1]);
    // Per direction: the index into ONNX's states and 1 where that state is the engine's (0 before any).
    const forward = {
      index: g.op("Max", p, [g.op("Sub", p, [cIncl, g.floats(p, "one", [1])]), g.floats(p, "zero", [0])]),
      keep: g.op("Cast", p, [g.op("Greater", p, [cIncl, g.floats(p, "zero", [0])])], { to: FLOAT }, "keep"),
    };
    const backward = {
      index: g.op("Min", p, [cExcl, lastT]),
      keep: g.op(
        "Cast",
        p,
        [g.op("Less", p, [cExcl, g.op("Unsqueeze", p, [count, g.ints(p, "axes", [1])])])],
        { to: FLOAT },
        "keep",
      ),
    };
    const parts = dirs.map((d) => (d === 0 ? forward : backward));
    // [batch, T] each → [batch, T, dirs, 1], then spread over the units.
    const stackDirs = (names: string[]) => {
      const un = names.map((n) => g.op("Unsqueeze", p, [n, g.ints(p, "axes", [2, 3])]));
      return un.length === 1 ? un[0]! : g.op("Concat", p, un, { axis: 2 });
    };
    const index = g.op("Cast", p, [stackDirs(parts.map((d) => d.index))], { to: INT64 }, "index");
    const gathered = g.op(
      "GatherElements",
      p,
      [y, g.op("Expand", p, [index, g.op("Shape", p, [y])])],
      { axis: 1 },
      "spread",
    );
    return g.op("Mul", p, [gathered, stackDirs(parts.map((d) => d.keep))], {}, "masked_states");
  };
  return { x: xc, lens, spread };
}
