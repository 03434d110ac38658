/**
 * Our models in PyTorch's layout, for bench/pytorch/train.py: the same layers and the same initial
 * weights, rearranged. Ours are Keras': a dense kernel is `[in, out]`, a conv kernel
 * `[kh, kw, cin, cout]` (HWIO) on NHWC data, and `flatten` reads `[h, w, c]` in that order.
 * PyTorch's `Linear.weight` is `[out, in]`, `Conv2d.weight` `[cout, cin, kh, kw]` (OIHW) on NCHW
 * data, and `Flatten` reads `[c, h, w]`: the dense layer after it sees its inputs permuted.
 */
import type { ModelSpec } from "../src/engine/index.js";

/** A layer as train.py builds it (`torch.nn`); the final softmax is left to the loss (log-softmax). */
export type TorchLayer =
  | { type: "linear"; in: number; out: number }
  | { type: "conv"; cin: number; cout: number; k: number }
  | { type: "maxpool"; k: number }
  | { type: "flatten" }
  | { type: "lstm"; in: number; hidden: number }
  | { type: "relu" | "sigmoid" | "tanh" };

/** A tensor in PyTorch's layout: `Linear.weight`, `Conv2d.weight` or a bias, values as float64. */
export interface TorchTensor {
  key: string;
  shape: number[];
  data: Float64Array;
}

/** Dense kernel `[in, out]` → `Linear.weight` `[out, in]` (a transpose). */
export function denseToTorch(kernel: Float64Array, inSize: number, out: number): Float64Array {
  if (kernel.length !== inSize * out) throw new Error(`dense kernel: ${kernel.length} ≠ ${inSize}×${out}`);
  const w = new Float64Array(inSize * out);
  for (let i = 0; i < inSize; i++) for (let o = 0; o < out; o++) w[o * inSize + i] = kernel[i * out + o]!;
  return w;
}

/**
 * Dense kernel `[h·w·c, out]` after a flatten of `[h, w, c]` → `Linear.weight` `[out, c·h·w]`
 * after PyTorch's flatten of `[c, h, w]`: row `(y, x, ch)` of ours is column `(ch, y, x)` of theirs.
 */
export function flattenedDenseToTorch(
  kernel: Float64Array,
  [h, w, c]: [number, number, number],
  out: number,
): Float64Array {
  const inSize = h * w * c;
  if (kernel.length !== inSize * out) throw new Error(`dense kernel: ${kernel.length} ≠ ${inSize}×${out}`);
  const t = new Float64Array(inSize * out);
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++)
      for (let ch = 0; ch < c; ch++) {
        const row = (y * w + x) * c + ch;
        const col = (ch * h + y) * w + x;
        for (let o = 0; o < out; o++) t[o * inSize + col] = kernel[row * out + o]!;
      }
  return t;
}

/** Conv kernel `[kh, kw, cin, cout]` (HWIO) → `[cout, cin, kh, kw]` (OIHW). */
export function convToTorch(kernel: Float64Array, [kh, kw, cin, cout]: number[]): Float64Array {
  const t = new Float64Array(kernel.length);
  for (let y = 0; y < kh!; y++)
    for (let x = 0; x < kw!; x++)
      for (let i = 0; i < cin!; i++)
        for (let o = 0; o < cout!; o++)
          t[((o * cin! + i) * kh! + y) * kw! + x] = kernel[((y * kw! + x) * cin! + i) * cout! + o]!;
  return t;
}

/**
 * A Keras LSTM kernel `[in, 4·units]` (or recurrent kernel `[units, 4·units]`), gates i, f, c, o
 * side by side → `weight_ih_l0` `[4·hidden, in]` (`weight_hh_l0`), gates i, f, g, o stacked: the same
 * gate order, so a transpose.
 */
export function lstmKernelToTorch(kernel: Float64Array, inSize: number, units: number): Float64Array {
  return denseToTorch(kernel, inSize, 4 * units);
}

/** Samples `[n, h, w, c]` (NHWC) → `[n, c, h, w]` (NCHW). */
export function nhwcToNchw(x: Float64Array, [n, h, w, c]: number[]): Float64Array {
  const t = new Float64Array(x.length);
  const hw = h! * w!;
  for (let s = 0; s < n!; s++)
    for (let p = 0; p < hw; p++)
      for (let ch = 0; ch < c!; ch++) t[(s * c! + ch) * hw + p] = x[(s * hw + p) * c! + ch]!;
  return t;
}

/** `n` or `[n, n]` → n; null when the two sides differ. */
const square = (v: number | [number, number]): number | null =>
  typeof v === "number" ? v : v[0] === v[1] ? v[0] : null;

/**
 * The spec's layers for PyTorch and our initial weights (`params`, keyed `"<layer>/kernel"`, in
 * the model's order) rearranged to match, in the order train.py reads them (weight, then bias).
 * Supports dense, activation, conv2d (stride 1, valid), maxPooling2d (pool = stride), flatten and
 * lstm (tanh, sigmoid gates, with bias, last state only: `nn.LSTM`'s bias_ih is ours, bias_hh zero),
 * ending in softmax with `categoricalCrossentropy` (the bench's workloads).
 * @throws Error for anything else: the comparison would not be like for like.
 */
export function torchModel(
  spec: ModelSpec,
  params: { key: string; shape: number[]; data: Float64Array }[],
): { layers: TorchLayer[]; tensors: TorchTensor[] } {
  if (spec.loss !== "categoricalCrossentropy") throw new Error(`bench: loss ${spec.loss} not supported`);
  const byKey = new Map(params.map((p) => [p.key, p]));
  const get = (key: string) => {
    const p = byKey.get(key);
    if (!p) throw new Error(`bench: no weight ${key}`);
    return p;
  };
  const layers: TorchLayer[] = [];
  const tensors: TorchTensor[] = [];
  let shape = [...spec.inputShape];
  /** The `[h, w, c]` a flatten just read, for the next dense's rows. */
  let flattened: [number, number, number] | null = null;
  const last = spec.layers.length - 1;
  const activation = (a: string | undefined, i: number) => {
    if (a === undefined || a === "linear") return;
    if (a === "softmax" && i === last) return;
    if (a !== "relu" && a !== "sigmoid" && a !== "tanh") throw new Error(`bench: activation ${a}`);
    layers.push({ type: a });
  };
  spec.layers.forEach((l, i) => {
    const name = l.name ?? `${l.type}_${i}`;
    switch (l.type) {
      case "dense": {
        const inSize = shape.reduce((a, b) => a * b, 1);
        const k = get(`${name}/kernel`).data;
        const w = flattened ? flattenedDenseToTorch(k, flattened, l.units) : denseToTorch(k, inSize, l.units);
        layers.push({ type: "linear", in: inSize, out: l.units });
        tensors.push({ key: `${name}/kernel`, shape: [l.units, inSize], data: w });
        tensors.push({ key: `${name}/bias`, shape: [l.units], data: get(`${name}/bias`).data });
        activation(l.activation, i);
        shape = [l.units];
        flattened = null;
        break;
      }
      case "activation":
        activation(l.activation, i);
        break;
      case "conv2d": {
        const [h, w, cin] = shape as [number, number, number];
        const ks = square(l.kernelSize);
        if (ks === null || square(l.strides ?? 1) !== 1 || (l.padding ?? "valid") !== "valid")
          throw new Error("bench: only square, stride-1, valid convolutions");
        const kShape = [ks, ks, cin, l.filters];
        layers.push({ type: "conv", cin, cout: l.filters, k: ks });
        tensors.push({
          key: `${name}/kernel`,
          shape: [l.filters, cin, ks, ks],
          data: convToTorch(get(`${name}/kernel`).data, kShape),
        });
        tensors.push({ key: `${name}/bias`, shape: [l.filters], data: get(`${name}/bias`).data });
        activation(l.activation, i);
        shape = [h - ks + 1, w - ks + 1, l.filters];
        break;
      }
      case "maxPooling2d": {
        const p = square(l.poolSize);
        if (p === null || square(l.strides ?? p) !== p || (l.padding ?? "valid") !== "valid")
          throw new Error("bench: only square, valid pools with stride = pool");
        layers.push({ type: "maxpool", k: p });
        const [h, w, c] = shape as [number, number, number];
        shape = [Math.floor(h / p), Math.floor(w / p), c];
        break;
      }
      case "flatten":
        if (shape.length === 3) flattened = shape as [number, number, number];
        layers.push({ type: "flatten" });
        shape = [shape.reduce((a, b) => a * b, 1)];
        break;
      case "lstm": {
        const [, features] = shape as [number, number];
        const u = l.units;
        if (
          (l.activation ?? "tanh") !== "tanh" ||
          l.recurrentActivation !== "sigmoid" ||
          l.useBias === false ||
          l.returnSequences ||
          l.goBackwards
        )
          throw new Error("bench: only tanh lstm with sigmoid gates, bias, last state, forwards");
        layers.push({ type: "lstm", in: features, hidden: u });
        const k = get(`${name}/kernel`).data;
        const rk = get(`${name}/recurrent_kernel`).data;
        tensors.push({
          key: `${name}/kernel`,
          shape: [4 * u, features],
          data: lstmKernelToTorch(k, features, u),
        });
        tensors.push({
          key: `${name}/recurrent_kernel`,
          shape: [4 * u, u],
          data: lstmKernelToTorch(rk, u, u),
        });
        tensors.push({ key: `${name}/bias`, shape: [4 * u], data: get(`${name}/bias`).data });
        tensors.push({ key: `${name}/bias_hh`, shape: [4 * u], data: new Float64Array(4 * u) });
        shape = [u];
        break;
      }
      default:
        throw new Error(`bench: no PyTorch layer for ${l.type}`);
    }
  });
  const final = spec.layers[last]!;
  if (!("activation" in final) || final.activation !== "softmax")
    throw new Error("bench: the model must end in softmax");
  return { layers, tensors };
}
