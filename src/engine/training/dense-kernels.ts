/**
 * A dense layer's forward and backward passes for the fused dense path (`DenseNet`), with the
 * activation after it when ./dense-activations.ts has loops for it. Products too small for any
 * kernel of ./matmul.ts to pay for its call (below `SMALL_PRODUCT` multiply-adds: a batch of one
 * through the seed network, say) run as plain loops here; larger ones go to ./matmul.ts. Every
 * element is summed as every kernel of the engine sums it (docs/kernels.md, "The same bits on
 * every path"): a fresh accumulator 0, `acc + a·b` for p = 0, 1, …, k−1, then the bias (or the old
 * value of c) added last; in a float32 run every multiply and every add rounded to float32
 * (`Math.fround`, docs/precision.md §2), the store rounding the last add. So the loops give the
 * bits of `matmul`, `matmulTransA` and `matmulTransB`, and which one runs changes only the speed.
 * One copy per dtype keeps each function monomorphic.
 */
import { allFinite } from "../forensics.js";
import { matmul, matmulTransA, matmulTransB } from "../matmul.js";
import type { Floats } from "../tensor.js";
import {
  activateOne,
  activationBackward32,
  activationBackward64,
  activationCode,
  type LoopActivation,
  loopBackward,
  loopForward,
} from "./dense-activations.js";

/**
 * Below this many multiply-adds (`m·k·n`) a product runs in the loops here: ./matmul.ts packs its
 * operands first (TypeScript) or pays a call (native, from 768 up, docs/kernels.md).
 */
export const SMALL_PRODUCT = 768;

const f = Math.fround;

/** A dense layer's arrays (`Dense`'s own) and sizes. */
export interface DenseArrays {
  /** Kernel `[k, n]`, bias `[n]` (or undefined), and their gradients. */
  w: Floats;
  bias: Floats | undefined;
  gw: Floats;
  gb: Floats | undefined;
  k: number;
  n: number;
}

/**
 * `z[m, n] = x[m, k]·w[k, n] (+ bias[n])` as `matmul`, then, with `act`, `y = act(z)` as
 * `activate` (the activation layer after the dense one).
 * @returns whether every value of z is finite (`allFinite(z)`, checked as the values are stored).
 */
export function denseForward(
  L: DenseArrays,
  act: LoopActivation | undefined,
  x: Floats,
  z: Floats,
  y: Floats | undefined,
  m: number,
): boolean {
  const { w, bias, k, n } = L;
  if (m * k * n >= SMALL_PRODUCT) {
    matmul(x, w, z, m, k, n, bias);
    if (act) loopForward(act, z, y!);
    return allFinite(z);
  }
  if (z instanceof Float32Array)
    return forward32(
      x as Float32Array,
      w as Float32Array,
      bias as Float32Array | undefined,
      z,
      m,
      k,
      n,
      act,
      y as Float32Array,
    );
  return forward64(
    x as Float64Array,
    w as Float64Array,
    bias as Float64Array | undefined,
    z as Float64Array,
    m,
    k,
    n,
    act,
    y as Float64Array,
  );
}

/**
 * The backward pass of `denseForward`, into gradients that start from nothing: with `act`,
 * `dz = act'·dy` as `activateBackward` (from the activation's output `y`, into `dz`), then
 * `gw = 0 + xᵀ·dz` (`matmulTransA` into a zeroed gradient, which `0 + acc` is: it differs from
 * `acc` only in turning −0 into +0), `gb = 0 + Σ_rows dz` row after row as `Dense.backward` adds
 * it, and, unless `dx` is undefined, `dx = dz·wᵀ` (`matmulTransB`).
 * @param dy `∂L/∂y` `[m, n]` (of z when there is no activation).
 */
export function denseBackward(
  L: DenseArrays,
  act: LoopActivation | undefined,
  x: Floats,
  dy: Floats,
  y: Floats | undefined,
  dz: Floats | undefined,
  dx: Floats | undefined,
  m: number,
): void {
  const { w, gw, gb, k, n } = L;
  if (m * k * n >= SMALL_PRODUCT) {
    let g = dy;
    if (act) {
      loopBackward(act, y!, dy, dz!);
      g = dz!;
    }
    gw.fill(0);
    matmulTransA(x, g, gw, m, k, n);
    if (gb) biasGrad(g, gb, m, n);
    if (dx) matmulTransB(g, w, dx, m, n, k);
  } else if (gw instanceof Float32Array)
    backward32(
      x as Float32Array,
      dy as Float32Array,
      w as Float32Array,
      gw,
      gb as Float32Array | undefined,
      dx as Float32Array | undefined,
      m,
      k,
      n,
      act,
      y as Float32Array,
      dz as Float32Array,
    );
  else
    backward64(
      x as Float64Array,
      dy as Float64Array,
      w as Float64Array,
      gw as Float64Array,
      gb as Float64Array | undefined,
      dx as Float64Array | undefined,
      m,
      k,
      n,
      act,
      y as Float64Array,
      dz as Float64Array,
    );
}

/** `gb = 0 + Σ_rows g` (either dtype: the stores round). */
function biasGrad(g: Floats, gb: Floats, m: number, n: number): void {
  for (let j = 0; j < n; j++) gb[j] = 0 + g[j]!;
  for (let r = 1; r < m; r++) for (let j = 0; j < n; j++) gb[j]! += g[r * n + j]!;
}

function forward64(
  x: Float64Array,
  w: Float64Array,
  bias: Float64Array | undefined,
  z: Float64Array,
  m: number,
  k: number,
  n: number,
  act: LoopActivation | undefined,
  y: Float64Array | undefined,
): boolean {
  const code = activationCode(act);
  // v·0 is ±0 for finite v and NaN otherwise (as in `allFinite`).
  let check = 0;
  for (let i = 0; i < m; i++) {
    const xo = i * k;
    const zo = i * n;
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let p = 0, q = j; p < k; p++, q += n) s += x[xo + p]! * w[q]!;
      const v = bias !== undefined ? s + bias[j]! : s;
      z[zo + j] = v;
      check += v * 0;
      if (code !== 0) y![zo + j] = activateOne(code, v);
    }
  }
  return check === 0;
}

function forward32(
  x: Float32Array,
  w: Float32Array,
  bias: Float32Array | undefined,
  z: Float32Array,
  m: number,
  k: number,
  n: number,
  act: LoopActivation | undefined,
  y: Float32Array | undefined,
): boolean {
  const code = activationCode(act);
  let check = 0;
  for (let i = 0; i < m; i++) {
    const xo = i * k;
    const zo = i * n;
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let p = 0, q = j; p < k; p++, q += n) s = f(s + f(x[xo + p]! * w[q]!));
      // As stored: a finite sum can round to ±Infinity in float32.
      const v = f(bias !== undefined ? s + bias[j]! : s);
      z[zo + j] = v;
      check += v * 0;
      if (code !== 0) y![zo + j] = activateOne(code, v);
    }
  }
  return check === 0;
}

function backward64(
  x: Float64Array,
  dy: Float64Array,
  w: Float64Array,
  gw: Float64Array,
  gb: Float64Array | undefined,
  dx: Float64Array | undefined,
  m: number,
  k: number,
  n: number,
  act: LoopActivation | undefined,
  y: Float64Array | undefined,
  dz: Float64Array | undefined,
): void {
  let g = dy;
  if (act) {
    activationBackward64(act, y!, dy, dz!, m * n);
    g = dz!;
  }
  if (m === 1)
    // One row: the sum is `0 + x·g`, and `0 + (0 + v)` is `0 + v`.
    for (let p = 0, q = 0; p < k; p++) {
      const xp = x[p]!;
      for (let j = 0; j < n; j++, q++) gw[q] = 0 + xp * g[j]!;
    }
  else
    for (let p = 0; p < k; p++)
      for (let j = 0; j < n; j++) {
        let s = 0;
        for (let r = 0; r < m; r++) s += x[r * k + p]! * g[r * n + j]!;
        gw[p * n + j] = 0 + s;
      }
  if (gb) {
    for (let j = 0; j < n; j++) gb[j] = 0 + g[j]!;
    for (let r = 1; r < m; r++) for (let j = 0; j < n; j++) gb[j]! += g[r * n + j]!;
  }
  if (dx)
    for (let i = 0; i < m; i++)
      for (let p = 0; p < k; p++) {
        let s = 0;
        for (let j = 0; j < n; j++) s += g[i * n + j]! * w[p * n + j]!;
        dx[i * k + p] = s;
      }
}

function backward32(
  x: Float32Array,
  dy: Float32Array,
  w: Float32Array,
  gw: Float32Array,
  gb: Float32Array | undefined,
  dx: Float32Array | undefined,
  m: number,
  k: number,
  n: number,
  act: LoopActivation | undefined,
  y: Float32Array | undefined,
  dz: Float32Array | undefined,
): void {
  let g = dy;
  if (act) {
    activationBackward32(act, y!, dy, dz!, m * n);
    g = dz!;
  }
  if (m === 1)
    // One row: the sum is `f(0 + f(x·g))`, which is `0 + f(x·g)` (a float32 value plus 0 is exact).
    for (let p = 0, q = 0; p < k; p++) {
      const xp = x[p]!;
      for (let j = 0; j < n; j++, q++) gw[q] = 0 + f(xp * g[j]!);
    }
  else
    for (let p = 0; p < k; p++)
      for (let j = 0; j < n; j++) {
        let s = 0;
        for (let r = 0; r < m; r++) s = f(s + f(x[r * k + p]! * g[r * n + j]!));
        gw[p * n + j] = 0 + s;
      }
  if (gb) {
    for (let j = 0; j < n; j++) gb[j] = 0 + g[j]!;
    for (let r = 1; r < m; r++) for (let j = 0; j < n; j++) gb[j]! += g[r * n + j]!;
  }
  if (dx)
    for (let i = 0; i < m; i++)
      for (let p = 0; p < k; p++) {
        let s = 0;
        for (let j = 0; j < n; j++) s = f(s + f(g[i * n + j]! * w[p * n + j]!));
        dx[i * k + p] = s;
      }
}
