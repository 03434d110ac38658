// AssemblyScript source of the WebAssembly SIMD matrix-product kernel (see ./gemm.ts, which loads
// it, and ../matmul.ts, which uses it). Built by `npm run build:wasm` into ./gemm-wasm.ts; not
// TypeScript (tsconfig excludes it). Every pointer is a byte offset into this module's memory,
// every matrix float64.
//
// The work is a packed GEMM (Goto & van de Geijn 2008): A is copied into panels of 4 rows
// (`ap[panel][p][r]`), B into panels of 4 columns (`bp[panel][p][q]`), both zero-padded, so the
// micro-kernel reads two contiguous streams. It holds a 4×4 tile of C in eight f64x2 registers
// and, per step p, loads one row of the B panel (two f64x2), broadcasts each of the 4 A values
// (`v128.load64_splat`) and does 8 multiplies and 8 adds. No fused multiply-add exists in
// WebAssembly SIMD, so every lane computes exactly what the scalar code does: `acc = 0`, then
// `acc = acc + a·b` for p = 0, 1, …, k−1 in order, then the bias or the old C added last — the
// TypeScript kernels in ../matmul.ts give bit-identical results.

/** Packs A, whose element (i, p) is at `a + 8·(i·rs + p·cs)`, into panels of 4 rows. */
export function packA(a: usize, rs: i32, cs: i32, m: i32, k: i32, ap: usize): void {
  const panels = (m + 3) >> 2;
  let d = ap;
  for (let t = 0; t < panels; t++) {
    for (let p = 0; p < k; p++) {
      for (let r = 0; r < 4; r++) {
        const i = (t << 2) + r;
        const v: f64 = i < m ? load<f64>(a + ((<usize>(i * rs + p * cs)) << 3)) : 0.0;
        store<f64>(d, v);
        d += 8;
      }
    }
  }
}

/** Packs B, whose element (p, j) is at `b + 8·(p·rs + j·cs)`, into panels of 4 columns. */
export function packB(b: usize, rs: i32, cs: i32, k: i32, n: i32, bp: usize): void {
  const panels = (n + 3) >> 2;
  let d = bp;
  for (let t = 0; t < panels; t++) {
    for (let p = 0; p < k; p++) {
      for (let q = 0; q < 4; q++) {
        const j = (t << 2) + q;
        const v: f64 = j < n ? load<f64>(b + ((<usize>(p * rs + j * cs)) << 3)) : 0.0;
        store<f64>(d, v);
        d += 8;
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
  const colPanels = (n + 3) >> 2;
  const panelBytes = (<usize>k) << 5;
  for (let tj = 0; tj < colPanels; tj++) {
    const bpp = bp + <usize>tj * panelBytes;
    const j = tj << 2;
    const cols = min(4, n - j);
    // The bias is read at store time, not held in registers across the loop (that spills).
    const biasJ = bias + ((<usize>j) << 3);
    for (let ti = 0; ti < rowPanels; ti++) {
      const app = ap + <usize>ti * panelBytes;
      let c00 = f64x2.splat(0.0);
      let c01 = f64x2.splat(0.0);
      let c10 = f64x2.splat(0.0);
      let c11 = f64x2.splat(0.0);
      let c20 = f64x2.splat(0.0);
      let c21 = f64x2.splat(0.0);
      let c30 = f64x2.splat(0.0);
      let c31 = f64x2.splat(0.0);
      let pa = app;
      let pb = bpp;
      const end = app + panelBytes;
      while (pa < end) {
        const b01 = v128.load(pb);
        const b23 = v128.load(pb, 16);
        let x = v128.load64_splat(pa);
        c00 = f64x2.add(c00, f64x2.mul(x, b01));
        c01 = f64x2.add(c01, f64x2.mul(x, b23));
        x = v128.load64_splat(pa, 8);
        c10 = f64x2.add(c10, f64x2.mul(x, b01));
        c11 = f64x2.add(c11, f64x2.mul(x, b23));
        x = v128.load64_splat(pa, 16);
        c20 = f64x2.add(c20, f64x2.mul(x, b01));
        c21 = f64x2.add(c21, f64x2.mul(x, b23));
        x = v128.load64_splat(pa, 24);
        c30 = f64x2.add(c30, f64x2.mul(x, b01));
        c31 = f64x2.add(c31, f64x2.mul(x, b23));
        pa += 32;
        pb += 32;
      }
      const i = ti << 2;
      const rows = min(4, m - i);
      const o = c + ((<usize>(i * ldc + j)) << 3);
      const rowBytes = (<usize>ldc) << 3;
      storeRow(o, cols, mode, c00, c01, biasJ);
      if (rows > 1) storeRow(o + rowBytes, cols, mode, c10, c11, biasJ);
      if (rows > 2) storeRow(o + 2 * rowBytes, cols, mode, c20, c21, biasJ);
      if (rows > 3) storeRow(o + 3 * rowBytes, cols, mode, c30, c31, biasJ);
    }
  }
}

/** Stores the first `cols` values of a tile row at `o`: as they are, plus the bias at `b`, or added to c. */
function storeRow(o: usize, cols: i32, mode: i32, v01: v128, v23: v128, b: usize): void {
  if (cols === 4) {
    if (mode === 1) {
      v01 = f64x2.add(v01, v128.load(b));
      v23 = f64x2.add(v23, v128.load(b, 16));
    } else if (mode === 2) {
      // The old c plus the whole sum, as the scalar code.
      v01 = f64x2.add(v128.load(o), v01);
      v23 = f64x2.add(v128.load(o, 16), v23);
    }
    v128.store(o, v01);
    v128.store(o, v23, 16);
    return;
  }
  let x0 = f64x2.extract_lane(v01, 0);
  let x1 = f64x2.extract_lane(v01, 1);
  let x2 = f64x2.extract_lane(v23, 0);
  if (mode === 1) {
    x0 = x0 + load<f64>(b);
    if (cols > 1) x1 = x1 + load<f64>(b, 8);
    if (cols > 2) x2 = x2 + load<f64>(b, 16);
  } else if (mode === 2) {
    x0 = load<f64>(o) + x0;
    if (cols > 1) x1 = load<f64>(o, 8) + x1;
    if (cols > 2) x2 = load<f64>(o, 16) + x2;
  }
  store<f64>(o, x0);
  if (cols > 1) store<f64>(o, x1, 8);
  if (cols > 2) store<f64>(o, x2, 16);
}
