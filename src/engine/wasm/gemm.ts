import { GEMM_WASM_BASE64 } from "./gemm-wasm.js";

/**
 * The WebAssembly SIMD matrix product (source: ./gemm.as.ts), loaded once per thread on first
 * use. It owns its linear memory: operands are copied in (`Float64Array.set`, a memcpy), packed
 * and multiplied there, and the result is copied out. It computes every element in the same
 * order as the TypeScript kernels in ../matmul.ts, so results are bit-identical; it only runs
 * faster (about 3–4× on large products) where WebAssembly SIMD exists (Node ≥ 16.4).
 */
interface GemmExports {
  memory: WasmMemory;
  packA(a: number, rs: number, cs: number, m: number, k: number, ap: number): void;
  packB(b: number, rs: number, cs: number, k: number, n: number, bp: number): void;
  kernel(
    ap: number,
    bp: number,
    c: number,
    m: number,
    k: number,
    n: number,
    ldc: number,
    mode: number,
    bias: number,
  ): void;
}

/** The parts of the WebAssembly JS API used here (the project's `lib` settings do not declare them). */
interface WasmMemory {
  readonly buffer: ArrayBuffer;
  grow(pages: number): number;
}
interface WasmApi {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: unknown };
}

/** How the product lands in c: overwrite, overwrite plus bias per column, or add into c. */
export const SET = 0;
export const SET_BIAS = 1;
export const ADD = 2;

const PAGE = 65536;

/** Rounds a count of doubles up to an even one, so every region starts 16-byte aligned. */
const even = (n: number): number => n + (n & 1);

export class WasmGemm {
  private heap: Float64Array;
  constructor(private readonly ex: GemmExports) {
    this.heap = new Float64Array(ex.memory.buffer);
  }

  /**
   * `c[m, n] (mode) op(A)·op(B)` where `op(A)[i, p] = a[i·aRs + p·aCs]` and
   * `op(B)[p, j] = b[p·bRs + j·bCs]`; c is row-major `[m, n]`; `bias[n]` for `SET_BIAS`.
   * Reads `a[0 … aLen)` and `b[0 … bLen)`.
   */
  product(
    a: Float64Array,
    aLen: number,
    aRs: number,
    aCs: number,
    b: Float64Array,
    bLen: number,
    bRs: number,
    bCs: number,
    c: Float64Array,
    m: number,
    k: number,
    n: number,
    mode: number,
    bias?: Float64Array,
  ): void {
    const offA = 0;
    const offB = offA + even(aLen);
    const offC = offB + even(bLen);
    const offBias = offC + even(m * n);
    const offAp = offBias + even(n);
    const offBp = offAp + 4 * Math.ceil(m / 4) * k;
    const end = offBp + 4 * Math.ceil(n / 4) * k;
    this.reserve(end);
    const heap = this.heap;
    heap.set(a.length === aLen ? a : a.subarray(0, aLen), offA);
    heap.set(b.length === bLen ? b : b.subarray(0, bLen), offB);
    const cLen = m * n;
    if (mode === ADD) heap.set(c.length === cLen ? c : c.subarray(0, cLen), offC);
    if (mode === SET_BIAS && bias) heap.set(bias.length === n ? bias : bias.subarray(0, n), offBias);
    const ex = this.ex;
    ex.packA(offA * 8, aRs, aCs, m, k, offAp * 8);
    ex.packB(offB * 8, bRs, bCs, k, n, offBp * 8);
    ex.kernel(offAp * 8, offBp * 8, offC * 8, m, k, n, n, mode, offBias * 8);
    c.set(heap.subarray(offC, offC + cLen));
  }

  /** Grows the memory to hold `doubles` values (it never shrinks: the largest product so far). */
  private reserve(doubles: number): void {
    const memory = this.ex.memory;
    const bytes = doubles * 8;
    if (memory.buffer.byteLength < bytes) memory.grow(Math.ceil((bytes - memory.buffer.byteLength) / PAGE));
    if (this.heap.buffer !== memory.buffer) this.heap = new Float64Array(memory.buffer);
  }
}

let instance: WasmGemm | null | undefined;

/** The kernel for this thread, or null where WebAssembly SIMD cannot be compiled. */
export function wasmGemm(): WasmGemm | null {
  if (instance === undefined) {
    try {
      const bytes = Uint8Array.from(atob(GEMM_WASM_BASE64), (ch) => ch.charCodeAt(0));
      const api = (globalThis as { WebAssembly?: WasmApi }).WebAssembly;
      if (!api) throw new Error("no WebAssembly");
      const module = new api.Module(bytes);
      instance = new WasmGemm(new api.Instance(module, {}).exports as GemmExports);
    } catch {
      instance = null;
    }
  }
  return instance;
}
