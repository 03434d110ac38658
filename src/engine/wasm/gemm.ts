import type { Floats } from "../tensor.js";
import { GEMM_WASM_BASE64 } from "./gemm-wasm.js";
import { GEMM32_WASM_BASE64 } from "./gemm32-wasm.js";

/**
 * The WebAssembly SIMD matrix products (sources: ./gemm.as.ts for float64, ./gemm32.as.ts for
 * float32, computing in single precision), each loaded once per thread on first use. Each owns
 * its linear memory: operands are copied in (`TypedArray.set`, a memcpy), packed and multiplied
 * there, and the result is copied out. It computes every element in the same
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

export class WasmGemm {
  private heap: Floats;
  /** Bytes per element: 8 (float64 kernel) or 4 (float32). */
  private readonly size: number;
  /** Columns of a packed B panel: 4 (float64) or 8 (float32, two f32x4). */
  private readonly panelCols: number;
  constructor(
    private readonly ex: GemmExports,
    private readonly float32 = false,
  ) {
    this.size = float32 ? 4 : 8;
    this.panelCols = float32 ? 8 : 4;
    this.heap = this.view();
  }

  private view(): Floats {
    const buffer = this.ex.memory.buffer;
    return this.float32 ? new Float32Array(buffer) : new Float64Array(buffer);
  }

  /** Rounds a count of elements up so that every region starts 16-byte aligned. */
  private aligned(n: number): number {
    const per = 16 / this.size;
    return Math.ceil(n / per) * per;
  }

  /**
   * `c[m, n] (mode) op(A)·op(B)` where `op(A)[i, p] = a[i·aRs + p·aCs]` and
   * `op(B)[p, j] = b[p·bRs + j·bCs]`; c is row-major `[m, n]`; `bias[n]` for `SET_BIAS`.
   * Reads `a[0 … aLen)` and `b[0 … bLen)`. All arrays of the kernel's type (Float32Array for
   * `wasmGemm32`, else Float64Array).
   */
  product(
    a: Floats,
    aLen: number,
    aRs: number,
    aCs: number,
    b: Floats,
    bLen: number,
    bRs: number,
    bCs: number,
    c: Floats,
    m: number,
    k: number,
    n: number,
    mode: number,
    bias?: Floats,
  ): void {
    const even = (x: number) => this.aligned(x);
    const offA = 0;
    const offB = offA + even(aLen);
    const offC = offB + even(bLen);
    const offBias = offC + even(m * n);
    const offAp = offBias + even(n);
    const offBp = offAp + 4 * Math.ceil(m / 4) * k;
    const end = offBp + this.panelCols * Math.ceil(n / this.panelCols) * k;
    this.reserve(end);
    const heap = this.heap;
    heap.set(a.length === aLen ? a : a.subarray(0, aLen), offA);
    heap.set(b.length === bLen ? b : b.subarray(0, bLen), offB);
    const cLen = m * n;
    if (mode === ADD) heap.set(c.length === cLen ? c : c.subarray(0, cLen), offC);
    if (mode === SET_BIAS && bias) heap.set(bias.length === n ? bias : bias.subarray(0, n), offBias);
    const ex = this.ex;
    const z = this.size;
    ex.packA(offA * z, aRs, aCs, m, k, offAp * z);
    ex.packB(offB * z, bRs, bCs, k, n, offBp * z);
    ex.kernel(offAp * z, offBp * z, offC * z, m, k, n, n, mode, offBias * z);
    c.set(heap.subarray(offC, offC + cLen));
  }

  /** Grows the memory to hold `count` elements (it never shrinks: the largest product so far). */
  private reserve(count: number): void {
    const memory = this.ex.memory;
    const bytes = count * this.size;
    if (memory.buffer.byteLength < bytes) memory.grow(Math.ceil((bytes - memory.buffer.byteLength) / PAGE));
    if (this.heap.buffer !== memory.buffer) this.heap = this.view();
  }
}

/** Compiles a kernel module; null where WebAssembly SIMD cannot be compiled. */
function load(base64: string, float32: boolean): WasmGemm | null {
  try {
    const bytes = Uint8Array.from(atob(base64), (ch) => ch.charCodeAt(0));
    const api = (globalThis as { WebAssembly?: WasmApi }).WebAssembly;
    if (!api) throw new Error("no WebAssembly");
    const module = new api.Module(bytes);
    return new WasmGemm(new api.Instance(module, {}).exports as GemmExports, float32);
  } catch {
    return null;
  }
}

let instance: WasmGemm | null | undefined;
let instance32: WasmGemm | null | undefined;

/** The float64 kernel for this thread, or null where WebAssembly SIMD cannot be compiled. */
export function wasmGemm(): WasmGemm | null {
  if (instance === undefined) instance = load(GEMM_WASM_BASE64, false);
  return instance;
}

/** The float32 kernel (single precision throughout) for this thread, or null. */
export function wasmGemm32(): WasmGemm | null {
  if (instance32 === undefined) instance32 = load(GEMM32_WASM_BASE64, true);
  return instance32;
}
