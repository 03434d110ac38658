// AssemblyScript source of the WebAssembly SIMD float32 matrix-product kernel (see ./gemm32.ts,
// which loads it, and ../matmul.ts, which uses it when the native kernels are missing). Built by
// `npm run build:wasm` into ./gemm32-wasm.ts; not TypeScript (tsconfig excludes it). Every
// pointer is a byte offset into this module's memory, every matrix float32.
//
// The float64 kernel's design (./gemm.as.ts, Goto & van de Geijn 2008) with f32x4 lanes: A in
// panels of 4 rows, B in panels of 8 columns, a 4×8 tile of C in eight f32x4 registers. Each lane
// computes in IEEE single precision, every multiply and add rounded to float32, no fused
// multiply-add: `acc = 0`, then `acc = acc + a·b` for p = 0, 1, …, k−1 in order, then the bias or
// the old C added last — bit-identical to the native float32 kernel and to the TypeScript float32
// path, which rounds with Math.fround after each multiply and each add in the same order.

/** Packs A, whose element (i, p) is at `a + 4·(i·rs + p·cs)`, into panels of 4 rows. */
export function packA(a: usize, rs: i32, cs: i32, m: i32, k: i32, ap: usize): void {
  const panels = (m + 3) >> 2;
  let d = ap;
  for (let t = 0; t < panels; t++) {
    for (let p = 0; p < k; p++) {
      for (let r = 0; r < 4; r++) {
        const i = (t << 2) + r;
        const v: f32 = i < m ? load<f32>(a + ((<usize>(i * rs + p * cs)) << 2)) : 0.0;
        store<f32>(d, v);
        d += 4;
      }
    }
  }
}

/** Packs B, whose element (p, j) is at `b + 4·(p·rs + j·cs)`, into panels of 8 columns. */
export function packB(b: usize, rs: i32, cs: i32, k: i32, n: i32, bp: usize): void {
  const panels = (n + 7) >> 3;
  let d = bp;
  for (let t = 0; t < panels; t++) {
    for (let p = 0; p < k; p++) {
      for (let q = 0; q < 8; q++) {
        const j = (t << 3) + q;
        const v: f32 = j < n ? load<f32>(b + ((<usize>(p * rs + j * cs)) << 2)) : 0.0;
        store<f32>(d, v);
        d += 4;
      }
    }
  }
}

/**
 * `C = Ap·Bp` over the packed panels, C `[m, n]` row-major with row stride `ldc`:
 * mode 0 `c = acc`, mode 1 `c = acc + bias[j]`, mode 2 `c = c + acc`.
 */
export function kernel(
  ap: usize,
  bp: usize,
  c: usize,
  m: i32,
  k: i32,
  n: i32,
  ldc: i32,
  mode: i32,
  bias: usize,
): void {
  const rowPanels = (m + 3) >> 2;
  const colPanels = (n + 7) >> 3;
  const aPanelBytes = (<usize>k) << 4;
  const bPanelBytes = (<usize>k) << 5;
  for (let tj = 0; tj < colPanels; tj++) {
    const bpp = bp + <usize>tj * bPanelBytes;
    const j = tj << 3;
    const cols = min(8, n - j);
    const biasJ = bias + ((<usize>j) << 2);
    for (let ti = 0; ti < rowPanels; ti++) {
      const app = ap + <usize>ti * aPanelBytes;
      let c00 = f32x4.splat(0.0);
      let c01 = f32x4.splat(0.0);
      let c10 = f32x4.splat(0.0);
      let c11 = f32x4.splat(0.0);
      let c20 = f32x4.splat(0.0);
      let c21 = f32x4.splat(0.0);
      let c30 = f32x4.splat(0.0);
      let c31 = f32x4.splat(0.0);
      let pa = app;
      let pb = bpp;
      const end = app + aPanelBytes;
      while (pa < end) {
        const b0 = v128.load(pb);
        const b1 = v128.load(pb, 16);
        let x = v128.load32_splat(pa);
        c00 = f32x4.add(c00, f32x4.mul(x, b0));
        c01 = f32x4.add(c01, f32x4.mul(x, b1));
        x = v128.load32_splat(pa, 4);
        c10 = f32x4.add(c10, f32x4.mul(x, b0));
        c11 = f32x4.add(c11, f32x4.mul(x, b1));
        x = v128.load32_splat(pa, 8);
        c20 = f32x4.add(c20, f32x4.mul(x, b0));
        c21 = f32x4.add(c21, f32x4.mul(x, b1));
        x = v128.load32_splat(pa, 12);
        c30 = f32x4.add(c30, f32x4.mul(x, b0));
        c31 = f32x4.add(c31, f32x4.mul(x, b1));
        pa += 16;
        pb += 32;
      }
      const i = ti << 2;
      const rows = min(4, m - i);
      const o = c + ((<usize>(i * ldc + j)) << 2);
      const rowBytes = (<usize>ldc) << 2;
      storeRow(o, cols, mode, c00, c01, biasJ);
      if (rows > 1) storeRow(o + rowBytes, cols, mode, c10, c11, biasJ);
      if (rows > 2) storeRow(o + 2 * rowBytes, cols, mode, c20, c21, biasJ);
      if (rows > 3) storeRow(o + 3 * rowBytes, cols, mode, c30, c31, biasJ);
    }
  }
}

/** Stores the first `cols` values of a tile row at `o`: as they are, plus the bias at `b`, or added to c. */
function storeRow(o: usize, cols: i32, mode: i32, v0: v128, v1: v128, b: usize): void {
  if (cols === 8) {
    if (mode === 1) {
      v0 = f32x4.add(v0, v128.load(b));
      v1 = f32x4.add(v1, v128.load(b, 16));
    } else if (mode === 2) {
      // The old c plus the whole sum, as the scalar code.
      v0 = f32x4.add(v128.load(o), v0);
      v1 = f32x4.add(v128.load(o, 16), v1);
    }
    v128.store(o, v0);
    v128.store(o, v1, 16);
    return;
  }
  for (let q = 0; q < cols; q++) {
    const v = q < 4 ? v0 : v1;
    const l = q & 3;
    let x: f32 =
      l === 0
        ? f32x4.extract_lane(v, 0)
        : l === 1
          ? f32x4.extract_lane(v, 1)
          : l === 2
            ? f32x4.extract_lane(v, 2)
            : f32x4.extract_lane(v, 3);
    const at = (<usize>q) << 2;
    if (mode === 1) x = x + load<f32>(b + at);
    else if (mode === 2) x = load<f32>(o + at) + x;
    store<f32>(o + at, x);
  }
}
